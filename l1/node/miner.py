"""
Block production: when blocks are mined (automine, on an interval, deferred
past a transaction's answer, or on request) and what goes in them. A
transaction whose EXECUTE calls wait for proofs is left out of the block,
with its sender's later ones, until the proofs are in.
"""

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

from eth.abc import BlockAPI, SignedTransactionAPI

from prover.pool import ProofPool

from ..builder import (
    BuiltBlock,
    build_block_and_state,
    first_failing_transaction,
    run_block,
    scratch_chain,
)
from ..fork import AwaitingProofs
from ..interface import InvalidArgument
from .backend import ChainBackend
from .clock import Clock
from .pool import TransactionPool


class Miner:
    """Mines the pool's ready transactions onto the backend's chain; the caller holds the lock."""

    def __init__(
        self,
        backend: ChainBackend,
        pool: TransactionPool,
        clock: Clock,
        proof_pool: ProofPool,
        block_time: Optional[float],
    ) -> None:
        self.backend, self.pool, self.clock, self.proof_pool = backend, pool, clock, proof_pool
        self.automine = block_time is None
        # Seconds between interval-mined blocks; None or 0 mines no empty blocks on a timer.
        self.block_time: Optional[float] = block_time
        # Automine deferred (``deferred``) and a block due because of it.
        self._deferred = False
        self._block_due = False
        # Called with each new block (the server's subscriptions listen here).
        self.block_listeners: List[Callable[[BlockAPI], None]] = []
        # The parent_beacon_block_root of the blocks mined from now on. On an
        # L2 it is the L1 message-queue hash the chain has taken in (its anchor).
        self.parent_beacon_block_root = bytes(32)

    # -- modes --

    def set_interval(self, seconds: float) -> None:
        """
        evm_setIntervalMining: a block every ``seconds``, not one per
        transaction; 0 turns the timer off and mines nothing until asked
        (anvil's way: evm_setAutomine turns automine back on).
        """
        self.block_time = seconds or None
        self.automine = False

    def set_automine(self, enabled: bool) -> None:
        """evm_setAutomine: mine a block for each transaction, or only when asked."""
        self.automine = enabled

    @contextmanager
    def automine_paused(self):
        """Queue several transactions for one block: automine waits until the block is mined."""
        automine, self.automine = self.automine, False
        try:
            yield
        finally:
            self.automine = automine

    @contextmanager
    def deferred(self):
        """
        Within, automine notes that a block is due instead of mining it, and
        ``mine_due`` mines it. A server answers a transaction in between (it
        is accepted, which is when anvil answers too) while it holds the lock,
        so no later request sees the node before that block is in.
        """
        self._deferred = True
        try:
            yield
        finally:
            self._deferred = False

    def transaction_added(self) -> None:
        """A transaction joined the pool: under automine, its block (now, or due)."""
        if self.automine:
            if self._deferred:
                self._block_due = True
            else:
                self.mine()

    def mine_due(self) -> None:
        """Mine the block a deferred automine left due, if any."""
        if self._block_due:
            self.mine()  # which clears it

    def proofs_arrived(self) -> None:
        """Proofs completed some payload: under automine, a block for what waited for them."""
        if self.automine and self.pool.awaiting_proofs:
            self.mine()

    # -- blocks --

    def mine(self, blocks: int = 1, timestamp: Optional[int] = None) -> List[BlockAPI]:
        """Mine ``blocks`` blocks, the first holding the ready pending transactions."""
        self._block_due = False
        mined = []
        for _ in range(blocks):
            parent_timestamp = self.backend.head().timestamp
            built = self.build_next(self.clock.block_timestamp(parent_timestamp, timestamp))
            block = built.block
            self.pool.remove(block.transactions)
            self.backend.add_block(built)
            mined.append(block)
            timestamp = None
            for listener in self.block_listeners:
                listener(block)
        # Proofs held until their payload was seen (by the block just built) count now.
        if self.proof_pool.judge_held() and self.automine and self.pool.awaiting_proofs:
            mined += self.mine()
        return mined

    def import_block(self, block: BlockAPI) -> BlockAPI:
        """
        Take in a block built elsewhere on this chain's head (an L2 block a
        based builder landed on L1): run it as import does, and keep it only
        if it comes out as the very same block.
        """
        head = self.backend.head()
        if block.header.parent_hash != head.hash:
            raise InvalidArgument(
                f"block {block.number} does not build on the head ({head.block_number})"
            )
        header = block.header
        built = run_block(
            self.backend.chain, block.transactions, timestamp=header.timestamp,
            coinbase=header.coinbase, prev_randao=header.mix_hash,
            parent_beacon_block_root=header.parent_beacon_block_root,
            extra_data=header.extra_data, gas_limit=header.gas_limit,
            parent_state_root=self.backend.head_state_root,
        )
        if built.block.hash != block.hash:
            raise InvalidArgument(
                f"block {block.number} does not come out the same here (hash"
                f" 0x{built.block.hash.hex()}, not 0x{block.hash.hex()})"
            )
        self.backend.chain.chaindb.persist_block(built.block)
        self.pool.remove(built.block.transactions)
        self.backend.add_block(built)
        for listener in self.block_listeners:
            listener(built.block)
        return built.block

    def _next_header_fields(self, timestamp: int) -> dict:
        return dict(
            timestamp=timestamp,
            gas_limit=self.backend.config.gas_limit,
            parent_state_root=self.backend.head_state_root,
            parent_beacon_block_root=self.parent_beacon_block_root,
            **self.backend.controls.header_fields(),
        )

    def build_next(self, timestamp: int) -> BuiltBlock:
        """
        The next block, its state and receipts: every ready transaction
        except those whose EXECUTE calls wait for proofs (and their sender's
        later ones), which stay pending for a later block, and those the
        block cannot hold, which are dropped with the reason. A block is
        always built, empty if need be.
        """
        selected = self.select_next(self.backend.chain, timestamp, build_block_and_state)
        self.pool.awaiting_proofs.update(selected.awaiting_proofs)
        for transaction, reason in selected.dropped:
            self.pool.drop(transaction, reason)
        return selected.built

    def pending_block(self) -> Tuple[BuiltBlock, Any]:
        """
        The block the ready transactions would make next, run on a write
        buffer of the chain's database, and that buffer's chain: nothing of
        the chain, the pool or the clock changes.
        """
        chain = scratch_chain(self.backend.chain)
        timestamp = self.clock.upcoming_timestamp(self.backend.head().timestamp)
        return self.select_next(chain, timestamp, run_block).built, chain

    def select_next(self, chain, timestamp: int, build) -> "SelectedBlock":
        """
        The next block as ``build`` makes it on ``chain`` from the ready
        transactions, leaving out (not dropping: the caller decides) those
        that wait for proofs and those the block cannot hold.
        """
        transactions = self.pool.ready()
        header_fields = self._next_header_fields(timestamp)
        selected = SelectedBlock()
        while True:
            try:
                selected.built = build(chain, transactions, **header_fields)
                return selected
            except AwaitingProofs as waiting:
                held = waiting.transaction
                selected.awaiting_proofs[held.hash] = waiting.missing
                transactions = without_from(transactions, held)
            except Exception:
                found = first_failing_transaction(chain, transactions, **header_fields)
                if found is None:  # not a transaction's fault: the node's own
                    raise
                index, reason = found
                failing = transactions[index]
                selected.dropped.append((failing, describe_failure(reason)))
                transactions = without_from(transactions, failing)


@dataclass
class SelectedBlock:
    """A next block and what was left out of it: waiting for proofs, or dropped with a reason."""

    built: Optional[BuiltBlock] = None
    awaiting_proofs: Dict[bytes, Any] = field(default_factory=dict)
    dropped: List[Tuple[SignedTransactionAPI, str]] = field(default_factory=list)


def without_from(
    transactions: List[SignedTransactionAPI], left_out: SignedTransactionAPI
) -> List[SignedTransactionAPI]:
    """``transactions`` without ``left_out`` and its sender's later ones (a nonce gap now)."""
    return [
        t for t in transactions if not (t.sender == left_out.sender and t.nonce >= left_out.nonce)
    ]


def describe_failure(error: Exception) -> str:
    """Why a block could not hold a transaction, in a sentence (py-evm's words if it gave some)."""
    return str(error) or "it could not be executed"
