"""
Log filters: whether a log matches one (as eth_getLogs, eth_newFilter and
eth_subscribe("logs") apply them), and the filters a client has installed.
"""

from typing import Any, Dict, NamedTuple, Optional


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
    """Filters by id (eth_newFilter, eth_newBlockFilter), polled by eth_getFilterChanges."""

    def __init__(self) -> None:
        self.by_id: Dict[str, InstalledFilter] = {}
        self.counter = 0

    def install(self, kind: str, log_filter: Any, head: int) -> str:
        self.counter += 1
        filter_id = hex(self.counter)
        self.by_id[filter_id] = InstalledFilter(kind, log_filter, head)
        return filter_id

    def get(self, filter_id: str) -> Optional[InstalledFilter]:
        return self.by_id.get(filter_id)

    def advance(self, filter_id: str, head: int) -> InstalledFilter:
        """The filter as it was, now marked as seen up to ``head``."""
        installed = self.by_id[filter_id]
        self.by_id[filter_id] = installed._replace(seen=head)
        return installed

    def uninstall(self, filter_id: str) -> bool:
        return self.by_id.pop(filter_id, None) is not None

    def clear(self) -> None:
        self.by_id.clear()
