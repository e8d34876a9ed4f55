"""
Many keys set in a hexary trie in one pass.

py-trie sets one key at a time: each set decodes, rebuilds and hashes every
node from the root down to the key and prunes the ones it replaced, so a
block that changes five accounts rebuilds the top of the account trie five
times. Setting the keys together rebuilds each node on their paths once.

The result is the trie py-trie builds, node for node: a Merkle Patricia trie
has one shape for one set of keys. The nodes read are the ones py-trie's sets
read too: a set walks down its key's path and splits nodes, never merges
them, so the existing nodes each key's walk reaches are the same in any
order, all at once or one after another (a witness recorded either way
serves both). Deletions can merge nodes, so they are not done here.

``BatchedAccountDB`` is py-evm's ``AccountDB`` writing a block's accounts so.
"""

from itertools import groupby
from typing import List, Mapping, NamedTuple, Tuple

from eth.db.account import AccountDB
from eth.vm.interrupt import MissingAccountTrieNode
from eth_hash.auto import keccak
from trie import HexaryTrie
from trie.constants import (
    BLANK_NODE,
    NODE_TYPE_BLANK,
    NODE_TYPE_BRANCH,
    NODE_TYPE_EXTENSION,
    NODE_TYPE_LEAF,
)
from trie.exceptions import MissingTrieNode
from trie.utils.nodes import (
    compute_extension_key,
    compute_leaf_key,
    extract_key,
    get_common_prefix_length,
    get_node_type,
)

from .stand_ins import bytes_to_nibbles  # the fast one: py-trie's is a generator per key

# Below a node: (the key's nibbles still to walk, the value, the whole key).
Update = Tuple[Tuple[int, ...], bytes, bytes]


def set_many(trie: HexaryTrie, updates: Mapping[bytes, bytes]) -> None:
    """
    ``trie[key] = value`` for every update, as one pass. A missing node raises
    py-trie's ``MissingTrieNode`` naming it and a key that needed it.
    """
    if not updates:
        return
    if not all(updates.values()):
        raise ValueError("an empty value deletes its key; set_many only sets")
    items = sorted((bytes_to_nibbles(key), value, key) for key, value in updates.items())
    update = TrieUpdate(trie)
    new_root = update.apply(update.child(trie.root_hash, items), items)
    trie.root_hash = trie._set_raw_node(new_root)


class TrieUpdate:
    """One ``set_many`` pass: new nodes are stored through the trie as py-trie stores them."""

    def __init__(self, trie: HexaryTrie) -> None:
        self.trie = trie

    def apply(self, node, items: List[Update]):
        """``node`` with ``items`` set below it: the new node, not yet stored."""
        node_type = get_node_type(node)
        if node_type == NODE_TYPE_BLANK:
            return self.build(items)
        if node_type == NODE_TYPE_LEAF:
            leaf_key = extract_key(node)
            if all(key != leaf_key for key, _, _ in items):
                items = sorted(items + [(leaf_key, node[1], b"")])
            return self.build(items)
        if node_type == NODE_TYPE_EXTENSION:
            return self.apply_to_extension(node, items)
        if node_type == NODE_TYPE_BRANCH:
            return self.apply_to_branch(list(node), items)
        raise Exception("Invariant: not a trie node")

    def apply_to_extension(self, node, items: List[Update]):
        prefix = extract_key(node)
        shared = min(get_common_prefix_length(prefix, key) for key, _, _ in items)
        if shared == len(prefix):
            # An extension leads to a branch, and setting keys keeps it one.
            child = self.child(node[1], items)
            new_child = self.apply(child, strip(items, shared))
            return [compute_extension_key(prefix), self.reference(new_child)]
        # The keys leave the extension after ``shared`` nibbles: a branch there.
        branch = [BLANK_NODE] * 17
        rest = prefix[shared + 1 :]
        branch[prefix[shared]] = (
            self.reference([compute_extension_key(rest), node[1]]) if rest else node[1]
        )
        new_branch = self.apply_to_branch(branch, strip(items, shared))
        if shared:
            return [compute_extension_key(prefix[:shared]), self.reference(new_branch)]
        return new_branch

    def apply_to_branch(self, branch: list, items: List[Update]):
        if not items[0][0]:  # sorted: a key that ends here comes first
            branch[16] = items[0][1]
            items = items[1:]
        for nibble, group in groupby(items, key=lambda item: item[0][0]):
            below = list(group)
            child = self.child(branch[nibble], below)
            branch[nibble] = self.reference(self.apply(child, strip(below, 1)))
        return branch

    def build(self, items: List[Update]):
        """A new subtrie holding ``items``, distinct keys in order."""
        if len(items) == 1:
            key, value, _ = items[0]
            return [compute_leaf_key(key), value]
        shared = get_common_prefix_length(items[0][0], items[-1][0])
        branch = self.apply_to_branch([BLANK_NODE] * 17, strip(items, shared))
        if shared:
            return [compute_extension_key(items[0][0][:shared]), self.reference(branch)]
        return branch

    def child(self, reference, items: List[Update]):
        try:
            return self.trie.get_node(reference)
        except KeyError as missing:
            requested = next(key for _, _, key in items if key)
            raise MissingTrieNode(missing.args[0], self.trie.root_hash, requested) from missing

    def reference(self, node):
        """How a parent names ``node``: its hash (stored), or the node itself when small."""
        return self.trie._persist_node(node)


def strip(items: List[Update], count: int) -> List[Update]:
    return [(key[count:], value, whole) for key, value, whole in items]


class AccountDeletions(NamedTuple):
    """The deletions of a journal diff, as py-evm's account-diff application reads one."""

    addresses: Tuple[bytes, ...]

    def deleted_keys(self) -> Tuple[bytes, ...]:
        return self.addresses

    def pending_items(self) -> Tuple:
        return ()


class BatchedAccountDB(AccountDB):
    """py-evm's ``AccountDB``, setting the accounts a state root commits to in one pass."""

    def _apply_account_diff_without_proof(self, diff, trie) -> None:
        # Deletions first and one at a time, as py-evm applies them.
        deletions = AccountDeletions(tuple(diff.deleted_keys()))
        super()._apply_account_diff_without_proof(deletions, trie)
        written = {keccak(address): account for address, account in diff.pending_items()}
        try:
            set_many(trie._db, written)  # the hexary trie under py-evm's keccak-keyed one
        except MissingTrieNode as missing:
            raise MissingAccountTrieNode(
                missing.missing_node_hash, self._root_hash_at_last_persist, missing.requested_key
            ) from missing
