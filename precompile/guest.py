"""
Stateless guest: decide whether a ``NewPayloadRequest`` is a valid state
transition, reading nothing but the ``StatelessInput``.

``validate_stateless_new_payload`` reads as a list of checks in the order a
verifier holding EIP-8025 and the native-rollups book would make them; each
failure raises ``InvalidBlock`` naming the field. The entry point
``verify_stateless_new_payload`` turns any failure into
``successful_validation = False`` and never raises.
"""

import logging
from typing import List as PyList
from typing import Optional, Sequence, Tuple

import rlp
from eth.abc import BlockAPI, BlockHeaderAPI
from eth.consensus.context import ConsensusContext
from eth.constants import GENESIS_PARENT_HASH
from eth.db.atomic import AtomicDB
from eth.db.backends.memory import MemoryDB
from eth.db.chain import ChainDB
from eth.exceptions import HeaderNotFound
from eth.vm.chain_context import ChainContext
from eth_hash.auto import keccak
from eth_keys import keys

from .forks import fork_rules
from .payload import blob_versioned_hashes, new_payload_request_to_block
from .requests import get_execution_requests_list
from .ssz import ExecutionWitness, StatelessInput, StatelessValidationResult

logger = logging.getLogger(__name__)


class InvalidBlock(Exception):
    """The payload is not a valid state transition given the witness."""


class MissingWitnessHeader(InvalidBlock):
    """Execution needed an ancestor header the witness does not carry."""


def verify_stateless_new_payload(stateless_input: StatelessInput) -> StatelessValidationResult:
    """The guest program: validate statelessly and report, never raise."""
    return stateless_validation(stateless_input)[0]


def stateless_validation_error(stateless_input: StatelessInput) -> Optional[str]:
    """Why ``stateless_input`` does not validate, or None if it does."""
    return stateless_validation(stateless_input)[1]


def stateless_validation(
    stateless_input: StatelessInput,
) -> Tuple[StatelessValidationResult, Optional[str]]:
    """The guest's result, and why validation failed (None if it did not)."""
    try:
        validate_stateless_new_payload(stateless_input)
        error = None
    except Exception as failure:  # every failure, whatever raised it, is a rejection
        error = f"{type(failure).__name__}: {failure}"
        logger.debug("stateless validation failed: %s", error)
    result = StatelessValidationResult(
        new_payload_request_root=stateless_input.new_payload_request.hash_tree_root(),
        successful_validation=error is None,
        chain_config=stateless_input.chain_config,
    )
    return result, error


def validate_stateless_new_payload(stateless_input: StatelessInput) -> None:
    """Raise ``InvalidBlock`` (or another error) unless the payload is valid."""
    request = stateless_input.new_payload_request
    payload = request.execution_payload
    chain_config = stateless_input.chain_config
    witness = stateless_input.witness
    vm_class = fork_rules(chain_config)

    block = new_payload_request_to_block(request, vm_class)
    if block.header.hash != payload.block_hash:
        raise InvalidBlock("block_hash does not match the payload's contents")
    if blob_versioned_hashes(block.transactions) != list(request.versioned_hashes):
        raise InvalidBlock("versioned_hashes do not match the blob transactions")

    headers = validate_witness_headers(witness, vm_class)
    parent = headers[-1]
    if parent.hash != payload.parent_hash:
        raise InvalidBlock("witness headers do not end at the payload's parent")

    validate_public_keys(block.transactions, stateless_input.public_keys)
    validate_transaction_chain_ids(block.transactions, int(chain_config.chain_id))

    executed, requests = execute_stateless(
        vm_class, block, headers, witness, int(chain_config.chain_id)
    )
    if executed.gas_used != payload.gas_used:
        raise InvalidBlock(f"gas_used {payload.gas_used}, execution used {executed.gas_used}")
    if executed.receipt_root != payload.receipts_root:
        raise InvalidBlock("receipts_root does not match execution")
    if executed.bloom != block.header.bloom:
        raise InvalidBlock("logs_bloom does not match execution")
    if executed.state_root != payload.state_root:
        raise InvalidBlock("state_root does not match the post-state")
    expected_requests = get_execution_requests_list(request.execution_requests)
    if [r for r in requests if len(r) > 1] != expected_requests:
        raise InvalidBlock("execution_requests do not match execution")
    if executed.hash != block.header.hash:
        raise InvalidBlock("executed header differs from the payload's header")


