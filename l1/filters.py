"""
Log filters: whether a log matches one (as eth_getLogs, eth_newFilter and
eth_subscribe("logs") apply them), and the filters a client has installed.
"""

import time
from typing import Any, Dict, NamedTuple, Optional

from .interface import LimitReached

# Filters installed at once (per node), and how long one lives unpolled (geth: 5 minutes).
MAX_FILTERS = 4096
FILTER_TIMEOUT_SECONDS = 300.0


def log_matches(log: Dict[str, Any], criteria: Dict[str, Any]) -> bool:
    addresses = criteria.get("address")
    if addresses:
        wanted = {a.lower() for a in (addresses if isinstance(addresses, list) else [addresses])}
        if log["address"].lower() not in wanted:
            return False
    for position, topic in enumerate(criteria.get("topics") or []):
        if topic is None:
            continue
        options = topic if isinstance(topic, list) else [topic]
        if position >= len(log["topics"]) or log["topics"][position] not in options:
            return False
    return True


class InstalledFilter(NamedTuple):
    # "logs" or "blocks"
    kind: str
    # What a logs filter covers and matches (``l1.rpc.params.LogFilter``); None for blocks.
    log_filter: Any
    # The last block whose changes the client has seen.
    seen: int


class InstalledFilters:
    """
    Filters by id (eth_newFilter, eth_newBlockFilter), polled by
    eth_getFilterChanges; one not polled for ``timeout`` seconds is
    uninstalled, as geth and anvil do, and at most ``limit`` live at once.
    """

    def __init__(self, limit: int = MAX_FILTERS, timeout: float = FILTER_TIMEOUT_SECONDS) -> None:
        self.by_id: Dict[str, InstalledFilter] = {}
        # id -> when the client last installed or polled it (insertion-ordered by that).
        self.last_used: Dict[str, float] = {}
        self.counter = 0
        self.limit, self.timeout = limit, timeout

    def install(self, kind: str, log_filter: Any, head: int) -> str:
        self._expire()
        if len(self.by_id) >= self.limit:
            raise LimitReached(
                f"too many filters: {self.limit} installed; uninstall some"
                f" (an unpolled one expires after {self.timeout:g} s)"
            )
        self.counter += 1
        filter_id = hex(self.counter)
        self.by_id[filter_id] = InstalledFilter(kind, log_filter, head)
        self._used(filter_id)
        return filter_id

    def get(self, filter_id: str) -> Optional[InstalledFilter]:
        self._expire()
        if filter_id in self.by_id:
            self._used(filter_id)
        return self.by_id.get(filter_id)

    def advance(self, filter_id: str, head: int) -> InstalledFilter:
        """The filter as it was, now marked as seen up to ``head``."""
        installed = self.by_id[filter_id]
        self.by_id[filter_id] = installed._replace(seen=head)
        self._used(filter_id)
        return installed

    def went_back(self, head: int) -> None:
        """The chain went back to block ``head``: blocks after it are new to every filter."""
        for filter_id, installed in self.by_id.items():
            if installed.seen > head:
                self.by_id[filter_id] = installed._replace(seen=head)

    def uninstall(self, filter_id: str) -> bool:
        self.last_used.pop(filter_id, None)
        return self.by_id.pop(filter_id, None) is not None

    def clear(self) -> None:
        self.by_id.clear()
        self.last_used.clear()

    def _used(self, filter_id: str) -> None:
        self.last_used.pop(filter_id, None)
        self.last_used[filter_id] = time.monotonic()

    def _expire(self) -> None:
        """Uninstall the filters unpolled for ``timeout`` (the oldest come first)."""
        cutoff = time.monotonic() - self.timeout
        for filter_id, used in list(self.last_used.items()):
            if used > cutoff:
                break
            self.uninstall(filter_id)
