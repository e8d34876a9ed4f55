"""
SSZ containers of the EXECUTE interface.

Declared in the style of the consensus specs: one class per concept, fields in
spec order. ``ExecutionPayload``, ``ExecutionRequests`` and ``NewPayloadRequest``
follow consensus-specs Electra; ``ExecutionWitness`` carries the same content as
geth's and reth's ``debug_executionWitness``; ``StatelessInput`` and
``StatelessValidationResult`` follow the native-rollups book and EIP-8025.
"""

from remerkleable.basic import boolean, uint8, uint64, uint256
from remerkleable.byte_arrays import ByteList, Bytes32, ByteVector
from remerkleable.complex import Container, List

from .constants import (
    BYTES_PER_LOGS_BLOOM,
    MAX_BLOB_COMMITMENTS_PER_BLOCK,
    MAX_BYTES_PER_TRANSACTION,
    MAX_CODE_BYTES,
    MAX_CONSOLIDATION_REQUESTS_BYTES,
    MAX_DEPOSIT_REQUESTS_BYTES,
    MAX_EXTRA_DATA_BYTES,
    MAX_HEADER_BYTES,
    MAX_TRANSACTIONS_PER_PAYLOAD,
    MAX_WITHDRAWAL_REQUESTS_BYTES,
    MAX_WITHDRAWALS_PER_PAYLOAD,
    MAX_WITNESS_CODES,
    MAX_WITNESS_HEADERS,
    MAX_WITNESS_NODE_BYTES,
    MAX_WITNESS_NODES,
)

Hash32 = Bytes32
Root = Bytes32
ExecutionAddress = ByteVector[20]
Gwei = uint64
VersionedHash = Bytes32
Transaction = ByteList[MAX_BYTES_PER_TRANSACTION]
TrieNode = ByteList[MAX_WITNESS_NODE_BYTES]
Bytecode = ByteList[MAX_CODE_BYTES]
RLPHeader = ByteList[MAX_HEADER_BYTES]
# Uncompressed secp256k1 public key without the 0x04 prefix: x || y.
Secp256k1PublicKey = ByteVector[64]


class Withdrawal(Container):
    index: uint64
    validator_index: uint64
    address: ExecutionAddress
    amount: Gwei


class ExecutionPayload(Container):
    parent_hash: Hash32
    fee_recipient: ExecutionAddress
    state_root: Bytes32
    receipts_root: Bytes32
    logs_bloom: ByteVector[BYTES_PER_LOGS_BLOOM]
    prev_randao: Bytes32
    block_number: uint64
    gas_limit: uint64
    gas_used: uint64
    timestamp: uint64
    extra_data: ByteList[MAX_EXTRA_DATA_BYTES]
    base_fee_per_gas: uint256
    block_hash: Hash32
    transactions: List[Transaction, MAX_TRANSACTIONS_PER_PAYLOAD]
    withdrawals: List[Withdrawal, MAX_WITHDRAWALS_PER_PAYLOAD]
    blob_gas_used: uint64
    excess_blob_gas: uint64


class ExecutionRequests(Container):
    """
    Electra's three request lists, each held as the ``request_data`` bytes the
    EL produced (the engine API's form) rather than parsed into items: the EL
    treats request data as opaque, and valid EL blocks exist whose system
    contracts return data that does not split into whole CL items.
    """

    deposits: ByteList[MAX_DEPOSIT_REQUESTS_BYTES]
    withdrawals: ByteList[MAX_WITHDRAWAL_REQUESTS_BYTES]
    consolidations: ByteList[MAX_CONSOLIDATION_REQUESTS_BYTES]


class NewPayloadRequest(Container):
    execution_payload: ExecutionPayload
    versioned_hashes: List[VersionedHash, MAX_BLOB_COMMITMENTS_PER_BLOCK]
    parent_beacon_block_root: Root
    execution_requests: ExecutionRequests


class ExecutionWitness(Container):
    state: List[TrieNode, MAX_WITNESS_NODES]
    codes: List[Bytecode, MAX_WITNESS_CODES]
    headers: List[RLPHeader, MAX_WITNESS_HEADERS]


class ChainConfig(Container):
    chain_id: uint64
    fork: uint8


class StatelessInput(Container):
    new_payload_request: NewPayloadRequest
    witness: ExecutionWitness
    chain_config: ChainConfig
    public_keys: List[Secp256k1PublicKey, MAX_TRANSACTIONS_PER_PAYLOAD]


class StatelessValidationResult(Container):
    new_payload_request_root: Root
    successful_validation: boolean
    chain_config: ChainConfig
