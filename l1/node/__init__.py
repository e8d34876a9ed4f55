"""
The devnet node, split as anvil splits its own: a chain backend, a
transaction pool, a miner, a clock, snapshots, impersonation, persistence and
the proof pool, with ``Devnet`` as the one object over them.
"""

from ..interface import InvalidArgument, InvalidState, TransactionRejected, TransactionRequest
from .config import DEFAULT_CHAIN_ID, DEFAULT_GAS_LIMIT, DevnetConfig
from .devnet import Devnet

__all__ = [
    "DEFAULT_CHAIN_ID",
    "DEFAULT_GAS_LIMIT",
    "Devnet",
    "DevnetConfig",
    "InvalidArgument",
    "InvalidState",
    "TransactionRejected",
    "TransactionRequest",
]
