"""
Faster equivalents of library hot paths that every block pays for.

Building or importing a block with py-evm spends about a third of its time
in helpers below the EVM: hashing, trie key handling and RLP object copies.
Each stand-in here returns what the library's own function returns (the tests
compare them on generated input) and only removes overhead:

- keccak-256: eth-hash prefers pycryptodome when both backends are
  installed; safe-pysha3's C keccak costs a sixth as much per call, and the
  trie hashes every node it writes.
- py-trie's nibble helpers build tuples through generators, one resumption
  per nibble; here ``bytes.hex`` and ``bytes.translate`` do it in C. Its node
  check (run on every node it writes) answers valid nodes without a call per
  child, and hands invalid ones to the library for its error; its node
  tuple/list conversions are comprehensions instead of generators.
- py-trie decodes every node it reads and encodes and hashes every node it
  prunes, and each block's tries start with the top nodes the previous
  block's wrote; recent nodes are remembered both ways, across tries.
- pyrlp's ``Serializable.copy`` deep-copies every unchanged field, and
  building or decoding one checks its arguments by counting duplicates
  (decoding converts positions to names and back); field values are
  immutable (bytes, ints, tuples of immutable objects), so sharing them is
  the same object graph as far as anyone can observe, and a complete set of
  arguments, all by name or all by position, cannot have duplicates or unknowns.

``INSTALLERS`` applies them by library (``l1.accel.enable`` decides which);
``ORIGINALS`` keeps what they replace and ``uninstall`` puts it back.
"""

import importlib
import os
from typing import Any, Callable, Dict, Sequence, Tuple

import rlp
import rlp.sedes.serializable as rlp_serializable
import trie.hexary as trie_hexary
import trie.utils.nibbles as trie_nibbles
import trie.utils.nodes as trie_nodes
import trie.validation as trie_validation
from eth_hash.auto import keccak
from trie.constants import BLANK_NODE, HP_FLAG_0, HP_FLAG_2, NIBBLE_TERMINATOR
from trie.exceptions import InvalidNibbles
from trie.utils.nibbles import is_nibbles_terminated

# The py-trie modules that define or import the helpers replaced here.
TRIE_MODULES = (
    "trie.utils.nibbles",
    "trie.utils.nodes",
    "trie.validation",
    "trie.hexary",
    "trie.fog",
    "trie.iter",
)

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


# -- trie nodes --


def is_valid_node(node: Any) -> bool:
    """Whether py-trie's ``validate_is_node`` accepts ``node``, without raising."""
    try:
        if node == BLANK_NODE:
            return True
        if len(node) == 2:
            key, value = node
            if isinstance(value, list):
                return isinstance(key, bytes) and is_valid_node(value)
            return isinstance(key, bytes) and isinstance(value, bytes)
        if len(node) != 17 or not isinstance(node[16], bytes):
            return False
        for index in range(16):
            child = node[index]
            if isinstance(child, bytes):
                if child and len(child) != 32:
                    return False
            elif not (isinstance(child, list) and is_valid_node(child)):
                return False
        return True
    except (TypeError, ValueError):  # not a node at all: the library names what is wrong
        return False


def validate_is_node(node: Any) -> None:
    if not is_valid_node(node):
        ORIGINALS["validate_is_node"](node)  # raises the library's error


def tuplify(node: Sequence) -> tuple:
    return tuple([tuplify(child) if isinstance(child, list) else child for child in node])


def listify(node: Sequence) -> list:
    return [listify(child) if isinstance(child, tuple) else child for child in node]


# -- trie node codec --

# Trie nodes seen recently, as nested tuples (py-trie edits the lists it gets in
# place, so each caller gets its own lists). Blocks in a row walk the same
# top nodes: each block's trie re-reads and re-hashes, to prune them, the
# nodes the block before it wrote. Past this many entries a table starts over.
RECENT_NODES_LIMIT = 8192
# RLP encoding -> node.
DECODED_NODES: Dict[bytes, tuple] = {}
# Node -> (database key, encoding), as ``_create_node_to_db_mapping`` returns
# them (a node too small to hash is its own key, handed out as a fresh list).
NODE_DB_MAPPINGS: Dict[tuple, Tuple[Any, Any]] = {}


def remember_node(table: Dict, key: Any, value: Any) -> None:
    if len(table) >= RECENT_NODES_LIMIT:
        table.clear()
    table[key] = value


def decode_node(encoded_node_or_hash: Any) -> Any:
    if type(encoded_node_or_hash) is not bytes or encoded_node_or_hash == BLANK_NODE:
        return ORIGINALS["decode_node"](encoded_node_or_hash)
    node = DECODED_NODES.get(encoded_node_or_hash)
    if node is not None:
        return listify(node)
    decoded = rlp.decode(encoded_node_or_hash)
    if isinstance(decoded, list):
        remember_node(DECODED_NODES, encoded_node_or_hash, tuplify(decoded))
    return decoded


