"""
Accounts a block's state starts with already read: the ones the previous
state of the same database knew when it made the root this one starts from.

py-evm builds a fresh ``AccountDB`` for every block and walks the account
trie again for each account the block touches (the sender, the fee recipient,
the four system contracts of every Prague block). A state root names its
accounts for good, so what one state knew at the root it made holds for the
next state opened at that root: the values it read there, overlaid with the
ones it wrote. ``WarmAccountDB`` hands them over, per database, for exactly
that root; any other root (a past block, a different database) starts cold.

Only the account trie's read cache is primed: storage, code and journaling
work as py-evm's. A database a witness is recorded through is a new one, so
its reads all reach the database and the witness stays complete.
"""

import weakref
from typing import Dict, NamedTuple, Optional, Tuple

from eth.abc import AtomicDatabaseAPI
from eth.constants import BLANK_ROOT_HASH
from eth.db.account import AccountDB
from eth.db.cache import CacheDB
from eth.db.journal import JournalDB


class KnownAccounts(NamedTuple):
    state_root: bytes
    # Address -> RLP account, as the account trie at ``state_root`` holds it.
    accounts: Dict[bytes, bytes]


# Per database (by id, with a weak reference to tell a reused id apart): the
# accounts known at the root the database's last state made.
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


class PrimedCacheDB(CacheDB):
    """py-evm's read cache in front of the account trie, able to start filled."""

    def prime(self, entries: Dict[bytes, bytes]) -> None:
        for key, value in entries.items():
            self._cached_values[key] = value

    def entries(self) -> Dict[bytes, bytes]:
        return dict(self._cached_values.items())


class WarmAccountDB(AccountDB):
    def __init__(self, db: AtomicDatabaseAPI, state_root: bytes = BLANK_ROOT_HASH) -> None:
        super().__init__(db, state_root)
        self._database = db
        # The same layers py-evm builds, with a cache that can be primed.
        self._trie_cache = PrimedCacheDB(self._trie_logger)
        self._journaltrie = JournalDB(self._trie_cache)
        self._changed_accounts: Optional[Tuple[set, Dict[bytes, bytes]]] = None
        known = known_accounts(db)
        if known is not None and known.state_root == state_root:
            self._trie_cache.prime(known.accounts)

    def _apply_account_diff_without_proof(self, diff, trie) -> None:
        self._changed_accounts = (set(diff.deleted_keys()), dict(diff.pending_items()))
        super()._apply_account_diff_without_proof(diff, trie)

    def make_state_root(self) -> bytes:
        accounts = self._trie_cache.entries()  # read at the root this state had
        self._changed_accounts = None
        state_root = super().make_state_root()
        if self._changed_accounts is not None:
            deleted, written = self._changed_accounts
            for address in deleted:
                accounts.pop(address, None)
            accounts.update(written)
        remember_accounts(self._database, KnownAccounts(state_root, accounts))
        self._trie_cache.prime(accounts)
        return state_root
