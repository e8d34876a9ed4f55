# pragma version ~=0.4.3
"""
@title Merkle-Patricia proofs
@notice Verify an eth_getProof-style proof (the trie nodes on the path to a
        key, root first) against a state or storage root, and read the value
        it proves. Used by contracts that trust an L2 state root and need one
        account or storage slot under it.
"""

# A trie node is at most a full branch: 17 items of up to 33 bytes, plus its list prefix.
MAX_NODE_BYTES: constant(uint256) = 532
# Keys are 32-byte hashes, so a path has 64 nibbles; a proof has at most one node per nibble
# plus the leaf. Real tries are far shallower.
MAX_PROOF_NODES: constant(uint256) = 16
# keccak256(rlp(b"")): the root of a trie that holds nothing (an account without storage).
EMPTY_TRIE_ROOT: constant(bytes32) = 0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421
KEY_NIBBLES: constant(uint256) = 64
BRANCH_ITEMS: constant(uint256) = 17

import rlp


@internal
@pure
def _items(data: Bytes[MAX_NODE_BYTES]) -> (DynArray[uint256, BRANCH_ITEMS], uint256):
    """
    @notice Where each item of the RLP list `data` starts (its prefix), and how
            many items there are; the list must fill `data` exactly.
    """
    start: uint256 = 0
    size: uint256 = 0
    is_list: bool = False
    start, size, is_list = rlp.item(data, 0)
    assert is_list and start + size == len(data), "proof: a node is not an RLP list"
    positions: DynArray[uint256, BRANCH_ITEMS] = []
    position: uint256 = start
    for i: uint256 in range(BRANCH_ITEMS):
        if position == start + size:
            break
        positions.append(position)
        item_start: uint256 = 0
        item_size: uint256 = 0
        item_is_list: bool = False
        item_start, item_size, item_is_list = rlp.item(data, position)
        position = item_start + item_size
    assert position == start + size, "proof: a node has too many items"
    return positions, len(positions)


@internal
@pure
def _nibble(key: bytes32, index: uint256) -> uint256:
    return (convert(key, uint256) >> (4 * (KEY_NIBBLES - 1 - index))) & 15


