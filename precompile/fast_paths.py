"""
Faster equivalents of three library hot paths that every block pays for.

Building or importing a block with py-evm spends about a third of its time
in helpers below the EVM: hashing, trie key handling and RLP object copies.
Each stand-in here returns what the library's own function returns (the tests
compare them on generated input) and only removes overhead:

- keccak-256: eth-hash prefers pycryptodome when both backends are
  installed; safe-pysha3's C keccak costs a sixth as much per call, and the
  trie hashes every node it writes.
- py-trie's nibble helpers build tuples through generators, one resumption
  per nibble; here ``bytes.hex`` and ``bytes.translate`` do it in C.
- pyrlp's ``Serializable.copy`` deep-copies every unchanged field and
  checks its keyword arguments by counting duplicates; field values are
  immutable (bytes, ints, tuples of immutable objects), so sharing them is
  the same object graph as far as anyone can observe, and a complete set of
  keyword arguments cannot have duplicates or unknowns.

``install`` applies them once; ``ORIGINALS`` keeps what they replace.
"""

import importlib
import os
from typing import Any, Callable, Dict, Sequence, Tuple

import rlp.sedes.serializable as rlp_serializable
import trie.utils.nibbles as trie_nibbles
from eth_hash.auto import keccak
from trie.constants import HP_FLAG_0, HP_FLAG_2, NIBBLE_TERMINATOR
from trie.exceptions import InvalidNibbles

# The py-trie modules that import the nibble helpers by name.
TRIE_MODULES = ("trie.utils.nibbles", "trie.utils.nodes", "trie.hexary", "trie.fog", "trie.iter")

HEX_DIGITS = b"0123456789abcdef"
HEX_TO_NIBBLE = bytes.maketrans(HEX_DIGITS, bytes(range(16)))
NIBBLE_TO_HEX = bytes.maketrans(bytes(range(16)), HEX_DIGITS)
NIBBLE_VALUES = bytes(range(16))


# -- trie keys --


def bytes_to_nibbles(value: bytes) -> Tuple[int, ...]:
    return tuple(value.hex().encode().translate(HEX_TO_NIBBLE))


def nibbles_to_bytes(nibbles: Sequence[int]) -> bytes:
    try:
        raw = bytes(nibbles)
    except (TypeError, ValueError):
        raw = None
    # Deleting the valid values leaves something only when one is out of range.
    if raw is None or raw.translate(None, NIBBLE_VALUES):
        raise InvalidNibbles(
            "Nibbles contained invalid value.  Must be constrained between [0, 15]"
        )
    if len(raw) % 2:
        raise InvalidNibbles("Nibbles must be even in length")
    return bytes.fromhex(raw.translate(NIBBLE_TO_HEX).decode())


def is_nibbles_terminated(nibbles: Sequence[int]) -> bool:
    return bool(nibbles) and nibbles[-1] == NIBBLE_TERMINATOR


def add_nibbles_terminator(nibbles: Sequence[int]) -> Tuple[int, ...]:
    if is_nibbles_terminated(nibbles):
        return tuple(nibbles)
    return (*nibbles, NIBBLE_TERMINATOR)


def remove_nibbles_terminator(nibbles: Sequence[int]) -> Tuple[int, ...]:
    if is_nibbles_terminated(nibbles):
        return tuple(nibbles[:-1])
    return tuple(nibbles)


def encode_nibbles(nibbles: Sequence[int]) -> bytes:
    """The hex-prefix encoding of a trie key."""
    flag = HP_FLAG_2 if is_nibbles_terminated(nibbles) else HP_FLAG_0
    raw = remove_nibbles_terminator(nibbles)
    if len(raw) % 2:
        return nibbles_to_bytes((flag + 1, *raw))
    return nibbles_to_bytes((flag, 0, *raw))


def decode_nibbles(value: bytes) -> Tuple[int, ...]:
    """The inverse of ``encode_nibbles``."""
    nibbles = bytes_to_nibbles(value)
    flag = nibbles[0]
    raw = nibbles[1:] if flag in (HP_FLAG_0 + 1, HP_FLAG_2 + 1) else nibbles[2:]
    if flag in (HP_FLAG_2, HP_FLAG_2 + 1):
        return raw + (NIBBLE_TERMINATOR,)
    return raw


NIBBLE_HELPERS: Dict[str, Callable] = {
    function.__name__: function
    for function in (
        bytes_to_nibbles,
        nibbles_to_bytes,
        add_nibbles_terminator,
        remove_nibbles_terminator,
        encode_nibbles,
        decode_nibbles,
    )
}


# -- RLP objects --


def merge_kwargs_to_args(args, kwargs, arg_names, allow_missing=False):
    if not args and len(kwargs) == len(arg_names):
        try:
            return tuple([kwargs[name] for name in arg_names])
        except KeyError:  # an unknown name in place of a known one: the library says which
            pass
    return ORIGINALS["merge_kwargs_to_args"](args, kwargs, arg_names, allow_missing)


def copy_serializable(self, *args, **kwargs):
    names = self._meta.field_names
    if args or not kwargs.keys() <= set(names):
        return ORIGINALS["copy"](self, *args, **kwargs)
    fields = dict(zip(names, self))
    fields.update(kwargs)
    return type(self)(**fields)


# -- keccak --


def pysha3_keccak256() -> Any:
    """
    safe-pysha3's backend for eth-hash, or None where it is not installed or
    the user chose a backend (eth-hash's ``ETH_HASH_BACKEND``).
    """
    if os.environ.get("ETH_HASH_BACKEND"):
        return None
    try:
        return importlib.import_module("eth_hash.backends.pysha3").PySha3Backend()
    except ImportError:
        return None


ORIGINALS: Dict[str, Callable] = {
    **{name: getattr(trie_nibbles, name) for name in NIBBLE_HELPERS},
    "merge_kwargs_to_args": rlp_serializable.merge_kwargs_to_args,
    "copy": rlp_serializable.BaseSerializable.copy,
}


def install() -> None:
    for module_name in TRIE_MODULES:
        module = importlib.import_module(module_name)
        for name, function in NIBBLE_HELPERS.items():
            if hasattr(module, name):
                setattr(module, name, function)
    rlp_serializable.merge_kwargs_to_args = merge_kwargs_to_args
    rlp_serializable.BaseSerializable.copy = copy_serializable
    backend = pysha3_keccak256()
    if backend is not None:
        keccak.hasher = backend.keccak256
        keccak.preimage = backend.preimage
