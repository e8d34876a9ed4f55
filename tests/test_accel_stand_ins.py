"""The library stand-ins in l1.accel.stand_ins return what the library's own functions do."""

import re
from contextlib import contextmanager

import pytest
import rlp
from eth.vm.forks.prague.blocks import PragueBlock, PragueBlockHeader
from eth_hash.auto import keccak
from eth_hash.backends import pycryptodome
from hypothesis import given
from hypothesis import strategies as st
from rlp.sedes.serializable import merge_args_to_kwargs, merge_kwargs_to_args
from trie import HexaryTrie
from trie.constants import BLANK_NODE
from trie.exceptions import InvalidNibbles, ValidationError

from l1 import accel
from l1.accel import stand_ins as stand_ins
from l1.accel.stand_ins import ORIGINALS, TRIE_HELPERS

NIBBLE = st.integers(min_value=0, max_value=15)
NIBBLES = st.lists(NIBBLE, max_size=70)
TERMINATED = NIBBLES.map(lambda nibbles: nibbles + [16])


def both(name, *args):
    return TRIE_HELPERS[name](*args), ORIGINALS[name](*args)


def test_the_stand_ins_are_what_the_libraries_call_once_enabled():
    import trie.hexary
    import trie.utils.nodes

    assert {"trie", "rlp", "eth-hash"} <= accel.enable()

    assert trie.hexary.bytes_to_nibbles is stand_ins.bytes_to_nibbles
    assert trie.utils.nodes.decode_nibbles is stand_ins.decode_nibbles
    assert trie.hexary.decode_node is stand_ins.decode_node
    assert trie.hexary.HexaryTrie._node_to_db_mapping is stand_ins.node_to_db_mapping
    assert rlp.sedes.serializable.BaseSerializable.copy is stand_ins.copy_serializable
    assert keccak(b"") == pycryptodome.keccak256(b"")


@given(st.binary(max_size=80))
def test_bytes_to_nibbles(value):
    ours, library = both("bytes_to_nibbles", value)
    assert ours == library and type(ours) is tuple


@given(st.binary(min_size=1, max_size=40), st.sampled_from([0, 1, 2, 3]))
def test_decode_nibbles(body, flag):
    # Hex-prefix keys: the flag nibble, then a pad nibble when the key is even.
    value = bytes([flag << 4 | (body[0] & 0x0F if flag % 2 else 0)]) + body[1:]
    ours, library = both("decode_nibbles", value)
    assert ours == library


@given(st.one_of(NIBBLES, TERMINATED))
def test_encode_and_terminator_helpers(nibbles):
    for name in ("encode_nibbles", "add_nibbles_terminator", "remove_nibbles_terminator"):
        ours, library = both(name, nibbles)
        assert ours == library, name
        ours, library = both(name, tuple(nibbles))
        assert ours == library, name
    assert stand_ins.decode_nibbles(stand_ins.encode_nibbles(nibbles)) == tuple(nibbles)


@given(NIBBLES.filter(lambda nibbles: len(nibbles) % 2 == 0))
def test_nibbles_to_bytes(nibbles):
    ours, library = both("nibbles_to_bytes", nibbles)
    assert ours == library


@pytest.mark.parametrize(
    "nibbles, message",
    [
        ((1, 2, 3), "even in length"),
        ((1, 16), "invalid value"),
        ((17,), "invalid value"),
        ((-1, 2), "invalid value"),
        ((256, 0), "invalid value"),
        ((1, 300, 2), "invalid value"),
    ],
)
def test_nibbles_to_bytes_refuses_what_the_library_refuses(nibbles, message):
    for function in (stand_ins.nibbles_to_bytes, ORIGINALS["nibbles_to_bytes"]):
        with pytest.raises(InvalidNibbles, match=message):
            function(nibbles)


@given(st.binary(max_size=200))
def test_keccak_matches_pycryptodome(data):
    assert keccak(data) == pycryptodome.keccak256(data)
    assert keccak.new(data).digest() == pycryptodome.keccak256(data)


def sample_block():
    header = PragueBlockHeader(
        difficulty=0,
        block_number=7,
        gas_limit=30_000_000,
        timestamp=1234,
        extra_data=b"x",
        parent_beacon_block_root=b"\x11" * 32,
        requests_hash=b"\x22" * 32,
    )
    return PragueBlock(header=header, transactions=[], uncles=[], withdrawals=[])


@pytest.mark.parametrize(
    "overrides",
    [{}, {"gas_used": 21000}, {"state_root": b"\x33" * 32, "timestamp": 99}],
)
def test_serializable_copy_matches_the_library(overrides):
    block = sample_block()
    ours = block.header.copy(**overrides)
    library = ORIGINALS["copy"](block.header, **overrides)
    assert rlp.encode(ours) == rlp.encode(library) and ours.hash == library.hash
    assert type(ours) is type(block.header)
    copied_block = block.copy(header=ours)
    assert rlp.encode(copied_block) == rlp.encode(ORIGINALS["copy"](block, header=library))