@internal
@pure
def _path_nibble(data: Bytes[MAX_NODE_BYTES], start: uint256, index: uint256) -> uint256:
    byte: uint256 = convert(slice(data, start + index // 2, 1), uint256)
    if index % 2 == 0:
        return byte >> 4
    return byte & 15


@internal
@pure
def _payload(data: Bytes[MAX_NODE_BYTES], position: uint256) -> Bytes[MAX_NODE_BYTES]:
    start: uint256 = 0
    size: uint256 = 0
    is_list: bool = False
    start, size, is_list = rlp.item(data, position)
    return slice(data, start, size)


@internal
@pure
def _encoded(data: Bytes[MAX_NODE_BYTES], position: uint256) -> Bytes[MAX_NODE_BYTES]:
    """@notice The whole item at `position`, prefix included (an embedded node)."""
    start: uint256 = 0
    size: uint256 = 0
    is_list: bool = False
    start, size, is_list = rlp.item(data, position)
    return slice(data, position, start + size - position)


@internal
@pure
def _is_list(data: Bytes[MAX_NODE_BYTES], position: uint256) -> bool:
    start: uint256 = 0
    size: uint256 = 0
    is_list: bool = False
    start, size, is_list = rlp.item(data, position)
    return is_list


@internal
@pure
def verify(
    root: bytes32, key: bytes32, proof: DynArray[Bytes[MAX_NODE_BYTES], MAX_PROOF_NODES]
) -> Bytes[MAX_NODE_BYTES]:
    """
    @notice The value stored under `key` (already hashed, as the state and
            storage tries key) in the trie with `root`, as `proof` proves it.
            Reverts unless the proof shows the key present.
    """
    value: Bytes[MAX_NODE_BYTES] = self.lookup(root, key, proof)
    assert len(value) > 0, "proof: the key is absent"
    return value


@internal
@pure
def lookup(
    root: bytes32, key: bytes32, proof: DynArray[Bytes[MAX_NODE_BYTES], MAX_PROOF_NODES]
) -> Bytes[MAX_NODE_BYTES]:
    """
    @notice Like `verify`, but a proof that `key` is absent returns empty bytes
            (a trie stores no empty values). A proof that is wrong still reverts.
    """
    if root == EMPTY_TRIE_ROOT:  # nothing stored: every key is absent, whatever the proof
        return b""
    expected: bytes32 = root
    node: Bytes[MAX_NODE_BYTES] = b""
    # An embedded node (under 32 bytes) sits inside its parent, not in the proof.
    embedded: bool = False
    next_proof_node: uint256 = 0
    depth: uint256 = 0
    for step: uint256 in range(KEY_NIBBLES + MAX_PROOF_NODES):
        if not embedded:
            assert next_proof_node < len(proof), "proof: ends before the key"
            node = proof[next_proof_node]
            next_proof_node += 1
            assert keccak256(node) == expected, "proof: a node does not hash to its reference"
        embedded = False
        positions: DynArray[uint256, BRANCH_ITEMS] = []
        count: uint256 = 0
        positions, count = self._items(node)
        child: uint256 = 0
        if count == BRANCH_ITEMS:
            if depth == KEY_NIBBLES:
                return self._payload(node, positions[16])
            child = positions[self._nibble(key, depth)]
            depth += 1
        else:
            assert count == 2, "proof: a node is neither a branch nor a leaf or extension"
            path_start: uint256 = 0
            path_size: uint256 = 0
            path_is_list: bool = False
            path_start, path_size, path_is_list = rlp.item(node, positions[0])
            assert path_size > 0 and not path_is_list, "proof: a node has no path"
            flag: uint256 = self._path_nibble(node, path_start, 0)
            assert flag < 4, "proof: a path has an unknown flag"
            # Odd paths keep their first nibble beside the flag; even ones pad it.
            first: uint256 = 2 - flag % 2
            nibbles: uint256 = path_size * 2 - first
            if depth + nibbles > KEY_NIBBLES:
                return b""
            for i: uint256 in range(KEY_NIBBLES):
                if i == nibbles:
                    break
                if self._path_nibble(node, path_start, first + i) != self._nibble(key, depth + i):
                    return b""
            depth += nibbles
            if flag >= 2:
                if depth != KEY_NIBBLES:
                    return b""
                return self._payload(node, positions[1])
            child = positions[1]
        if self._is_list(node, child):
            node = self._encoded(node, child)
            embedded = True
        else:
            reference: Bytes[MAX_NODE_BYTES] = self._payload(node, child)
            if len(reference) == 0:
                return b""
            assert len(reference) == 32, "proof: a child reference is not a hash"
            expected = extract32(reference, 0)
    raise "proof: too deep"


@internal
@pure
def _account_fields(data: Bytes[MAX_NODE_BYTES]) -> DynArray[uint256, BRANCH_ITEMS]:
    """@notice Where the fields of an RLP account [nonce, balance, storage_root, code_hash] start."""
    positions: DynArray[uint256, BRANCH_ITEMS] = []
    count: uint256 = 0
    positions, count = self._items(data)
    assert count == 4, "proof: not an account"
    return positions


@internal
@pure
def account_storage_root(data: Bytes[MAX_NODE_BYTES]) -> bytes32:
    """@notice The storage root of an RLP account."""
    positions: DynArray[uint256, BRANCH_ITEMS] = self._account_fields(data)
    storage_root: Bytes[MAX_NODE_BYTES] = self._payload(data, positions[2])
    assert len(storage_root) == 32, "proof: not an account"
    return extract32(storage_root, 0)


@internal
@pure
def account_nonce_and_balance(data: Bytes[MAX_NODE_BYTES]) -> (uint256, uint256):
    """@notice Nonce and balance of an RLP account; an absent account (empty bytes) has 0, 0."""
    if len(data) == 0:
        return 0, 0
    positions: DynArray[uint256, BRANCH_ITEMS] = self._account_fields(data)
    nonce: Bytes[MAX_NODE_BYTES] = self._payload(data, positions[0])
    balance: Bytes[MAX_NODE_BYTES] = self._payload(data, positions[1])
    return rlp.big_endian(nonce, 0, len(nonce)), rlp.big_endian(balance, 0, len(balance))
