"""
Pending transactions: validated against the head state on arrival, ready for
a block once their nonces follow on from their sender's, and why those whose
EXECUTE calls wait for proofs wait.
"""

from typing import Dict, List

from eth.abc import SignedTransactionAPI
from eth_utils import ValidationError

from ..interface import TransactionRejected
from .backend import ChainBackend


class TransactionPool:
    """The transactions sent but not yet in a block, in arrival order."""

    def __init__(self, backend: ChainBackend) -> None:
        self.backend = backend
        self.pending: List[SignedTransactionAPI] = []
        # Pending transactions whose EXECUTE calls wait for proofs: hash -> why.
        self.awaiting_proofs: Dict[bytes, str] = {}

    def add(self, transaction: SignedTransactionAPI, gapless: bool) -> None:
        """
        Queue ``transaction`` if the pending state allows it, else refuse it
        with the reason a client sees; ``gapless`` refuses a nonce past the
        next one (automine cannot hold a transaction back for later).
        """
        self.validate(transaction, gapless)
        self.pending.append(transaction)

    def validate(self, transaction: SignedTransactionAPI, gapless: bool) -> None:
        chain_id = self.backend.chain_id
        if transaction.chain_id is not None and transaction.chain_id != chain_id:
            raise TransactionRejected(
                f"invalid chain id {transaction.chain_id}, this chain is {chain_id}"
            )
        if transaction.hash in self.backend.locations or any(
            queued.hash == transaction.hash for queued in self.pending
        ):
            raise TransactionRejected("transaction already imported")
        state = self.backend.head_state()
        account_nonce = state.get_nonce(transaction.sender)
        # Transactions queued ahead of this one (waiting for proofs, or for a block).
        queued_ahead = self.count_from(transaction.sender)
        if transaction.nonce < account_nonce:
            raise TransactionRejected(
                f"nonce too low: next nonce {account_nonce}, tx nonce {transaction.nonce}"
            )
        if any(
            queued.sender == transaction.sender and queued.nonce == transaction.nonce
            for queued in self.pending
        ):
            raise TransactionRejected(
                f"a pending transaction already has nonce {transaction.nonce}"
            )
        if transaction.nonce > account_nonce + queued_ahead and gapless:
            raise TransactionRejected(
                f"nonce too high: next nonce {account_nonce + queued_ahead},"
                f" tx nonce {transaction.nonce}"
            )
        cost = transaction.gas * transaction.max_fee_per_gas + transaction.value
        if state.get_balance(transaction.sender) < cost:
            raise TransactionRejected("insufficient funds for gas * price + value")
        if transaction.gas > self.backend.config.gas_limit:
            raise TransactionRejected("intrinsic gas too high: exceeds block gas limit")
        try:
            transaction.validate()
        except ValidationError as error:
            raise TransactionRejected(str(error)) from error

    def count_from(self, sender: bytes) -> int:
        """How many pending transactions ``sender`` has sent."""
        return sum(queued.sender == sender for queued in self.pending)

    def next_nonce(self, sender: bytes) -> int:
        """The nonce ``sender``'s next transaction takes: its account's, after those pending."""
        return self.backend.head_state().get_nonce(sender) + self.count_from(sender)

    def ready(self) -> List[SignedTransactionAPI]:
        """
        Pending transactions whose nonces follow on from their sender's, in
        arrival order; the rest (behind a nonce gap) stay pending.
        """
        state = self.backend.head_state()
        next_nonce: Dict[bytes, int] = {}
        ready, waiting = [], list(self.pending)
        progressed = True
        while progressed:
            progressed = False
            for transaction in list(waiting):
                sender = transaction.sender
                expected = next_nonce.get(sender, state.get_nonce(sender))
                if transaction.nonce == expected:
                    ready.append(transaction)
                    waiting.remove(transaction)
                    next_nonce[sender] = expected + 1
                    progressed = True
        return ready

    def remove(self, transactions: List[SignedTransactionAPI]) -> None:
        """Forget ``transactions`` (now in a block)."""
        included = {transaction.hash for transaction in transactions}
        self.pending = [t for t in self.pending if t.hash not in included]
        for transaction_hash in included:
            self.awaiting_proofs.pop(transaction_hash, None)

    def clear(self) -> None:
        self.pending, self.awaiting_proofs = [], {}
