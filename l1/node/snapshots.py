"""
Going back in a devnet's history: evm_snapshot and evm_revert (anvil's
semantics), and rewinding to an earlier block (a reorg on a devnet).
"""

from typing import Any, Dict, List, NamedTuple, Optional, Tuple

from eth.abc import SignedTransactionAPI

from .backend import ChainBackend
from .clock import Clock
from .pool import TransactionPool


class Snapshot(NamedTuple):
    block_number: int
    block_hash: bytes
    time_offset: int
    head_state_root: bytes
    # The timestamp set for the next block (evm_setNextBlockTimestamp, evm_increaseTime).
    next_timestamp: Optional[int]
    # The transactions waiting then, in the pool's order.
    pending: Tuple[SignedTransactionAPI, ...]
    # The base fee set for the next block (anvil_setNextBlockBaseFeePerGas), if any.
    next_base_fee: Optional[int]
    # Which of those transactions wait for proofs of their EXECUTE calls, and what they lack:
    # a block is mined for them when the proofs arrive.
    awaiting_proofs: Dict[bytes, Any]
    # The proof pool's payloads and proofs (``ProofPool.saved``): whether EXECUTE accepts an
    # L2 block in proofs mode depends on them as much as on the chain.
    proofs: tuple


class Snapshots:
    """
    The snapshots taken, by id. Ids count up from 0 and are never reused, as
    anvil numbers them: after a revert the next snapshot gets a new id.
    """

    def __init__(
        self, backend: ChainBackend, pool: TransactionPool, clock: Clock, proof_pool
    ) -> None:
        self.backend, self.pool, self.clock, self.proof_pool = backend, pool, clock, proof_pool
        self.taken: Dict[int, Snapshot] = {}
        self.next_id = 0

    def clear(self) -> None:
        self.taken = {}

    def take(self) -> int:
        """
        evm_snapshot: an id to return to this head, this state, this clock,
        these pending transactions (as hardhat keeps them), the base fee set
        for the next block and the proofs held.
        """
        snapshot_id, self.next_id = self.next_id, self.next_id + 1
        self.taken[snapshot_id] = self._now(self.proof_pool.saved())
        return snapshot_id

    def mark(self) -> Snapshot:
        """
        What a snapshot taken now would restore, as a value equal to another
        exactly when they restore the same: transactions by hash, the proof
        pool by its digest (no copy of it).
        """
        now = self._now(self.proof_pool.digest())
        return now._replace(
            pending=tuple(transaction.hash for transaction in now.pending),
            awaiting_proofs=frozenset(now.awaiting_proofs),
        )

    def _now(self, proofs) -> Snapshot:
        head = self.backend.head()
        return Snapshot(
            head.block_number, head.hash, self.clock.offset, self.backend.head_state_root,
            self.clock.next_timestamp, tuple(self.pool.pending), self.backend.controls.base_fee,
            dict(self.pool.awaiting_proofs), proofs,
        )

    def revert(self, snapshot_id: int) -> bool:
        """
        evm_revert: back to the snapshot, its clock, its pending
        transactions and its proofs; it and later snapshots are gone.
        """
        snapshot = self.taken.get(snapshot_id)
        if snapshot is None:
            return False
        self.taken = {key: kept for key, kept in self.taken.items() if key < snapshot_id}
        self.clock.offset, self.clock.next_timestamp = snapshot.time_offset, snapshot.next_timestamp
        self._go_back(snapshot.block_number, snapshot.block_hash, snapshot.head_state_root)
        self.pool.restore(snapshot.pending, snapshot.awaiting_proofs)
        self.proof_pool.restore(snapshot.proofs)
        self.backend.controls.base_fee = snapshot.next_base_fee
        return True

    def rewind(self, number: int) -> List[SignedTransactionAPI]:
        """
        Make block ``number`` the head again; the transactions of the dropped
        blocks, in order, for the caller to resend.
        """
        dropped = [
            transaction
            for later in range(number + 1, self.backend.head().block_number + 1)
            for transaction in self.backend.block(later).transactions
        ]
        header = self.backend.block(number).header
        self._go_back(number, header.hash, header.state_root)
        return dropped

    def _go_back(self, number: int, block_hash: bytes, state_root: bytes) -> None:
        self.backend.set_head(number, block_hash, state_root)
        self.pool.clear()
