"""
An EIP-1186 proof checker written from the yellow paper (appendix D) with
only rlp and keccak, sharing no code with the node's trie library, so that a
proof the node serves is judged by something other than what produced it.
"""

from typing import Any, Dict, List, Optional, Sequence

import rlp
from eth_hash.auto import keccak

EMPTY_TRIE_ROOT = keccak(rlp.encode(b""))
EMPTY_CODE_HASH = keccak(b"")
BRANCH_WIDTH = 17
HASH_LENGTH = 32


class InvalidProof(ValueError):
    """Nodes that do not prove anything about the key against the root."""


def nibbles(key: bytes) -> List[int]:
    return [half for byte in key for half in (byte >> 4, byte & 0x0F)]


def decode_path(encoded: bytes):
    """A leaf's or extension's hex-prefix path: (nibbles, whether it is a leaf)."""
    halves = nibbles(encoded)
    flag = halves[0]
    if flag > 3:
        raise InvalidProof(f"bad hex-prefix flag {flag}")
    return halves[1 if flag & 1 else 2 :], bool(flag & 2)


def proven_value(root: bytes, key: bytes, proof: Sequence[bytes]) -> Optional[bytes]:
    """
    The value stored under ``keccak(key)`` in the trie with root ``root``, or
    None if ``proof`` shows there is none; InvalidProof if the nodes do not
    hash to the references leading to them, leave the path unresolved or
    carry nodes the path does not use.
    """
    path = nibbles(keccak(key))
    reference: Any = root
    used = 0
    while True:
        if isinstance(reference, bytes) and len(reference) == HASH_LENGTH:
            if used == len(proof):
                raise InvalidProof("the proof ends before the path does")
            if keccak(proof[used]) != reference:
                raise InvalidProof(f"node {used} does not hash to its reference")
            node = rlp.decode(proof[used])
            used += 1
        else:
            node = reference  # embedded in its parent (or the empty reference b"")
        if node == b"":
            value = None
        elif isinstance(node, list) and len(node) == BRANCH_WIDTH:
            if not path:
                raise InvalidProof("a fixed-length key ends at a branch")
            reference, path = node[path[0]], path[1:]
            continue
        elif isinstance(node, list) and len(node) == 2:
            segment, is_leaf = decode_path(node[0])
            if is_leaf:
                value = node[1] if segment == path else None
            elif path[: len(segment)] == segment:
                reference, path = node[1], path[len(segment) :]
                continue
            else:
                value = None
        else:
            raise InvalidProof("a node that is neither a branch, an extension nor a leaf")
        if used != len(proof):
            raise InvalidProof(f"{len(proof) - used} nodes past the end of the path")
        return value


def hex_bytes(text: str) -> bytes:
    return bytes.fromhex(text[2:])


def verify_account_proof(state_root: bytes, answer: Dict[str, Any]) -> None:
    """
    Check an ``eth_getProof`` answer against ``state_root``: the account
    fields it claims are the ones proven (an absent account's are empty),
    and each storage value is the one proven under its account's storage
    root (an absent slot's is 0). InvalidProof says what does not hold.
    """
    address = hex_bytes(answer["address"])
    encoded = proven_value(state_root, address, [hex_bytes(n) for n in answer["accountProof"]])
    if encoded is None:
        nonce, balance, storage_root, code_hash = 0, 0, EMPTY_TRIE_ROOT, EMPTY_CODE_HASH
    else:
        fields = rlp.decode(encoded)
        nonce, balance = (int.from_bytes(field, "big") for field in fields[:2])
        storage_root, code_hash = fields[2], fields[3]
    claimed = (
        int(answer["nonce"], 16),
        int(answer["balance"], 16),
        hex_bytes(answer["storageHash"]),
        hex_bytes(answer["codeHash"]),
    )
    if claimed != (nonce, balance, storage_root, code_hash):
        raise InvalidProof(f"account fields {claimed} are not the proven ones")
    for slot in answer["storageProof"]:
        key = int(slot["key"], 16).to_bytes(32, "big")
        stored = proven_value(storage_root, key, [hex_bytes(n) for n in slot["proof"]])
        value = 0 if stored is None else int.from_bytes(rlp.decode(stored), "big")
        if int(slot["value"], 16) != value:
            raise InvalidProof(f"slot {slot['key']} holds {value}, not {slot['value']}")
