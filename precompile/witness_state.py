"""
Pre-state as far as a witness proves it, and post-state roots from changes.

An engine that keeps state its own way (EELS, revm) reads accounts and slots
here, by walking the witness's trie nodes from a state root: a key the nodes
do not reach raises ``MissingTrieNode``, so nothing outside the witness is
ever read. After execution, its changes are written back into the same trie
to compute the post-state root, needing exactly the nodes py-evm needs.
"""

from typing import Iterable, Mapping, Optional, Tuple

import rlp
from eth.constants import BLANK_ROOT_HASH, EMPTY_SHA3
from eth.rlp.accounts import Account
from eth_hash.auto import keccak
from trie import HexaryTrie
from trie.constants import BLANK_NODE, NODE_TYPE_EXTENSION, NODE_TYPE_LEAF
from trie.utils.nodes import get_node_type


class WitnessTries:
    """The account and storage tries a witness proves, read-only, keyed as Ethereum keys them."""

    def __init__(self, entries: Mapping[bytes, bytes], state_root: bytes) -> None:
        self._entries = entries
        self.state_root = state_root

    def account(self, address: bytes) -> Optional[Account]:
        """The account at ``address``, or None if the witness proves there is none."""
        encoded = HexaryTrie(self._entries, self.state_root).get(keccak(address))
        return rlp.decode(encoded, sedes=Account) if encoded else None

    def storage(self, storage_root: bytes, slot: int) -> int:
        """The value of ``slot`` in the storage trie rooted at ``storage_root``."""
        if storage_root == BLANK_ROOT_HASH:
            return 0
        encoded = HexaryTrie(self._entries, storage_root).get(keccak(slot.to_bytes(32, "big")))
        return rlp.decode(encoded, sedes=rlp.sedes.big_endian_int) if encoded else 0

    def storage_slots_at_least(self, storage_root: bytes) -> int:
        """
        How many slots the storage trie at ``storage_root`` holds at least, from
        its top nodes as far as the witness carries them (0 when it carries none):
        a leaf holds one, a branch one per child, an extension leads to a branch.
        """
        if storage_root == BLANK_ROOT_HASH:
            return 0
        node = self._node(storage_root)
        if node is None:
            return 0
        kind = get_node_type(node)
        if kind == NODE_TYPE_LEAF:
            return 1
        if kind == NODE_TYPE_EXTENSION:
            node = self._node(node[1])
            if node is None:
                return 2
        return sum(1 for child in node[:16] if child != BLANK_NODE) + (1 if node[16] else 0)

    def _node(self, reference) -> Optional[list]:
        """A trie node by its reference (a hash, or the node itself when small), if carried."""
        if isinstance(reference, list):
            return reference
        encoded = self._entries.get(reference)
        return None if encoded is None else rlp.decode(encoded)

    def code(self, code_hash: bytes) -> Optional[bytes]:
        """The bytecode with ``code_hash``, or None if the witness does not carry it."""
        if code_hash == EMPTY_SHA3:
            return b""
        return self._entries.get(code_hash)

    def storage_root_after(
        self, storage_root: bytes, writes: Mapping[int, int], deletes: Iterable[int]
    ) -> bytes:
        """The root after setting ``writes`` (zero values delete) and deleting ``deletes``."""
        trie = HexaryTrie(dict(self._entries), storage_root)
        with trie.squash_changes() as batch:
            for slot in deletes:
                del batch[keccak(slot.to_bytes(32, "big"))]
            for slot, value in writes.items():
                key = keccak(slot.to_bytes(32, "big"))
                if value:
                    batch[key] = rlp.encode(value)
                else:
                    del batch[key]
        return trie.root_hash

    def state_root_after(
        self, accounts: Mapping[bytes, Optional[Tuple[int, int, bytes, bytes]]]
    ) -> bytes:
        """
        The root after writing ``accounts``: address -> (nonce, balance,
        storage_root, code_hash), or None to delete the account.
        """
        trie = HexaryTrie(dict(self._entries), self.state_root)
        with trie.squash_changes() as batch:
            for address, account in accounts.items():
                if account is None:
                    del batch[keccak(address)]
                else:
                    batch[keccak(address)] = rlp.encode(Account(*account))
        return trie.root_hash
