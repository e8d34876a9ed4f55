"""
JSON shapes of blocks, transactions, receipts and state proofs, as geth and
anvil return them; and of execution proofs and proof requests, this node's
own methods.
"""

import json
from functools import lru_cache
from typing import Any, Dict, List, Optional, Sequence

from eth._utils.address import generate_contract_address
from eth.abc import BlockAPI, ReceiptAPI, SignedTransactionAPI
from eth.vm.forks.cancun.constants import BLOB_TX_TYPE
from eth_utils import to_checksum_address

from prover.constants import PROOF_TYPES

LEGACY_TRANSACTION_TYPE = 0
# How much of a bad value an error message quotes.
SHOWN_CHARACTERS = 80


def shown(value: Any) -> str:
    """``value`` as an error message quotes it: as JSON, as the client sent it, cut short."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):  # not from JSON (a caller's own value): as Python shows it
        text = repr(value)
    if len(text) > SHOWN_CHARACTERS:
        return text[:SHOWN_CHARACTERS] + "..."
    return text


def quantity(value: int) -> str:
    return hex(value)


def data(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def address(value: bytes) -> Optional[str]:
    return checksummed(value) if value else None


@lru_cache(maxsize=4096)
def checksummed(value: bytes) -> str:
    """EIP-55 spelling; a few addresses (accounts, contracts) recur in every answer."""
    return to_checksum_address(value)


def format_access_list(access_list: Sequence) -> List[Dict[str, Any]]:
    """EIP-2930: each address with its storage keys."""
    return [
        {"address": address(account), "storageKeys": [data(k.to_bytes(32, "big")) for k in keys]}
        for account, keys in access_list
    ]


def format_block(block: BlockAPI, full: bool) -> Dict[str, Any]:
    header = block.header
    transactions = [
        format_transaction(tx, block, index) if full else data(tx.hash)
        for index, tx in enumerate(block.transactions)
    ]
    return {
        "number": quantity(header.block_number),
        "hash": data(header.hash),
        "parentHash": data(header.parent_hash),
        "sha3Uncles": data(header.uncles_hash),
        "miner": address(header.coinbase),
        "stateRoot": data(header.state_root),
        "transactionsRoot": data(header.transaction_root),
        "receiptsRoot": data(header.receipt_root),
        "logsBloom": data(header.bloom.to_bytes(256, "big")),
        "difficulty": quantity(header.difficulty),
        "gasLimit": quantity(header.gas_limit),
        "gasUsed": quantity(header.gas_used),
        "timestamp": quantity(header.timestamp),
        "extraData": data(header.extra_data),
        "mixHash": data(header.mix_hash),
        "nonce": data(header.nonce),
        "baseFeePerGas": quantity(header.base_fee_per_gas),
        "withdrawalsRoot": data(header.withdrawals_root),
        "blobGasUsed": quantity(header.blob_gas_used),
        "excessBlobGas": quantity(header.excess_blob_gas),
        "parentBeaconBlockRoot": data(header.parent_beacon_block_root),
        "requestsHash": data(header.requests_hash),
        "size": quantity(len(block.encode()) if hasattr(block, "encode") else 0),
        "transactions": transactions,
        "uncles": [],
        "withdrawals": [],
    }


def transaction_type(transaction: SignedTransactionAPI) -> int:
    return LEGACY_TRANSACTION_TYPE if transaction.type_id is None else transaction.type_id


def format_transaction(
    transaction: SignedTransactionAPI,
    block: Optional[BlockAPI],
    index: Optional[int],
    next_base_fee: Optional[int] = None,
) -> Dict[str, Any]:
    """
    A transaction as JSON-RPC shows it; pending (no block), its gas price is
    what it would pay at ``next_base_fee`` if given, else its fee cap.
    """
    kind = transaction_type(transaction)
    formatted = {
        "hash": data(transaction.hash),
        "type": quantity(kind),
        "from": address(transaction.sender),
        "to": address(transaction.to),
        "nonce": quantity(transaction.nonce),
        "gas": quantity(transaction.gas),
        "value": quantity(transaction.value),
        "input": data(transaction.data),
        "r": quantity(transaction.r),
        "s": quantity(transaction.s),
        "v": quantity(transaction.y_parity if kind else transaction.v),
        "blockHash": data(block.hash) if block else None,
        "blockNumber": quantity(block.number) if block else None,
        "transactionIndex": quantity(index) if index is not None else None,
    }
    if transaction.chain_id is not None:
        formatted["chainId"] = quantity(transaction.chain_id)
    if kind == LEGACY_TRANSACTION_TYPE:
        formatted["gasPrice"] = quantity(transaction.gas_price)
    else:
        formatted["yParity"] = quantity(transaction.y_parity)
        formatted["accessList"] = format_access_list(transaction.access_list)
        formatted["maxFeePerGas"] = quantity(transaction.max_fee_per_gas)
        formatted["maxPriorityFeePerGas"] = quantity(transaction.max_priority_fee_per_gas)
        base_fee = block.header.base_fee_per_gas if block else next_base_fee
        formatted["gasPrice"] = quantity(
            effective_gas_price(transaction, base_fee)
            if base_fee is not None
            # Pending, the price is not known yet: anvil's pool shows what it may reach.
            else transaction.max_fee_per_gas
        )
    if kind == BLOB_TX_TYPE:
        formatted["blobVersionedHashes"] = [data(h) for h in transaction.blob_versioned_hashes]
    if block:
        formatted["blockTimestamp"] = quantity(block.header.timestamp)
    return formatted


def effective_gas_price(transaction: SignedTransactionAPI, base_fee: int) -> int:
    """EIP-1559: base fee plus the tip the sender allows, capped by its max fee."""
    tip = min(transaction.max_priority_fee_per_gas, transaction.max_fee_per_gas - base_fee)
    return base_fee + tip


def created_address(transaction: SignedTransactionAPI) -> Optional[bytes]:
    """The address a contract-creating transaction deploys to; None for any other."""
    if transaction.to:
        return None
    return generate_contract_address(transaction.sender, transaction.nonce)


def format_receipt(
    block: BlockAPI, index: int, receipt: ReceiptAPI, receipts: Sequence[ReceiptAPI]
) -> Dict[str, Any]:
    transaction = block.transactions[index]
    previous = receipts[index - 1].gas_used if index else 0
    logs_before = sum(len(r.logs) for r in receipts[:index])
    created = created_address(transaction)
    return {
        "transactionHash": data(transaction.hash),
        "transactionIndex": quantity(index),
        "blockHash": data(block.hash),
        "blockNumber": quantity(block.number),
        "from": address(transaction.sender),
        "to": address(transaction.to),
        "cumulativeGasUsed": quantity(receipt.gas_used),
        "gasUsed": quantity(receipt.gas_used - previous),
        "effectiveGasPrice": quantity(
            effective_gas_price(transaction, block.header.base_fee_per_gas)
        ),
        "contractAddress": address(created) if created else None,
        "logs": [
            {
                "address": address(log.address),
                "topics": [data(topic.to_bytes(32, "big")) for topic in log.topics],
                "data": data(log.data),
                "blockNumber": quantity(block.number),
                "blockHash": data(block.hash),
                "transactionHash": data(transaction.hash),
                "transactionIndex": quantity(index),
                "logIndex": quantity(logs_before + position),
                "blockTimestamp": quantity(block.header.timestamp),
                "removed": False,
            }
            for position, log in enumerate(receipt.logs)
        ],
        "logsBloom": data(receipt.bloom.to_bytes(256, "big")),
        "status": quantity(1 if receipt.state_root == b"\x01" else 0),
        "type": quantity(transaction_type(transaction)),
        "blockTimestamp": quantity(block.header.timestamp),
    }


def format_block_logs(block: BlockAPI, receipts: Sequence[ReceiptAPI]) -> List[Dict[str, Any]]:
    """Every log of ``block``, in order, as receipts show them."""
    return [
        log
        for index, receipt in enumerate(receipts)
        for log in format_receipt(block, index, receipt, receipts)["logs"]
    ]


def format_account_proof(proven) -> Dict[str, Any]:
    """An EIP-1186 proof (``l1.state_proofs.AccountProof``), as ``eth_getProof`` answers."""
    account = proven.account
    return {
        "address": address(proven.address),
        "accountProof": [data(node) for node in proven.proof],
        "balance": quantity(account.balance),
        "codeHash": data(account.code_hash),
        "nonce": quantity(account.nonce),
        "storageHash": data(account.storage_root),
        "storageProof": [
            {
                "key": data(slot.slot.to_bytes(32, "big")),
                "value": quantity(slot.value),
                "proof": [data(node) for node in slot.proof],
            }
            for slot in proven.storage
        ],
    }


def format_proof_request(payload) -> Dict[str, Any]:
    """An EXECUTE input the node has seen (``prover.pool.Payload``), as provers read it."""
    public_input = payload.public_input
    return {
        "newPayloadRequestRoot": data(public_input.new_payload_request_root),
        "chainConfigRoot": data(public_input.chain_config_root),
        "proofTypes": [PROOF_TYPES[proof_type] for proof_type in sorted(payload.proofs)],
        "input": data(payload.data),
    }


def format_signed_proof(signed) -> Dict[str, Any]:
    """A ``SignedExecutionProof``: its SSZ bytes, and the fields a reader filters on."""
    proof = signed.message
    return {
        "newPayloadRequestRoot": data(proof.public_input.new_payload_request_root),
        "chainConfigRoot": data(proof.public_input.chain_config_root),
        "proofType": PROOF_TYPES.get(int(proof.proof_type), int(proof.proof_type)),
        "validatorIndex": quantity(int(signed.validator_index)),
        "proofSize": quantity(len(proof.proof_data)),
        "signedProof": data(signed.encode_bytes()),
    }
