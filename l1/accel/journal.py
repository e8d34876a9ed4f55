"""
py-evm's journal with its open checkpoints indexed.

py-evm's ``Journal`` keeps the open checkpoints in a list and looks a
checkpoint up by scanning it. Every call frame opens a checkpoint in the
account journal and in the storage journal of every account written so far,
and closing it asks each of them whether it holds the checkpoint. A chain of
1,024 nested CREATE2 calls that each write storage so does about a billion
list comparisons (``stCreate2/Create2Recursive``: some 200 s a case). Here
each journal also maps its open checkpoints to their place in the list: the
same answers, each in constant time.
"""

from typing import Dict, Optional

from eth.db.journal import Journal, JournalDB
from eth.typing import JournalDBCheckpoint
from eth_utils import ValidationError


class IndexedJournal(Journal):
    """A ``Journal`` whose open checkpoints are also kept by position."""

    def __init__(self) -> None:
        self._positions: Dict[JournalDBCheckpoint, int] = {}
        super().__init__()

    def has_checkpoint(self, checkpoint: JournalDBCheckpoint) -> bool:
        return checkpoint in self._positions

    def record_checkpoint(
        self, custom_checkpoint: Optional[JournalDBCheckpoint] = None
    ) -> JournalDBCheckpoint:
        checkpoint = super().record_checkpoint(custom_checkpoint)
        self._positions[checkpoint] = len(self._checkpoint_stack) - 1
        return checkpoint

    def commit_checkpoint(self, commit_to: JournalDBCheckpoint):
        position = self._positions.get(commit_to)
        if position is None:
            raise ValidationError(f"No checkpoint {commit_to} was found")
        if position == 0:
            raise ValidationError(
                "Should not commit root changeset with commit_changeset, use pop_all() instead"
            )
        self._close_from(position)
        return self._current_values

    def discard(self, through_checkpoint_id: JournalDBCheckpoint) -> None:
        position = self._positions.get(through_checkpoint_id)
        # Closed as py-evm's discard closes them: down to the checkpoint, or all of
        # them before it raises for a checkpoint it does not hold.
        closing = self._checkpoint_stack[position or 0 :]
        try:
            super().discard(through_checkpoint_id)
        finally:
            for checkpoint in closing:
                del self._positions[checkpoint]

    def pop_all(self):
        self._positions.clear()
        return super().pop_all()

    def _close_from(self, position: int) -> None:
        for checkpoint in self._checkpoint_stack[position:]:
            del self._positions[checkpoint]
        del self._checkpoint_stack[position:]


class IndexedJournalDB(JournalDB):
    """py-evm's ``JournalDB`` over an ``IndexedJournal``."""

    def __init__(self, wrapped_db) -> None:
        # py-evm's __init__ (at the verified version) with the indexed journal, built
        # once: a block opens several of these per account whose storage it touches.
        self._wrapped_db = wrapped_db
        self._journal = IndexedJournal()
        self.record = self._journal.record_checkpoint
        self.commit = self._journal.commit_checkpoint
        self.reset()