def node_to_db_mapping(trie_self: Any, node: Any) -> Tuple[Any, Any]:
    """``HexaryTrie._node_to_db_mapping``, remembered across tries."""
    if not isinstance(node, list):
        return trie_self._create_node_to_db_mapping(node)
    shape = tuplify(node)
    mapping = NODE_DB_MAPPINGS.get(shape)
    if mapping is None:
        mapping = trie_self._create_node_to_db_mapping(node)
        remember_node(NODE_DB_MAPPINGS, shape, mapping)
        if mapping[1] is not None:  # written now, read by the next block's trie
            remember_node(DECODED_NODES, mapping[1], shape)
    return (listify(shape), None) if mapping[1] is None else mapping


# Stand-ins for py-trie's helpers, by name (each module that imported one gets it).
TRIE_HELPERS: Dict[str, Callable] = {
    function.__name__: function
    for function in (
        bytes_to_nibbles,
        nibbles_to_bytes,
        add_nibbles_terminator,
        remove_nibbles_terminator,
        encode_nibbles,
        decode_nibbles,
        validate_is_node,
        tuplify,
        listify,
        decode_node,
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


def merge_args_to_kwargs(args, kwargs, arg_names, allow_missing=False):
    if not kwargs and len(args) == len(arg_names):
        return dict(zip(arg_names, args))
    return ORIGINALS["merge_args_to_kwargs"](args, kwargs, arg_names, allow_missing)


def copy_serializable(self, *args, **kwargs):
    names = self._meta.field_names
    if args or not kwargs.keys() <= set(names):
        return ORIGINALS["copy"](self, *args, **kwargs)
    fields = dict(zip(names, self))
    fields.update(kwargs)
    return type(self)(**fields)


# -- keccak --


def pysha3_backend() -> Any:
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


# Where py-trie defines the helpers not in its nibbles module.
TRIE_DEFINITIONS = {
    "validate_is_node": trie_validation,
    "tuplify": trie_hexary,
    "listify": trie_hexary,
    "decode_node": trie_nodes,
}
ORIGINALS: Dict[str, Callable] = {
    **{name: getattr(TRIE_DEFINITIONS.get(name, trie_nibbles), name) for name in TRIE_HELPERS},
    "merge_kwargs_to_args": rlp_serializable.merge_kwargs_to_args,
    "merge_args_to_kwargs": rlp_serializable.merge_args_to_kwargs,
    "copy": rlp_serializable.BaseSerializable.copy,
    "_node_to_db_mapping": trie_hexary.HexaryTrie._node_to_db_mapping,
}
KECCAK_ORIGINALS = (keccak.hasher, keccak.preimage)


def install_trie() -> None:
    """py-trie's nibble, node and codec helpers, in every module that imported them."""
    for module_name in TRIE_MODULES:
        module = importlib.import_module(module_name)
        for name, function in TRIE_HELPERS.items():
            if hasattr(module, name):
                setattr(module, name, function)
    trie_hexary.HexaryTrie._node_to_db_mapping = node_to_db_mapping


def install_rlp() -> None:
    """pyrlp's argument merging and ``Serializable.copy``."""
    rlp_serializable.merge_kwargs_to_args = merge_kwargs_to_args
    rlp_serializable.merge_args_to_kwargs = merge_args_to_kwargs
    rlp_serializable.BaseSerializable.copy = copy_serializable


def install_keccak() -> None:
    """eth-hash's ``keccak`` on safe-pysha3, unless unavailable or the user chose a backend."""
    backend = pysha3_backend()
    if backend is not None:
        keccak.hasher = backend.keccak256
        keccak.preimage = backend.preimage


def uninstall() -> None:
    """Put back every library function this module replaces."""
    for module_name in TRIE_MODULES:
        module = importlib.import_module(module_name)
        for name in TRIE_HELPERS:
            if hasattr(module, name):
                setattr(module, name, ORIGINALS[name])
    trie_hexary.HexaryTrie._node_to_db_mapping = ORIGINALS["_node_to_db_mapping"]
    rlp_serializable.merge_kwargs_to_args = ORIGINALS["merge_kwargs_to_args"]
    rlp_serializable.merge_args_to_kwargs = ORIGINALS["merge_args_to_kwargs"]
    rlp_serializable.BaseSerializable.copy = ORIGINALS["copy"]
    keccak.hasher, keccak.preimage = KECCAK_ORIGINALS


# Each library's stand-ins, by the distribution whose functions they replace.
INSTALLERS: Dict[str, Callable[[], None]] = {
    "trie": install_trie,
    "rlp": install_rlp,
    "eth-hash": install_keccak,
}
