"""
The ``txpool_`` namespace, as geth and anvil answer it: the transactions
sent but not yet in a block, ``pending`` (their nonces follow on from their
sender's, so the next block may take them) or ``queued`` (behind a nonce gap).
"""

from typing import Any, Callable, Dict, List

from eth.abc import SignedTransactionAPI
from eth_utils import to_checksum_address

from ..formatting import format_transaction, quantity
from .params import method


def by_sender_and_nonce(
    transactions: List[SignedTransactionAPI], shown: Callable[[SignedTransactionAPI], Any]
) -> Dict[str, Dict[str, Any]]:
    """``{sender: {nonce (decimal): shown(transaction)}}``, the pool's shape in geth and anvil."""
    grouped: Dict[str, Dict[str, Any]] = {}
    for transaction in transactions:
        sender = to_checksum_address(transaction.sender)
        grouped.setdefault(sender, {})[str(transaction.nonce)] = shown(transaction)
    return grouped


def summary(transaction: SignedTransactionAPI) -> str:
    """One line per transaction, as ``txpool_inspect`` shows it (geth's words)."""
    recipient = to_checksum_address(transaction.to) if transaction.to else "contract creation"
    return (
        f"{recipient}: {transaction.value} wei + {transaction.gas} gas"
        f" × {transaction.max_fee_per_gas} wei"
    )


def format_pending(transaction: SignedTransactionAPI) -> Dict[str, Any]:
    return format_transaction(transaction, None, None)


class TxpoolNamespace:
    def __init__(self, devnet) -> None:
        self.devnet = devnet

    def _split(self) -> Dict[str, List[SignedTransactionAPI]]:
        ready = self.devnet.pool.ready()
        ready_hashes = {transaction.hash for transaction in ready}
        queued = [t for t in self.devnet.pending if t.hash not in ready_hashes]
        return {"pending": ready, "queued": queued}

    @method()
    def txpool_status(self) -> Dict[str, str]:
        """How many transactions are pending and how many queued."""
        return {kind: quantity(len(found)) for kind, found in self._split().items()}

    @method()
    def txpool_content(self) -> Dict[str, Dict[str, Dict[str, Any]]]:
        """Every transaction in the pool, by sender and nonce."""
        split = self._split()
        return {kind: by_sender_and_nonce(found, format_pending) for kind, found in split.items()}

    @method()
    def txpool_inspect(self) -> Dict[str, Dict[str, Dict[str, str]]]:
        """A line per transaction in the pool (recipient, value, gas and fee cap), by sender."""
        split = self._split()
        return {kind: by_sender_and_nonce(found, summary) for kind, found in split.items()}
