"""
Conversion between py-evm blocks and ``NewPayloadRequest``.

The engine API's ``newPayload`` rebuilds an EL block from a payload, the
versioned hashes, the parent beacon block root and the requests; these
functions do the same in both directions, so the block hash checks each way.
"""

from typing import Sequence, Type

from eth.abc import BlockAPI, BlockHeaderAPI, VirtualMachineAPI
from eth.constants import EMPTY_UNCLE_HASH
from eth.db.trie import make_trie_root_and_nodes
from eth.vm.forks.cancun.constants import BLOB_TX_TYPE
from eth.vm.forks.shanghai.withdrawals import Withdrawal as RLPWithdrawal

from .requests import (
    compute_requests_hash,
    execution_requests_from_list,
    get_execution_requests_list,
)
from .ssz import ExecutionPayload, NewPayloadRequest, Withdrawal

# Post-merge constants the payload leaves out of the header (EIP-3675).
POST_MERGE_DIFFICULTY = 0
POST_MERGE_NONCE = b"\x00" * 8


class InvalidPayload(ValueError):
    """A payload that cannot be turned into a block of the chain's fork."""


def block_to_new_payload_request(
    block: BlockAPI, requests: Sequence[bytes] = ()
) -> NewPayloadRequest:
    """
    The ``NewPayloadRequest`` a consensus client would send for ``block``.

    ``requests`` is the EL requests list the block's execution produced
    (Prague); it is not part of the block body, only of its header hash.
    """
    header = block.header
    payload = ExecutionPayload(
        parent_hash=header.parent_hash,
        fee_recipient=header.coinbase,
        state_root=header.state_root,
        receipts_root=header.receipt_root,
        logs_bloom=header.bloom.to_bytes(256, "big"),
        prev_randao=header.mix_hash,
        block_number=header.block_number,
        gas_limit=header.gas_limit,
        gas_used=header.gas_used,
        timestamp=header.timestamp,
        extra_data=header.extra_data,
        base_fee_per_gas=header.base_fee_per_gas,
        block_hash=header.hash,
        transactions=[transaction.encode() for transaction in block.transactions],
        withdrawals=[
            Withdrawal(
                index=w.index,
                validator_index=w.validator_index,
                address=w.address,
                amount=w.amount,
            )
            for w in block.withdrawals
        ],
        blob_gas_used=header.blob_gas_used,
        excess_blob_gas=header.excess_blob_gas,
    )
    return NewPayloadRequest(
        execution_payload=payload,
        versioned_hashes=blob_versioned_hashes(block.transactions),
        parent_beacon_block_root=header.parent_beacon_block_root,
        execution_requests=execution_requests_from_list(requests),
    )


def new_payload_request_to_block(
    request: NewPayloadRequest, vm_class: Type[VirtualMachineAPI]
) -> BlockAPI:
    """
    The block ``request`` describes under ``vm_class``'s rules. Raises
    ``InvalidPayload`` for undecodable transactions or requests the fork lacks.
    Its hash is *not* checked here: compare it with ``block_hash``.
    """
    payload = request.execution_payload
    builder = vm_class.get_transaction_builder()
    transactions = []
    for index, encoded in enumerate(payload.transactions):
        try:
            transactions.append(builder.decode(bytes(encoded)))
        except Exception as error:
            raise InvalidPayload(f"transaction {index} does not decode: {error}") from error
    withdrawals = [
        RLPWithdrawal(
            index=int(w.index),
            validator_index=int(w.validator_index),
            address=bytes(w.address),
            amount=int(w.amount),
        )
        for w in payload.withdrawals
    ]
    header = _header_from_payload(request, transactions, withdrawals, vm_class)
    return vm_class.get_block_class()(
        header=header, transactions=transactions, uncles=[], withdrawals=withdrawals
    )


def _header_from_payload(
    request: NewPayloadRequest,
    transactions: Sequence,
    withdrawals: Sequence[RLPWithdrawal],
    vm_class: Type[VirtualMachineAPI],
) -> BlockHeaderAPI:
    payload = request.execution_payload
    header_class = vm_class.header_class
    fields = dict(
        parent_hash=bytes(payload.parent_hash),
        uncles_hash=EMPTY_UNCLE_HASH,
        coinbase=bytes(payload.fee_recipient),
        state_root=bytes(payload.state_root),
        transaction_root=make_trie_root_and_nodes(transactions)[0],
        receipt_root=bytes(payload.receipts_root),
        bloom=int.from_bytes(bytes(payload.logs_bloom), "big"),
        difficulty=POST_MERGE_DIFFICULTY,
        block_number=int(payload.block_number),
        gas_limit=int(payload.gas_limit),
        gas_used=int(payload.gas_used),
        timestamp=int(payload.timestamp),
        extra_data=bytes(payload.extra_data),
        mix_hash=bytes(payload.prev_randao),
        nonce=POST_MERGE_NONCE,
        base_fee_per_gas=int(payload.base_fee_per_gas),
        withdrawals_root=make_trie_root_and_nodes(withdrawals)[0],
        blob_gas_used=int(payload.blob_gas_used),
        excess_blob_gas=int(payload.excess_blob_gas),
        parent_beacon_block_root=bytes(request.parent_beacon_block_root),
    )
    requests = get_execution_requests_list(request.execution_requests)
    if "requests_hash" in header_class._meta.field_names:
        fields["requests_hash"] = compute_requests_hash(requests)
    elif requests:
        raise InvalidPayload(f"{vm_class.fork} payloads carry no execution requests")
    return header_class(**fields)


def blob_versioned_hashes(transactions: Sequence) -> list:
    """All blob versioned hashes of ``transactions``, in block order (EIP-4844)."""
    return [
        versioned_hash
        for transaction in transactions
        if transaction.type_id == BLOB_TX_TYPE
        for versioned_hash in transaction.blob_versioned_hashes
    ]
