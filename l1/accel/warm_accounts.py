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
from functools import lru_cache
from typing import Dict, NamedTuple, Optional, Set, Tuple

import rlp
from eth.abc import AtomicDatabaseAPI, DatabaseAPI
from eth.constants import BLANK_ROOT_HASH
from eth.db.backends.memory import MemoryDB
from eth.db.cache import CacheDB
from eth.db.storage import CLEAR_COUNT_KEY_NAME, AccountStorageDB, StorageLookup
from eth.rlp.accounts import Account
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
# An account with no balance, nonce, code or storage (or none at all).
BLANK_ACCOUNT = Account()


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
        # py-evm writes the account back as it is, on every message: an encoding
        # and a journal write per call frame, and one more account to put in the
        # trie. An account with anything in it is there already, so the write
        # changes nothing (neither the state root nor whether it exists) and is
        # left out; an empty or absent one is written as py-evm writes it.
        if self._get_account(address) == BLANK_ACCOUNT:
            super().touch_account(address)

    def _reset_access_counters(self) -> None:
        self._journal_accessed_state = IndexedJournalDB(MemoryDB())

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
