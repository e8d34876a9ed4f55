"""
EIP-1186 state proofs: an account and some of its storage slots in a state,
each with the Merkle-Patricia trie nodes that prove it (or prove it absent)
against the state root, as ``eth_getProof`` answers and as contracts that
check withdrawals read them.
"""

from dataclasses import dataclass
from typing import List, Sequence, Tuple

import rlp
from eth.rlp.accounts import Account
from eth_hash.auto import keccak
from rlp.sedes import big_endian_int
from trie import HexaryTrie
from trie.constants import BLANK_NODE

# Encoded nodes shorter than a hash are embedded in their parent (the yellow
# paper's trie, appendix D): a proof lists only nodes referenced by hash.
HASH_LENGTH = 32


@dataclass(frozen=True)
class SlotProof:
    """A storage slot's value (0 when it is absent) and the nodes that prove it."""

    slot: int
    value: int
    proof: Tuple[bytes, ...]


@dataclass(frozen=True)
class AccountProof:
    """An account's fields (an absent account's are empty) and the nodes that prove them."""

    address: bytes
    account: Account
    proof: Tuple[bytes, ...]
    storage: Tuple[SlotProof, ...]


def proof_nodes(trie: HexaryTrie, key: bytes) -> List[bytes]:
    """
    The encoded nodes on the path to ``key`` (or to where it would be), root
    first; embedded nodes stay inside their parent, as geth and anvil list
    them and as contracts walking a proof expect.
    """
    # py-trie gives no node for an empty trie; its root node (the empty
    # string) proves every key absent, as anvil answers.
    path = trie.get_proof(key) or (BLANK_NODE,)
    encoded = [rlp.encode(node) for node in path]
    return [node for index, node in enumerate(encoded) if index == 0 or len(node) >= HASH_LENGTH]


def prove_slot(storage: HexaryTrie, slot: int) -> SlotProof:
    """Slot ``slot`` of a storage trie, keyed by the hash of its 32-byte big-endian index."""
    key = keccak(slot.to_bytes(32, "big"))
    encoded = storage[key]
    value = rlp.decode(encoded, sedes=big_endian_int) if encoded else 0
    return SlotProof(slot, value, tuple(proof_nodes(storage, key)))


def prove_account(db, state_root: bytes, address: bytes, slots: Sequence[int]) -> AccountProof:
    """
    The account at ``address`` in the state with root ``state_root`` (its
    nodes read from ``db``) and the storage ``slots`` asked, with their proofs.
    """
    state = HexaryTrie(db, state_root)
    key = keccak(address)
    encoded = state[key]
    account = rlp.decode(encoded, sedes=Account) if encoded else Account()
    storage = HexaryTrie(db, account.storage_root)
    return AccountProof(
        address=address,
        account=account,
        proof=tuple(proof_nodes(state, key)),
        storage=tuple(prove_slot(storage, slot) for slot in slots),
    )
