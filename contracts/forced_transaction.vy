# pragma version ~=0.4.3
"""
@title Forced L2 transactions
@notice When a signed L2 transaction is queued on L1, check everything about
        its validity that does not depend on L2 state, and read what does
        (sender, nonce, fee cap, most it can cost). An L2 running L1's rules
        cannot hold an invalid transaction, so one that is invalid when its
        turn comes must be skippable, with a proof on those few fields, or
        it would stall every block after it.
"""

import rlp

# Long enough for a transfer, a withdrawal or a modest call; bounds the L1 copy.
MAX_TRANSACTION_BYTES: constant(uint256) = rlp.MAX_RLP_BYTES
EIP1559_TRANSACTION_TYPE: constant(uint256) = 2
FIELDS: constant(uint256) = 12
# Field order of an EIP-1559 transaction.
CHAIN_ID: constant(uint256) = 0
NONCE: constant(uint256) = 1
MAX_PRIORITY_FEE: constant(uint256) = 2
MAX_FEE: constant(uint256) = 3
GAS_LIMIT: constant(uint256) = 4
DESTINATION: constant(uint256) = 5
AMOUNT: constant(uint256) = 6
DATA: constant(uint256) = 7
ACCESS_LIST: constant(uint256) = 8
Y_PARITY: constant(uint256) = 9
R: constant(uint256) = 10
S: constant(uint256) = 11

# Small enough that the most forced transactions one block must take in fit in it.
MAX_FORCED_TRANSACTION_GAS: constant(uint256) = 1_000_000
TRANSACTION_BASE_GAS: constant(uint256) = 21000
# An upper bound of the intrinsic gas of each data byte: 16 (EIP-2028) and the
# EIP-7623 floor, 10 a token at 4 tokens a non-zero byte.
GAS_PER_DATA_BYTE_BOUND: constant(uint256) = 40
MAX_NONCE: constant(uint256) = 2**64 - 2
# The order n of secp256k1 (0xFFFF...D0364141).
SECP256K1_ORDER: constant(uint256) = (
    115792089237316195423570985008687907852837564279074904382605163141518161494337
)
LONG_FORM: constant(uint256) = 56


struct ForcedTransaction:
    sender: address
    nonce: uint256
    max_fee: uint256
    # gas limit * max fee + amount: what the sender's balance must cover.
    max_cost: uint256


@internal
@pure
def _canonical(data: Bytes[rlp.MAX_RLP_BYTES], position: uint256) -> (uint256, uint256, bool):
    """@notice The item at `position`, refused unless encoded as RLP's one canonical way."""
    start: uint256 = 0
    size: uint256 = 0
    is_list: bool = False
    start, size, is_list = rlp.item(data, position)
    header: uint256 = start - position
    if header == 0:
        return start, size, is_list
    if header == 1:
        assert size < LONG_FORM, "force_include: non-canonical RLP (short form over 55 bytes)"
        if size == 1 and not is_list:
            assert convert(slice(data, start, 1), uint256) >= 128, (
                "force_include: non-canonical RLP (a single byte below 0x80 has no prefix)"
            )
    else:
        assert size >= LONG_FORM, "force_include: non-canonical RLP (long form under 56 bytes)"
        assert convert(slice(data, position + 1, 1), uint256) != 0, (
            "force_include: non-canonical RLP (length with a leading zero)"
        )
    return start, size, is_list


@internal
@pure
def _number(data: Bytes[rlp.MAX_RLP_BYTES], position: uint256) -> uint256:
    start: uint256 = 0
    size: uint256 = 0
    is_list: bool = False
    start, size, is_list = self._canonical(data, position)
    assert not is_list and size <= 32, "force_include: a number field is not a number"
    if size == 0:
        return 0
    assert convert(slice(data, start, 1), uint256) != 0, (
        "force_include: non-canonical RLP (a number with a leading zero)"
    )
    return rlp.big_endian(data, start, size)


