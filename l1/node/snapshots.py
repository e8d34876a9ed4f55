"""
Going back in a devnet's history: evm_snapshot and evm_revert (anvil's
semantics), and rewinding to an earlier block (a reorg on a devnet).
"""

from typing import List, NamedTuple

from eth.abc import SignedTransactionAPI

from .backend import ChainBackend
from .clock import Clock
from .pool import TransactionPool


class Snapshot(NamedTuple):
    block_number: int
    block_hash: bytes
    time_offset: int
    head_state_root: bytes


class Snapshots:
    """The snapshots taken, oldest first; an id is a position in that list."""

    def __init__(self, backend: ChainBackend, pool: TransactionPool, clock: Clock) -> None:
        self.backend, self.pool, self.clock = backend, pool, clock
        self.taken: List[Snapshot] = []

    def clear(self) -> None:
        self.taken = []

    def take(self) -> int:
        """evm_snapshot: an id to return to this head, this state and this clock."""
        head = self.backend.head()
        self.taken.append(
            Snapshot(head.block_number, head.hash, self.clock.offset, self.backend.head_state_root)
        )
        return len(self.taken) - 1

    def revert(self, snapshot_id: int) -> bool:
        """evm_revert: back to the snapshot; it and later ones are gone, and so is the pool."""
        if not 0 <= snapshot_id < len(self.taken):
            return False
        snapshot = self.taken[snapshot_id]
        del self.taken[snapshot_id:]
        self.clock.offset = snapshot.time_offset
        self._go_back(snapshot.block_number, snapshot.block_hash, snapshot.head_state_root)
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
