# pragma version ~=0.4.3
"""
@title L2 state, read on L1
@notice Any storage slot of any L2 account in a settled L2 block, proven
        against the state root the rollup settled through EXECUTE. In a based
        block's actions after the L2 block this is how L1 uses what the L2
        block computed, in the same L1 transaction.
"""

import merkle_patricia

interface Rollup:
    def state_root_at(number: uint256) -> bytes32: view
    def head_number() -> uint256: view

MAX_PROOF_NODES: constant(uint256) = merkle_patricia.MAX_PROOF_NODES
MAX_NODE_BYTES: constant(uint256) = merkle_patricia.MAX_NODE_BYTES


@view
@external
def storage_at(
    rollup: address,
    l2_block: uint256,
    account: address,
    slot: bytes32,
    account_proof: DynArray[Bytes[MAX_NODE_BYTES], MAX_PROOF_NODES],
    storage_proof: DynArray[Bytes[MAX_NODE_BYTES], MAX_PROOF_NODES],
) -> uint256:
    """@notice The value at `slot` of `account` after settled L2 block `l2_block` (0 if unset)."""
    assert l2_block <= staticcall Rollup(rollup).head_number(), "l2 state: block not settled"
    state_root: bytes32 = staticcall Rollup(rollup).state_root_at(l2_block)
    encoded: Bytes[MAX_NODE_BYTES] = merkle_patricia.verify(
        state_root, keccak256(slice(convert(account, bytes32), 12, 20)), account_proof
    )
    value: Bytes[MAX_NODE_BYTES] = merkle_patricia.lookup(
        merkle_patricia.account_storage_root(encoded), keccak256(slot), storage_proof
    )
    return self._rlp_integer(value)


@pure
@internal
def _rlp_integer(encoded: Bytes[MAX_NODE_BYTES]) -> uint256:
    """@notice A storage trie value: an RLP string of at most 32 bytes, big-endian."""
    if len(encoded) == 0:
        return 0
    first: uint256 = convert(slice(encoded, 0, 1), uint256)
    if first < 128:
        assert len(encoded) == 1, "l2 state: not a storage value"
        return first
    length: uint256 = first - 128
    assert length <= 32 and len(encoded) == length + 1, "l2 state: not a storage value"
    value: uint256 = 0
    for i: uint256 in range(32):
        if i == length:
            break
        value = (value << 8) | convert(slice(encoded, 1 + i, 1), uint256)
    return value