@internal
@pure
def _list_header(size: uint256) -> Bytes[3]:
    if size < LONG_FORM:
        return slice(convert(192 + size, bytes32), 31, 1)
    if size < 256:
        return concat(slice(convert(248, bytes32), 31, 1), slice(convert(size, bytes32), 31, 1))
    return concat(slice(convert(249, bytes32), 31, 1), slice(convert(size, bytes32), 30, 2))


@internal
@pure
def decode(transaction: Bytes[MAX_TRANSACTION_BYTES], chain_id: uint256) -> ForcedTransaction:
    """@notice The state-dependent fields of a signed transaction that passes every other check."""
    assert len(transaction) > 1, "force_include: empty transaction"
    assert convert(slice(transaction, 0, 1), uint256) == EIP1559_TRANSACTION_TYPE, (
        "force_include: only EIP-1559 (type 2) transactions are forced"
    )
    start: uint256 = 0
    size: uint256 = 0
    is_list: bool = False
    start, size, is_list = self._canonical(transaction, 1)
    assert is_list and start + size == len(transaction), (
        "force_include: not one RLP list after the type byte"
    )
    fields: uint256[FIELDS] = empty(uint256[FIELDS])
    position: uint256 = start
    for i: uint256 in range(FIELDS):
        assert position < start + size, "force_include: too few fields"
        fields[i] = position
        field_start: uint256 = 0
        field_size: uint256 = 0
        field_is_list: bool = False
        field_start, field_size, field_is_list = self._canonical(transaction, position)
        position = field_start + field_size
    assert position == start + size, "force_include: too many fields"

    assert self._number(transaction, fields[CHAIN_ID]) == chain_id, (
        "force_include: transaction is for another chain"
    )
    nonce: uint256 = self._number(transaction, fields[NONCE])
    assert nonce <= MAX_NONCE, "force_include: nonce too large (EIP-2681)"
    max_fee: uint256 = self._number(transaction, fields[MAX_FEE])
    assert self._number(transaction, fields[MAX_PRIORITY_FEE]) <= max_fee, (
        "force_include: priority fee above the fee cap"
    )
    destination_start: uint256 = 0
    destination_size: uint256 = 0
    destination_is_list: bool = False
    destination_start, destination_size, destination_is_list = self._canonical(
        transaction, fields[DESTINATION]
    )
    assert destination_size == 20 and not destination_is_list, (
        "force_include: a forced transaction calls an address (no contract creation)"
    )
    data_start: uint256 = 0
    data_size: uint256 = 0
    data_is_list: bool = False
    data_start, data_size, data_is_list = self._canonical(transaction, fields[DATA])
    assert not data_is_list, "force_include: data is not a byte string"
    gas: uint256 = self._number(transaction, fields[GAS_LIMIT])
    assert gas >= TRANSACTION_BASE_GAS + GAS_PER_DATA_BYTE_BOUND * data_size, (
        "force_include: gas limit below 21000 + 40 per data byte"
    )
    assert gas <= MAX_FORCED_TRANSACTION_GAS, "force_include: gas limit above 1000000"
    assert convert(slice(transaction, fields[ACCESS_LIST], 1), uint256) == 192, (
        "force_include: a forced transaction has an empty access list"
    )
    y_parity: uint256 = self._number(transaction, fields[Y_PARITY])
    r: uint256 = self._number(transaction, fields[R])
    s: uint256 = self._number(transaction, fields[S])
    assert y_parity <= 1, "force_include: bad signature (y parity)"
    assert r > 0 and r < SECP256K1_ORDER and s > 0 and s <= SECP256K1_ORDER // 2, (
        "force_include: bad signature (r, s out of range or s high, EIP-2)"
    )
    unsigned: uint256 = fields[Y_PARITY] - start
    signing_hash: bytes32 = keccak256(
        concat(
            slice(transaction, 0, 1),
            self._list_header(unsigned),
            slice(transaction, start, unsigned),
        )
    )
    sender: address = ecrecover(signing_hash, y_parity + 27, r, s)
    assert sender != empty(address), "force_include: bad signature (no signer recovers)"
    return ForcedTransaction(
        sender=sender,
        nonce=nonce,
        max_fee=max_fee,
        max_cost=gas * max_fee + self._number(transaction, fields[AMOUNT]),
    )
