"""Keys set in one pass build py-trie's trie, read the nodes its sets read, and fail as it does."""

import pytest
import rlp
from eth.db.account import AccountDB
from eth.db.atomic import AtomicDB
from eth.db.backends.memory import MemoryDB
from eth.db.batch import BatchDB
from eth.vm.interrupt import MissingAccountTrieNode
from eth_hash.auto import keccak
from hypothesis import given, settings
from hypothesis import strategies as st
from trie import HexaryTrie
from trie.exceptions import MissingTrieNode

from l1.accel.batched_trie import BatchedAccountDB, set_many

# Short keys of mixed length (embedded nodes, keys ending inside branches,
# extensions split anywhere) and the 32-byte keys of secure tries.
KEYS = st.one_of(
    st.lists(st.binary(max_size=3), max_size=20),
    st.lists(st.binary(min_size=32, max_size=32), max_size=20),
)
VALUES = st.binary(min_size=1, max_size=40)


class ReadLog(dict):
    """A dict database that remembers the keys read from it."""

    def __init__(self, *args):
        super().__init__(*args)
        self.reads = set()

    def __getitem__(self, key):
        self.reads.add(key)
        return super().__getitem__(key)


def trie_holding(items):
    db = ReadLog()
    trie = HexaryTrie(db)
    for key, value in items.items():
        trie[key] = value
    return trie


def one_by_one(trie, updates):
    for key, value in updates.items():
        trie[key] = value


@settings(max_examples=300)
@given(KEYS, st.data())
def test_one_pass_builds_the_trie_py_trie_builds_and_reads_the_same_nodes(keys, data):
    existing = {key: data.draw(VALUES) for key in keys[: len(keys) // 2]}
    updates = (
        {key: data.draw(VALUES) for key in data.draw(st.lists(st.sampled_from(keys)))}
        if keys
        else {}
    )
    before = trie_holding(existing)
    ours = HexaryTrie(ReadLog(before.db), before.root_hash)
    theirs = HexaryTrie(ReadLog(before.db), before.root_hash)
    set_many(ours, updates)
    one_by_one(theirs, updates)
    assert ours.root_hash == theirs.root_hash
    existing_nodes = set(before.db)
    assert ours.db.reads & existing_nodes == theirs.db.reads & existing_nodes
    expected = {**existing, **updates}
    reread = HexaryTrie(dict(ours.db), ours.root_hash)
    assert {key: reread[key] for key in expected} == expected


@given(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=12), VALUES)
def test_in_a_pruning_squash_as_py_evm_writes_accounts(keys, value):
    existing = trie_holding({key: b"old" for key in keys[::2]})
    roots = []
    for write in (set_many, one_by_one):
        batch = BatchDB(MemoryDB(dict(existing.db)), read_through_deletes=True)
        trie = HexaryTrie(batch, existing.root_hash, prune=True)
        with trie.squash_changes() as memory_trie:
            write(memory_trie, {key: value for key in keys})
        roots.append(trie.root_hash)
        assert all(HexaryTrie(batch, trie.root_hash)[key] == value for key in keys)
    assert roots[0] == roots[1]


def test_nothing_to_set_and_values_that_would_delete():
    trie = trie_holding({b"a": b"1"})
    root = trie.root_hash
    set_many(trie, {})
    assert trie.root_hash == root
    with pytest.raises(ValueError, match="empty value deletes"):
        set_many(trie, {b"a": b"", b"b": b"2"})
    assert trie.root_hash == root


def test_a_missing_node_is_named_with_the_key_that_needed_it():
    keys = [bytes([n]) * 32 for n in range(1, 40, 3)]
    trie = trie_holding({key: b"v" * 40 for key in keys})
    leaf = HexaryTrie.get_proof(trie, keys[3])[-1]
    leaf_hash = keccak(rlp.encode(leaf))
    db = dict(trie.db)
    del db[leaf_hash]
    for write in (set_many, one_by_one):
        broken = HexaryTrie(dict(db), trie.root_hash)
        with pytest.raises(MissingTrieNode) as missing:
            write(broken, {keys[3][:31] + b"\xff": b"x", keys[0]: b"y"})
        assert missing.value.missing_node_hash == leaf_hash
        assert missing.value.requested_key == keys[3][:31] + b"\xff"
    no_root = HexaryTrie({}, trie.root_hash)
    with pytest.raises(MissingTrieNode):
        set_many(no_root, {keys[0]: b"z"})


ADDRESSES = [bytes([n]) * 20 for n in range(1, 9)]


def account_steps(accounts):
    """Writes, touches and deletions over three persisted states; the roots and nodes read."""
    roots, reads = [], []
    for step in range(3):
        for index, address in enumerate(ADDRESSES):
            if (index + step) % 3 == 0:
                accounts.set_balance(address, 10 * index + step + 1)
            elif (index + step) % 3 == 1 and step:
                accounts.delete_account(address)
            else:
                accounts.set_storage(address, step, index + 1)
        accounts.touch_account(b"\xee" * 20)
        reads.append(accounts.persist().hashes)
        roots.append(accounts.state_root)
    return roots, reads


def test_batched_account_db_makes_py_evms_roots_from_py_evms_reads():
    assert account_steps(BatchedAccountDB(AtomicDB())) == account_steps(AccountDB(AtomicDB()))


def test_batched_account_db_names_the_missing_account_node():
    db = AtomicDB()
    accounts = BatchedAccountDB(db)
    for index, address in enumerate(ADDRESSES):
        accounts.set_balance(address, index + 1)
    accounts.persist()
    root = accounts.state_root
    pruned = AtomicDB(MemoryDB({root: db[root]}))
    partial = BatchedAccountDB(pruned, root)
    partial._journaltrie[ADDRESSES[0]] = b"\x01"  # an account write, no read before it
    with pytest.raises(MissingAccountTrieNode) as missing:
        partial.make_state_root()
    assert missing.value.requested_key == keccak(ADDRESSES[0])