def test_serializable_copy_and_construction_keep_the_library_errors():
    header = sample_block().header
    with pytest.raises(TypeError, match="Unknown kwargs"):
        header.copy(not_a_field=1)
    names = ("a", "b", "c")
    assert merge_kwargs_to_args((), {"c": 3, "a": 1, "b": 2}, names) == (1, 2, 3)
    assert merge_kwargs_to_args((1,), {"b": 2, "c": 3}, names) == (1, 2, 3)
    with pytest.raises(TypeError, match="Unknown kwargs"):
        merge_kwargs_to_args((), {"a": 1, "b": 2, "d": 4}, names)
    with pytest.raises(TypeError, match="Missing kwargs"):
        merge_kwargs_to_args((), {"a": 1, "b": 2}, names)
    with pytest.raises(TypeError, match="Duplicate kwargs"):
        merge_kwargs_to_args((1,), {"a": 1, "b": 2}, names)
    assert merge_args_to_kwargs((1, 2, 3), {}, names) == {"a": 1, "b": 2, "c": 3}
    assert merge_args_to_kwargs((1,), {"c": 3, "b": 2}, names) == {"a": 1, "b": 2, "c": 3}
    with pytest.raises(TypeError, match="Missing kwargs"):
        merge_args_to_kwargs((1, 2), {}, names)
    with pytest.raises(TypeError, match="Unknown kwargs"):
        merge_args_to_kwargs((1, 2), {"d": 4}, names)
    # Decoding goes through it: a header survives a round trip.
    header = sample_block().header
    assert rlp.decode(rlp.encode(header), sedes=type(header)) == header


HASH = st.binary(min_size=32, max_size=32)
LEAF = st.tuples(st.binary(max_size=33), st.binary(max_size=40)).map(list)
NODE = st.recursive(
    LEAF,
    lambda children: st.one_of(
        st.tuples(st.binary(max_size=33), children).map(list),
        st.lists(st.one_of(st.just(b""), HASH, children), min_size=16, max_size=16).flatmap(
            lambda branch: st.binary(max_size=8).map(lambda value: branch + [value])
        ),
    ),
    max_leaves=6,
)


@given(NODE)
def test_valid_nodes_pass_and_convert_like_the_library(node):
    stand_ins.validate_is_node(node)
    ORIGINALS["validate_is_node"](node)
    as_tuple = stand_ins.tuplify(node)
    assert as_tuple == ORIGINALS["tuplify"](node)
    assert stand_ins.listify(as_tuple) == ORIGINALS["listify"](as_tuple) == node


@pytest.mark.parametrize(
    "node",
    [
        [b"k"],
        [b"k", 5],
        ["k", b"v"],
        [b"\x01" * 31] + [b""] * 16,
        [b""] * 16 + [[b"v"]],
        [b""] * 15 + [[b"k", 7], b""],
        [b"k", [b"k", [b"x"] * 3]],
        7,
        [b""] * 18,
    ],
)
def test_invalid_nodes_get_the_library_error(node):
    with pytest.raises(Exception) as library:
        ORIGINALS["validate_is_node"](node)
    with pytest.raises(type(library.value), match=re.escape(str(library.value))):
        stand_ins.validate_is_node(node)
    assert not stand_ins.is_valid_node(node)


@contextmanager
def library_node_codec():
    """py-trie as shipped: its own node decoding and database mapping."""
    import trie.hexary

    replaced = trie.hexary.decode_node, HexaryTrie._node_to_db_mapping
    trie.hexary.decode_node = ORIGINALS["decode_node"]
    HexaryTrie._node_to_db_mapping = ORIGINALS["_node_to_db_mapping"]
    try:
        yield
    finally:
        trie.hexary.decode_node, HexaryTrie._node_to_db_mapping = replaced


# Short keys and values: embedded nodes, extensions and values held in branches.
TRIE_EDITS = st.lists(
    st.tuples(st.binary(max_size=3), st.one_of(st.just(b""), st.binary(max_size=40))),
    max_size=30,
)


def apply_edits(edits, prune):
    """Each edit through a trie as py-evm drives them (b"" deletes), then a squash."""
    db = {}
    trie = HexaryTrie(db, prune=prune)
    roots, values = [], []
    for key, value in edits:
        trie[key] = value
        roots.append(trie.root_hash)
    for key, _ in edits:
        values.append(trie[key])
    with trie.squash_changes() as memory_trie:
        for key, value in reversed(edits):
            memory_trie[key] = value[::-1]
    roots.append(trie.root_hash)
    return roots, values, db


@given(TRIE_EDITS, st.booleans())
def test_tries_build_the_same_nodes_as_the_library(edits, prune):
    with library_node_codec():
        library = apply_edits(edits, prune)
    # Twice: the second run finds every node remembered by the first.
    assert apply_edits(edits, prune) == library
    assert apply_edits(edits, prune) == library


def test_remembered_nodes_are_handed_out_as_fresh_lists():
    branch = [b""] * 16 + [b"a value long enough to be hashed"]
    branch[3] = [b"\x20", b"small"]
    encoded = rlp.encode(branch)
    for _ in range(2):
        node = stand_ins.decode_node(encoded)
        assert node == branch
        node[3][1] = b"edited"
        node[16] = b"edited"
    small = [b"\x20", b"v"]
    trie = HexaryTrie({})
    for _ in range(2):
        key, encoded_small = stand_ins.node_to_db_mapping(trie, small)
        assert key == small and key is not small and encoded_small is None
        key.append(b"edited")
    assert stand_ins.node_to_db_mapping(trie, branch) == (keccak(encoded), encoded)


def test_bad_nodes_keep_the_library_errors_and_are_not_remembered():
    trie = HexaryTrie({})
    bad_node = [b"k", b"v", b"x"]
    for _ in range(2):
        with pytest.raises(ValidationError):
            stand_ins.node_to_db_mapping(trie, bad_node)
    assert stand_ins.tuplify(bad_node) not in stand_ins.NODE_DB_MAPPINGS
    for _ in range(2):
        with pytest.raises(rlp.DecodingError):
            stand_ins.decode_node(b"\xf8\x01")
    assert stand_ins.decode_node(b"") == BLANK_NODE
    assert stand_ins.decode_node(rlp.encode(b"not a list")) == b"not a list"
