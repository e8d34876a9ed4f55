"""
Pending transactions: validated against the head state on arrival, ready for
a block once their nonces follow on from their sender's, and why those whose
EXECUTE calls wait for proofs wait.
"""

import logging
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

from eth.abc import SignedTransactionAPI
from eth.vm.forks.shanghai.constants import MAX_INITCODE_SIZE
from eth_utils import ValidationError

from precompile.execute import ProofsMissing

from ..interface import LimitReached, TransactionRejected
from .backend import ChainBackend
from .gas import minimum_gas

logger = logging.getLogger(__name__)
# How many dropped transactions' reasons are kept (the oldest go first).
MAX_DROPPED_REMEMBERED = 1024
# Most transactions pending at once (geth's pool holds 5,120 executable ones).
MAX_PENDING = 8192
# Furthest a nonce may run ahead of its account's (a gap waits for the nonces before it).
MAX_NONCE_AHEAD = 1024


class TransactionPool:
    """The transactions sent but not yet in a block, in arrival order (indexed too)."""

    def __init__(self, backend: ChainBackend) -> None:
        self.backend = backend
        self.pending: List[SignedTransactionAPI] = []
        # Hash -> its pending transaction.
        self._by_hash: Dict[bytes, SignedTransactionAPI] = {}
        # Sender -> nonce -> its pending transaction.
        self._by_sender: Dict[bytes, Dict[int, SignedTransactionAPI]] = {}
        # Pending transactions whose EXECUTE calls wait for proofs: hash -> what they lack.
        self.awaiting_proofs: Dict[bytes, ProofsMissing] = {}
        # Transactions dropped because no block could hold them: hash -> why.
        self.dropped: "OrderedDict[bytes, str]" = OrderedDict()

    def add(self, transaction: SignedTransactionAPI, gapless: bool, first: bool = False) -> None:
        """
        Queue ``transaction`` if the pending state allows it, else refuse it
        with the reason a client sees; ``gapless`` refuses a nonce past the
        next one (automine cannot hold a transaction back for later). ``first``
        puts it ahead of those waiting (a rollup's forced transaction).
        """
        self.validate(transaction, gapless)
        if first:
            self.pending.insert(0, transaction)
        else:
            self.pending.append(transaction)
        self._index(transaction)

    def _index(self, transaction: SignedTransactionAPI) -> None:
        self._by_hash[transaction.hash] = transaction
        self._by_sender.setdefault(transaction.sender, {})[transaction.nonce] = transaction

    def validate(self, transaction: SignedTransactionAPI, gapless: bool) -> None:
        chain_id = self.backend.chain_id
        if transaction.chain_id is None and not self.backend.config.unprotected_transactions:
            raise TransactionRejected(
                "transaction has no chain id (pre-EIP-155): it could be replayed on every chain"
                " its sender's key signs for; sign it with this chain's id"
            )
        if transaction.chain_id is not None and transaction.chain_id != chain_id:
            raise TransactionRejected(
                f"invalid chain id {transaction.chain_id}, this chain is {chain_id}"
            )
        if transaction.hash in self.backend.locations or transaction.hash in self._by_hash:
            raise TransactionRejected("transaction already imported")
        if len(self.pending) >= MAX_PENDING:
            raise LimitReached(
                f"the pool is full: {MAX_PENDING} transactions pending; mine or wait"
            )
        state = self.backend.head_state()
        sender = transaction.sender
        account_nonce = state.get_nonce(sender)
        if transaction.nonce < account_nonce:
            raise TransactionRejected(
                f"nonce too low: next nonce {account_nonce}, tx nonce {transaction.nonce}"
            )
        if transaction.nonce in self._by_sender.get(sender, {}):
            raise TransactionRejected(
                f"a pending transaction already has nonce {transaction.nonce}"
            )
        # Transactions queued ahead of this one (waiting for proofs, or for a block).
        next_nonce = account_nonce + self.count_from(sender)
        if transaction.nonce > next_nonce and gapless:
            raise TransactionRejected(
                f"nonce too high: next nonce {next_nonce}, tx nonce {transaction.nonce}"
            )
        if transaction.nonce > account_nonce + MAX_NONCE_AHEAD:
            raise TransactionRejected(
                f"nonce too high: at most {MAX_NONCE_AHEAD} ahead of the account's nonce"
                f" {account_nonce}, tx nonce {transaction.nonce}"
            )
        least_gas = minimum_gas(transaction)
        if transaction.gas < least_gas:
            raise TransactionRejected(
                f"intrinsic gas too low: the transaction needs at least {least_gas} gas,"
                f" it allows {transaction.gas}"
            )
        base_fee = self.backend.next_base_fee()
        if transaction.max_fee_per_gas < base_fee:
            raise TransactionRejected(
                f"max fee per gas less than block base fee: {transaction.max_fee_per_gas}"
                f" < {base_fee}"
            )
        cost = transaction.gas * transaction.max_fee_per_gas + transaction.value
        if state.get_balance(sender) < cost:
            raise TransactionRejected("insufficient funds for gas * price + value")
        if transaction.gas > self.backend.config.gas_limit:
            raise TransactionRejected("intrinsic gas too high: exceeds block gas limit")
        if not transaction.to and len(transaction.data) > MAX_INITCODE_SIZE:
            raise TransactionRejected(
                f"max initcode size exceeded: {len(transaction.data)} bytes, the limit is"
                f" {MAX_INITCODE_SIZE} (EIP-3860)"
            )
        try:
            transaction.validate()
        except ValidationError as error:
            raise TransactionRejected(str(error)) from error

    def find(self, transaction_hash: bytes) -> Optional[SignedTransactionAPI]:
        """The pending transaction with this hash, if there is one."""
        return self._by_hash.get(transaction_hash)

    def count_from(self, sender: bytes) -> int:
        """How many pending transactions ``sender`` has sent."""
        return len(self._by_sender.get(sender, ()))

    def next_nonce(self, sender: bytes) -> int:
        """
        The nonce ``sender``'s next transaction takes: its account's, after the
        pending ones that follow on from it (one behind a nonce gap waits for
        the gap to be filled, as anvil and geth count it).
        """
        nonce = self.backend.head_state().get_nonce(sender)
        pending = self._by_sender.get(sender, {})
        while nonce in pending:
            nonce += 1
        return nonce

    def ready(self) -> List[SignedTransactionAPI]:
        """
        Pending transactions whose nonces follow on from their sender's (the
        rest, behind a nonce gap, stay pending): senders interleaved as their
        transactions arrived, each sender's in nonce order.
        """
        state = self.backend.head_state()
        ready_by_sender: Dict[bytes, List[SignedTransactionAPI]] = {}
        for sender, by_nonce in self._by_sender.items():
            run, nonce = [], state.get_nonce(sender)
            while nonce in by_nonce:
                run.append(by_nonce[nonce])
                nonce += 1
            ready_by_sender[sender] = run[::-1]  # popped from the end: lowest nonce first
        ready = []
        for transaction in self.pending:
            run = ready_by_sender[transaction.sender]
            if run:
                ready.append(run.pop())
        return ready

    def remove(self, transactions: List[SignedTransactionAPI]) -> None:
        """Forget ``transactions`` (now in a block, or dropped)."""
        gone = {transaction.hash for transaction in transactions} & self._by_hash.keys()
        if not gone:
            return
        kept = []
        for transaction in self.pending:  # the pool's own objects know their senders
            if transaction.hash not in gone:
                kept.append(transaction)
                continue
            by_nonce = self._by_sender[transaction.sender]
            del by_nonce[transaction.nonce]
            if not by_nonce:
                del self._by_sender[transaction.sender]
            self.awaiting_proofs.pop(transaction.hash, None)
        self.pending = kept
        for transaction_hash in gone:
            del self._by_hash[transaction_hash]

    def drop(self, transaction: SignedTransactionAPI, reason: str) -> None:
        """
        Forget ``transaction``, which no block can hold now (it turned invalid
        after it was accepted), and remember why; logged once.
        """
        self.remove([transaction])
        self.dropped[transaction.hash] = reason
        while len(self.dropped) > MAX_DROPPED_REMEMBERED:
            self.dropped.popitem(last=False)
        logger.warning(
            "transaction 0x%s from 0x%s (nonce %d) dropped: a block cannot hold it: %s",
            transaction.hash.hex(),
            transaction.sender.hex(),
            transaction.nonce,
            reason,
        )

    def clear(self) -> None:
        self.pending, self.awaiting_proofs = [], {}
        self._by_hash, self._by_sender = {}, {}

    def restore(
        self, pending: Sequence[SignedTransactionAPI], awaiting_proofs: Dict[bytes, ProofsMissing]
    ) -> None:
        """
        The pool as it was with ``pending`` waiting (a snapshot's, on the
        state they were accepted on), those of ``awaiting_proofs`` waiting for
        proofs: taken back as they were, unchecked.
        """
        self.clear()
        self.pending = list(pending)
        self.awaiting_proofs = dict(awaiting_proofs)
        for transaction in pending:
            self._index(transaction)
