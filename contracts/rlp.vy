# pragma version ~=0.4.3
"""
@title RLP reading
@notice Where RLP items start and end inside a byte string, for contracts
        that read trie nodes and signed transactions.
"""

# Large enough for a forced L2 transaction; trie nodes are far smaller.
MAX_RLP_BYTES: constant(uint256) = 4096


@internal
@pure
def item(data: Bytes[MAX_RLP_BYTES], position: uint256) -> (uint256, uint256, bool):
    """
    @notice The RLP item starting at `position`: where its payload starts, the
            payload length, and whether it is a list.
    """
    prefix: uint256 = convert(slice(data, position, 1), uint256)
    if prefix < 128:
        return position, 1, False
    if prefix < 184:
        return position + 1, prefix - 128, False
    if prefix < 192:
        size_bytes: uint256 = prefix - 183
        return position + 1 + size_bytes, self.big_endian(data, position + 1, size_bytes), False
    if prefix < 248:
        return position + 1, prefix - 192, True
    list_size_bytes: uint256 = prefix - 247
    start: uint256 = position + 1 + list_size_bytes
    return start, self.big_endian(data, position + 1, list_size_bytes), True


@internal
@pure
def big_endian(data: Bytes[MAX_RLP_BYTES], position: uint256, size: uint256) -> uint256:
    assert size <= 32, "rlp: integer longer than 32 bytes"
    value: uint256 = 0
    for i: uint256 in range(32):
        if i == size:
            break
        value = (value << 8) | convert(slice(data, position + i, 1), uint256)
    return value
