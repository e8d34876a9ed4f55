"""
Accounts and storage a block's state starts with already read: what the
previous state of the same database knew at the root this one starts from.

py-evm builds a fresh ``AccountDB`` for every block and walks the tries again
for each account and slot the block touches (the sender, the fee recipient,
the four system contracts of every Prague block and their queue and ring
buffer slots). A state root names its accounts for good, and a storage root
its slots, so what one state knew at the roots it made holds for the next
state opened there: the values it read, overlaid with the ones it wrote.
Only what one state touched is handed on (a block's senders and system
contracts), so the hand-over stays the size of a block, not of the history.
``WarmAccountDB`` hands them over, per database, for exactly those roots; any
other root (a past block, a different database) starts cold.

Only py-evm's read caches in front of the tries are primed; journaling works
as py-evm's (its open checkpoints indexed, ``journal.IndexedJournal``), trie
writes as ``BatchedAccountDB``'s. A database a witness is
recorded through is a new one, so its reads all reach the database and the
witness stays complete.
"""

import weakref
from bisect import bisect_right
from functools import lru_cache
from typing import Any, Dict, List, NamedTuple, Optional, Set, Tuple

import rlp
from eth.abc import AtomicDatabaseAPI, DatabaseAPI
from eth.constants import BLANK_ROOT_HASH
from eth.db.backends.memory import MemoryDB
from eth.db.cache import CacheDB
from eth.db.storage import CLEAR_COUNT_KEY_NAME, AccountStorageDB, StorageLookup
from eth.rlp.accounts import Account
from eth.validation import validate_canonical_address, validate_uint256
from eth_utils import ValidationError

from .batched_trie import BatchedAccountDB
from .journal import IndexedJournalDB


class KnownAccounts(NamedTuple):
    """What a state touched (read or wrote) by the time it made ``state_root``."""

    state_root: bytes
    # Address -> RLP account, as the account trie at ``state_root`` holds it.
    accounts: Dict[bytes, bytes]
    # (address, storage root) -> slot key -> RLP value, as that storage trie holds them.
    storage: Dict[Tuple[bytes, bytes], Dict[bytes, bytes]]


# Per database (by id, with a weak reference to tell a reused id apart): the
# accounts and slots known at the roots the database's last state made.
KNOWN: Dict[int, Tuple[weakref.ref, KnownAccounts]] = {}


def known_accounts(db: AtomicDatabaseAPI) -> Optional[KnownAccounts]:
    entry = KNOWN.get(id(db))
    if entry is None or entry[0]() is not db:
        return None
    return entry[1]


def remember_accounts(db: AtomicDatabaseAPI, known: KnownAccounts) -> None:
    key = id(db)
    if key not in KNOWN or KNOWN[key][0]() is not db:
        reference = weakref.ref(db, lambda _: KNOWN.pop(key, None))
    else:
        reference = KNOWN[key][0]
    KNOWN[key] = (reference, known)


# A key the handed-over values do not hold (a held value may be b"": absent).
NOT_HANDED_OVER = object()


class PrimedCacheDB(CacheDB):
    """
    py-evm's read cache in front of a trie, able to start with the values a
    previous state handed over: a read the cache misses takes the handed-over
    value before reaching the trie. Only what this state reads or writes ends up
    in the cache, so what it hands on is what one block touched, not everything
    every block before it did.
    """

    def __init__(self, db: DatabaseAPI, cache_size: int = 2048) -> None:
        self._handed_over: Dict[bytes, bytes] = {}
        super().__init__(db, cache_size)

    def prime(self, entries: Dict[bytes, bytes]) -> None:
        self._handed_over = dict(entries)

    def handed_over(self) -> Dict[bytes, bytes]:
        return dict(self._handed_over)

    def entries(self) -> Dict[bytes, bytes]:
        """What this state read or wrote (since the last ``reset_cache``)."""
        return dict(self._cached_values.items())

    def reset_cache(self) -> None:
        super().reset_cache()
        self._handed_over = {}

    def __getitem__(self, key: bytes) -> bytes:
        cached = self._cached_values
        if key not in cached:
            value = self._handed_over.get(key, NOT_HANDED_OVER)
            cached[key] = self._db[key] if value is NOT_HANDED_OVER else value
        return cached[key]

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self._handed_over.pop(key, None)
        super().__setitem__(key, value)

    def __delitem__(self, key: bytes) -> None:
        self._handed_over.pop(key, None)
        super().__delitem__(key)


@lru_cache(maxsize=4096)
def decoded_account(rlp_account: bytes) -> Account:
    """An account from its RLP (b"" for none); accounts are immutable, so one object serves all."""
    return rlp.decode(rlp_account, sedes=Account) if rlp_account else Account()


