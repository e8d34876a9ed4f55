"""
The L1 slot clock: slot ``s`` starts at ``genesis + s * seconds``, as the
beacon chain counts slots. In slot mode the devnet mines one block per slot,
at the slot's start, as a proposer would; the rules of based and sequenced
rollups (which block may land in which slot) read the slot of a block from
its timestamp.
"""

from dataclasses import dataclass

from ..interface import InvalidArgument

DEFAULT_SLOT_TIME = 12


@dataclass(frozen=True)
class SlotClock:
    genesis: int
    seconds: int = DEFAULT_SLOT_TIME

    def slot_of(self, timestamp: int) -> int:
        """The slot a block with ``timestamp`` belongs to (0 before genesis)."""
        return max(0, timestamp - self.genesis) // self.seconds

    def start_of(self, slot: int) -> int:
        """The timestamp of slot ``slot``'s block."""
        if slot < 0:
            raise InvalidArgument(f"slots count from 0, got {slot}")
        return self.genesis + slot * self.seconds
