"""Log filters, as eth_getLogs, eth_newFilter and eth_subscribe("logs") apply them."""

from typing import Any, Dict


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