class WarmAccountStorageDB(AccountStorageDB):
    def __init__(self, db: AtomicDatabaseAPI, storage_root: bytes, address: bytes) -> None:
        # The layers py-evm's __init__ builds (at the verified version), with a cache
        # that can be primed: built once here, not built there and then replaced (a
        # block opens a dozen of these).
        self._address = address
        self._storage_lookup = StorageLookup(db, storage_root, address)
        self._storage_cache = PrimedCacheDB(self._storage_lookup)
        self._locked_changes = IndexedJournalDB(self._storage_cache)
        self._journal_storage = IndexedJournalDB(self._locked_changes)
        self._accessed_slots: Set[int] = set()
        self._clear_count = IndexedJournalDB(MemoryDB({CLEAR_COUNT_KEY_NAME: b"\x00"}))
        # How many of its account DB's open checkpoints this covers (a prefix), and
        # where each group of them it recorded as one checkpoint starts.
        self._recorded = 0
        self._group_starts: List[int] = []

    def discard(self, checkpoint) -> None:
        # py-evm's discard (at the verified version), which every reverted call frame runs
        # on every storage written so far: the same steps, without converting the clear
        # counter through eth_utils' validated to_int (a third of its time) or formatting a
        # debug line nobody logs.
        latest_clear_count = self._clear_count_now()
        if self._journal_storage.has_checkpoint(checkpoint):
            self._journal_storage.discard(checkpoint)
            self._clear_count.discard(checkpoint)
        else:  # the checkpoint is older than this storage's tracking: back to its start
            self._journal_storage.reset()
            self._clear_count.reset()
        self._storage_cache.reset_cache()
        reverted_clear_count = self._clear_count_now()
        if reverted_clear_count == latest_clear_count - 1:  # back past a storage deletion
            self._storage_lookup.rollback_trie(reverted_clear_count)
        elif reverted_clear_count != latest_clear_count:
            raise ValidationError(
                f"This revert has changed the clear count in an invalid way, from"
                f" {latest_clear_count} to {reverted_clear_count}, in 0x{self._address.hex()}"
            )

    def _clear_count_now(self) -> int:
        return int.from_bytes(self._clear_count[CLEAR_COUNT_KEY_NAME], "big")


