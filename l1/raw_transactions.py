"""
Signed transactions as clients send them (``eth_sendRawTransaction``): the
EIP-2718 envelope read and checked shape first, so that bytes which are not a
transaction are refused saying what is wrong with them, in this node's words
rather than the RLP library's.
"""

from dataclasses import dataclass
from typing import Optional

import rlp
from eth.abc import SignedTransactionAPI, TransactionBuilderAPI

from .interface import InvalidArgument

# EIP-2718: a first byte up to 0x7f is a transaction type; an RLP list starts at 0xc0.
LAST_TYPE_BYTE = 0x7F
# EIP-2681: an account's nonce stays below 2^64 - 1.
MAX_NONCE = 2**64 - 1
# The numbers a transaction may hold, each at most 256 bits (those of its type that it has).
NUMBER_FIELDS = (
    "chain_id",
    "gas",
    "gas_price",
    "max_fee_per_gas",
    "max_priority_fee_per_gas",
    "value",
    "max_fee_per_blob_gas",
)


@dataclass(frozen=True)
class TransactionKind:
    name: str
    fields: int  # the signed transaction's RLP fields
    gas_field: int  # where among them its gas limit is


TRANSACTION_KINDS = {
    None: TransactionKind("legacy transaction", 9, 2),
    1: TransactionKind("type-1 (EIP-2930) transaction", 11, 3),
    2: TransactionKind("type-2 (EIP-1559) transaction", 12, 4),
    3: TransactionKind("type-3 (EIP-4844 blob) transaction", 14, 4),
    4: TransactionKind("type-4 (EIP-7702) transaction", 13, 4),
}


def transaction_type(encoded: bytes) -> Optional[int]:
    """The EIP-2718 type of ``encoded`` (None: a legacy transaction, an RLP list)."""
    return encoded[0] if encoded[0] <= LAST_TYPE_BYTE else None


def transaction_fields(encoded: bytes) -> list:
    """
    The RLP fields of signed transaction ``encoded``, checked for shape (a
    known type, one RLP list, as many fields as the type has); InvalidArgument
    naming what is wrong.
    """
    if not encoded:
        raise InvalidArgument("invalid transaction: no bytes")
    kind = transaction_type(encoded)
    if kind not in TRANSACTION_KINDS:
        known = ", ".join(str(number) for number in TRANSACTION_KINDS if number is not None)
        raise InvalidArgument(
            f"invalid transaction: unknown transaction type {kind:#04x} (this node takes"
            f" legacy transactions and types {known})"
        )
    expected = TRANSACTION_KINDS[kind]
    payload = encoded if kind is None else encoded[1:]
    if not payload:
        raise InvalidArgument(f"invalid transaction: a {expected.name} with no fields")
    try:
        fields = rlp.decode(payload, strict=True)
    except rlp.DecodingError:
        raise InvalidArgument(
            f"invalid transaction: the {expected.name}'s bytes are not one RLP item"
            " (cut short, or with bytes after its end)"
        ) from None
    if not isinstance(fields, list):
        raise InvalidArgument(
            f"invalid transaction: a {expected.name} is an RLP list of its fields, not a string"
        )
    if len(fields) != expected.fields:
        raise InvalidArgument(
            f"invalid transaction: a {expected.name} has {expected.fields} fields,"
            f" this one {len(fields)}"
        )
    return fields


def transaction_gas(encoded: bytes) -> int:
    """The gas limit signed transaction ``encoded`` names (InvalidArgument if it is not one)."""
    fields = transaction_fields(encoded)
    gas = fields[TRANSACTION_KINDS[transaction_type(encoded)].gas_field]
    if not isinstance(gas, bytes):
        raise InvalidArgument("invalid transaction: its gas limit is a list, not a number")
    return int.from_bytes(gas, "big")


def decode_signed_transaction(
    builder: TransactionBuilderAPI, encoded: bytes
) -> SignedTransactionAPI:
    """
    The signed transaction ``encoded`` is, with its sender recovered;
    InvalidArgument saying why if it is not one.
    """
    transaction_fields(encoded)
    kind = TRANSACTION_KINDS[transaction_type(encoded)]
    try:
        transaction = builder.decode(encoded)
    except Exception:  # the right count of fields, but one of the wrong kind or size
        raise InvalidArgument(
            f"invalid transaction: a field of this {kind.name} does not decode (a list where"
            " a number belongs or the other way round, or an address not of 20 bytes)"
        ) from None
    check_number_sizes(transaction, kind)
    try:
        transaction.sender  # noqa: B018 (recovers the signer, or fails)
    except Exception:  # out-of-range v, r or s, or no point recovers
        raise InvalidArgument(
            f"invalid transaction: the {kind.name}'s signature recovers no sender"
        ) from None
    return transaction


def check_number_sizes(transaction: SignedTransactionAPI, kind: TransactionKind) -> None:
    """Every number fits its field: a nonce below 2^64 - 1 (EIP-2681), the rest in 256 bits."""
    if transaction.nonce >= MAX_NONCE:
        raise InvalidArgument(
            f"invalid transaction: the {kind.name}'s nonce is 2^64 - 1 or more (EIP-2681)"
        )
    for name in NUMBER_FIELDS:
        if number_field(transaction, name) >= 2**256:
            raise InvalidArgument(
                f"invalid transaction: the {kind.name}'s {name.replace('_', ' ')} does not fit"
                " in 256 bits"
            )


def number_field(transaction: SignedTransactionAPI, name: str) -> int:
    """Field ``name`` of ``transaction``; 0 if its type has no such field (or it is unset)."""
    try:
        return getattr(transaction, name) or 0  # None: a legacy transaction's absent chain id
    except (AttributeError, NotImplementedError):  # py-evm's way of saying "not this type"
        return 0
