"""What a witness's storage nodes tell of a trie's size without the rest of it."""

import rlp
from eth.constants import BLANK_ROOT_HASH
from eth_hash.auto import keccak
from trie import HexaryTrie

from precompile.witness_state import WitnessTries


def storage_trie(slots):
    """A storage trie holding ``slots``: its nodes by hash, and its root."""
    db = {}
    trie = HexaryTrie(db)
    for slot, value in slots.items():
        trie[keccak(slot.to_bytes(32, "big"))] = rlp.encode(value)
    return dict(db), trie.root_hash


def test_a_trie_holds_at_least_what_its_top_nodes_show():
    assert WitnessTries({}, BLANK_ROOT_HASH).storage_slots_at_least(BLANK_ROOT_HASH) == 0
    nodes, root = storage_trie({5: 1})
    assert WitnessTries(nodes, BLANK_ROOT_HASH).storage_slots_at_least(root) == 1  # a leaf
    nodes, root = storage_trie({slot: 1 for slot in range(40)})
    at_least = WitnessTries(nodes, BLANK_ROOT_HASH).storage_slots_at_least(root)
    assert 2 <= at_least <= 16  # a branch: one per child, never more than the slots


def test_a_trie_whose_top_node_the_witness_lacks_counts_as_none_known():
    nodes, root = storage_trie({slot: 1 for slot in range(40)})
    del nodes[root]
    assert WitnessTries(nodes, BLANK_ROOT_HASH).storage_slots_at_least(root) == 0


def test_two_slots_under_one_extension_count_as_two():
    """Two keys sharing a first nibble: an extension (or branch) above a branch of two."""
    first = keccak((0).to_bytes(32, "big"))[:1]
    mate = next(s for s in range(1, 10**6) if keccak(s.to_bytes(32, "big"))[:1] == first)
    nodes, root = storage_trie({0: 1, mate: 2})
    assert WitnessTries(nodes, BLANK_ROOT_HASH).storage_slots_at_least(root) == 2
    below = {key: value for key, value in nodes.items() if key == root}
    assert WitnessTries(below, BLANK_ROOT_HASH).storage_slots_at_least(root) == 2