class WarmAccountDB(BatchedAccountDB):
    def __init__(self, db: AtomicDatabaseAPI, state_root: bytes = BLANK_ROOT_HASH) -> None:
        super().__init__(db, state_root)
        self._database = db
        # The same layers py-evm builds, with a cache that can be primed.
        self._journaldb = IndexedJournalDB(self._batchdb)
        self._trie_cache = PrimedCacheDB(self._trie_logger)
        self._journaltrie = IndexedJournalDB(self._trie_cache)
        self._changed_accounts: Optional[Tuple[set, Dict[bytes, bytes]]] = None
        # Checkpoints open at this level, oldest first, and the storage DBs each is
        # recorded in (``_storage_to_write``).
        self._open_checkpoints: List[Any] = []
        self._open_positions: Dict[Any, int] = {}
        self._recorded_in: Dict[Any, List[AccountStorageDB]] = {}
        known = known_accounts(db)
        self._known_storage = {}
        if known is not None and known.state_root == state_root:
            self._trie_cache.prime(known.accounts)
            self._known_storage = known.storage

    def _get_account(self, address: bytes, from_journal: bool = True) -> Account:
        # py-evm's (at the verified version), but an account's RLP decoded once: every
        # reverted call frame empties py-evm's account cache, and decoding the same
        # accounts again was an eighth of the time of tests with 50,000 calls.
        if from_journal and address in self._account_cache:
            return self._account_cache[address]
        account = decoded_account(self._get_encoded_account(address, from_journal))
        if from_journal:
            self._account_cache[address] = account
        return account

    def touch_account(self, address: bytes) -> None:
        # py-evm writes the account back as it reads it, on every message: an
        # encoding and a journal write per call frame. Where the journal holds
        # that account already, the write changes nothing (neither the state
        # root nor whether it exists) and is left out; otherwise (an absent
        # account, or one its cache holds otherwise) it is written as py-evm does.
        encoded = self._get_encoded_account(address)
        if not encoded or decoded_account(encoded) != self._get_account(address):
            super().touch_account(address)

    def _reset_access_counters(self) -> None:
        self._journal_accessed_state = IndexedJournalDB(MemoryDB())

    # -- checkpoints: recorded in a storage DB only when it is next written --
    #
    # py-evm records every checkpoint (one per call frame) in every storage DB written
    # so far in the block, and commits or discards it in each: with thousands of
    # contracts written (stCreate2/Create2Recursive) that was nearly all of the time.
    # A storage DB not written since a checkpoint has nothing to undo or merge at it,
    # so it catches up only before its next write; and the checkpoints it catches up
    # on then (opened since its last write) all saw the same storage, so it records
    # one checkpoint for them all: a group. Each storage DB has so covered a prefix
    # of the open checkpoints (``_recorded`` of them) with groups starting at
    # ``_group_starts``, and closing a checkpoint closes, in the storage DB, the
    # group it falls in (discard: back to what the group saw) or the groups after it
    # (commit: merged into the one it falls in).

    def record(self):
        checkpoint = self._journaldb.record()
        self._journaltrie.record(checkpoint)
        self._journal_accessed_state.record(checkpoint)
        self._open_positions[checkpoint] = len(self._open_checkpoints)
        self._open_checkpoints.append(checkpoint)
        self._recorded_in[checkpoint] = []
        return checkpoint

    def discard(self, checkpoint) -> None:
        self._journaldb.discard(checkpoint)
        self._journaltrie.discard(checkpoint)
        self._journal_accessed_state.discard(checkpoint)
        self._account_cache.clear()
        self._close_checkpoint(checkpoint, keep_changes=False)

    def commit(self, checkpoint) -> None:
        self._journaldb.commit(checkpoint)
        self._journaltrie.commit(checkpoint)
        self._journal_accessed_state.commit(checkpoint)
        self._close_checkpoint(checkpoint, keep_changes=True)

    def _close_checkpoint(self, checkpoint, keep_changes: bool) -> None:
        """
        Close ``checkpoint`` and every later one in the storage DBs that cover
        it, then at this level (the journals above have checked it was open).
        """
        position = self._open_positions[checkpoint]
        opened = self._open_checkpoints
        for store in self._recorded_in[checkpoint]:
            if position >= store._recorded:  # closed already, at an earlier listing
                continue
            starts = store._group_starts
            group = bisect_right(starts, position) - 1
            start = starts[group]
            if not keep_changes:
                store.discard(opened[start])
                del starts[group:]
                store._recorded = start
                continue
            if start == position:
                store.commit(opened[start])
                del starts[group:]
            elif group + 1 < len(starts):
                store.commit(opened[starts[group + 1]])
                del starts[group + 1 :]
            store._recorded = position
        for later in opened[position:]:
            del self._recorded_in[later]
            del self._open_positions[later]
        del opened[position:]

    def _storage_to_write(self, address: bytes) -> AccountStorageDB:
        """``address``'s storage DB, covering every open checkpoint."""
        store = self._get_address_store(address)
        opened = self._open_checkpoints
        start = store._recorded
        if start < len(opened):
            store.record(opened[start])
            store._group_starts.append(start)
            for checkpoint in opened[start:]:
                self._recorded_in[checkpoint].append(store)
            store._recorded = len(opened)
        return store

    def set_storage(self, address: bytes, slot: int, value: int) -> None:
        # py-evm's (at the verified version), with the storage DB caught up first
        validate_uint256(value, title="Storage Value")
        validate_uint256(slot, title="Storage Slot")
        validate_canonical_address(address, title="Storage Address")
        store = self._storage_to_write(address)
        self._dirty_accounts.add(address)
        store.set(slot, value)

    def _wipe_storage(self, address: bytes) -> None:
        store = self._storage_to_write(address)
        self._dirty_accounts.add(address)
        store.delete()

    def storage_untouched(self, address: bytes) -> bool:
        """Whether this state has not read or written ``address``'s storage yet."""
        return address not in self._account_stores

    def storage_root_of(self, address: bytes) -> bytes:
        """The storage root ``address``'s account holds (before this state's storage changes)."""
        return self._get_storage_root(address)

    def _get_address_store(self, address: bytes) -> AccountStorageDB:
        store = self._account_stores.get(address)
        if store is None:
            storage_root = self._get_storage_root(address)
            store = WarmAccountStorageDB(self._raw_store_db, storage_root, address)
            store._storage_cache.prime(self._known_storage.get((address, storage_root), {}))
            self._account_stores[address] = store
        return store

    def _apply_account_diff_without_proof(self, diff, trie) -> None:
        self._changed_accounts = (set(diff.deleted_keys()), dict(diff.pending_items()))
        super()._apply_account_diff_without_proof(diff, trie)

    def make_state_root(self) -> bytes:
        # py-evm persists the account journal here, closing every checkpoint.
        self._open_checkpoints.clear()
        self._open_positions.clear()
        self._recorded_in.clear()
        for store in self._account_stores.values():
            store._recorded = 0
            store._group_starts.clear()
        accounts = self._trie_cache.entries()  # touched at the root this state had
        self._changed_accounts = None
        state_root = super().make_state_root()
        if self._changed_accounts is not None:
            deleted, written = self._changed_accounts
            for address in deleted:
                accounts.pop(address, None)
            accounts.update(written)
        self._trie_cache.prime(accounts)
        # Each storage cache holds the slots this state touched, as its trie now holds
        # them (py-evm writes through it).
        storage = {
            (address, self._get_storage_root(address)): store._storage_cache.entries()
            for address, store in self._account_stores.items()
        }
        self._known_storage = storage
        remember_accounts(self._database, KnownAccounts(state_root, accounts, storage))
        return state_root