def validate_witness_headers(
    witness: ExecutionWitness, vm_class: type
) -> Tuple[BlockHeaderAPI, ...]:
    """
    Decode the witness headers and check they form one chain, oldest first,
    each the parent of the next.
    """
    if len(witness.headers) == 0:
        raise InvalidBlock("witness has no headers; the parent header is required")
    header_sedes = vm_class.header_sedes
    headers = tuple(rlp.decode(bytes(encoded), sedes=header_sedes) for encoded in witness.headers)
    for parent, child in zip(headers, headers[1:]):
        if child.parent_hash != parent.hash:
            raise InvalidBlock(f"witness header {child.block_number} does not follow its parent")
        if child.block_number != parent.block_number + 1:
            raise InvalidBlock(
                f"witness headers skip from {parent.block_number} to {child.block_number}"
            )
    return headers


def validate_public_keys(transactions: Sequence, public_keys: Sequence) -> None:
    """Each transaction's signature recovers to the public key given for it."""
    if len(public_keys) != len(transactions):
        raise InvalidBlock(f"{len(public_keys)} public keys for {len(transactions)} transactions")
    for index, (transaction, public_key) in enumerate(zip(transactions, public_keys)):
        signature = keys.Signature(vrs=(transaction.y_parity, transaction.r, transaction.s))
        recovered = signature.recover_public_key_from_msg(transaction.get_message_for_signing())
        if recovered.to_bytes() != bytes(public_key):
            raise InvalidBlock(f"public key {index} does not match its transaction's signature")


def validate_transaction_chain_ids(transactions: Sequence, chain_id: int) -> None:
    """
    A transaction that names a chain (EIP-155 legacy, every typed transaction)
    must name this one. py-evm and the Prague spec leave typed transactions
    unchecked; geth and reth refuse them at signature recovery. Here it is the
    replay protection between rollups that share keys.
    """
    for index, transaction in enumerate(transactions):
        if transaction.chain_id is not None and transaction.chain_id != chain_id:
            raise InvalidBlock(
                f"transaction {index} is for chain {transaction.chain_id}, not {chain_id}"
            )


class WitnessChainDB(ChainDB):
    """
    A chain database over the witness alone. Asking for an ancestor header the
    witness lacks is an error, never an empty answer, so BLOCKHASH cannot be
    made to return zero by leaving headers out.
    """

    def __init__(self, db: AtomicDB, headers: Sequence[BlockHeaderAPI]) -> None:
        super().__init__(db)
        self._headers = {header.hash: header for header in headers}

    def get_block_header_by_hash(self, block_hash: bytes) -> BlockHeaderAPI:
        try:
            return self._headers[block_hash]
        except KeyError:
            if block_hash == GENESIS_PARENT_HASH:
                raise HeaderNotFound("the genesis block has no parent") from None
            raise MissingWitnessHeader(f"header {block_hash.hex()} is not in the witness") from None


def execute_stateless(
    vm_class: type,
    block: BlockAPI,
    headers: Sequence[BlockHeaderAPI],
    witness: ExecutionWitness,
    chain_id: int,
) -> Tuple[BlockHeaderAPI, PyList[bytes]]:
    """
    Execute ``block`` on the pre-state the witness proves (trie nodes and code
    keyed by their keccak) and return the resulting header and requests.
    """
    entries = {keccak(bytes(item)): bytes(item) for item in witness.state}
    entries.update((keccak(bytes(code)), bytes(code)) for code in witness.codes)
    db = AtomicDB(MemoryDB(entries))
    chaindb = WitnessChainDB(db, headers)
    parent = headers[-1]
    base_header = vm_class.create_header_from_parent(parent).copy(gas_used=block.header.gas_used)
    vm = vm_class(
        header=base_header,
        chaindb=chaindb,
        chain_context=ChainContext(chain_id),
        consensus_context=ConsensusContext(db),
    )
    executed = vm.import_block(block).block
    return executed.header, list(vm.block_requests)
