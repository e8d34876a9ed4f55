"""The devnet's clock: how far evm_increaseTime moved it, and the timestamp the next block takes."""

import time
from typing import Optional

from ..interface import InvalidArgument

# A header's timestamp is a uint64: a block at or past this could never be encoded
# for EXECUTE or imported elsewhere.
TIMESTAMP_LIMIT = 2**64
# The latest time a client may move the clock to: blocks need strictly later
# timestamps, so a clock set at the limit would leave no block minable after it.
# This leaves room for 2**32 more one-second blocks.
LATEST_SETTABLE_TIME = TIMESTAMP_LIMIT - 1 - 2**32


class Clock:
    def __init__(self) -> None:
        # Seconds the clock runs ahead of the wall clock (evm_increaseTime).
        self.offset = 0
        # The timestamp the next block takes (evm_setNextBlockTimestamp), once.
        self.next_timestamp: Optional[int] = None

    def reset(self) -> None:
        self.offset, self.next_timestamp = 0, None

    def block_timestamp(self, parent_timestamp: int, requested: Optional[int] = None) -> int:
        """
        The next block's timestamp: ``requested``, else the one set for it
        (used up), else the clock's time; always after its parent's.
        """
        if requested is None and self.next_timestamp is not None:
            requested, self.next_timestamp = self.next_timestamp, None
        return self.upcoming_timestamp(parent_timestamp, requested)

    def upcoming_timestamp(self, parent_timestamp: int, requested: Optional[int] = None) -> int:
        """The timestamp the next block would take, the one set for it left in place."""
        if requested is None:
            requested = self.next_timestamp
        if requested is None:
            requested = int(time.time()) + self.offset
        timestamp = max(requested, parent_timestamp + 1)
        if timestamp >= TIMESTAMP_LIMIT:
            raise InvalidArgument(f"a block timestamp must be below 2**64, got {timestamp}")
        return timestamp

    def increase(self, seconds: int, head_timestamp: int) -> int:
        """
        evm_increaseTime: the clock jumps ``seconds`` ahead; the total offset.
        Blocks here keep strictly increasing timestamps (anvil lets them
        repeat), so the next block is also held to at least the head's time
        plus ``seconds``.
        """
        if max(head_timestamp, int(time.time()) + self.offset) + seconds > LATEST_SETTABLE_TIME:
            raise InvalidArgument(
                f"the clock cannot move {seconds} s ahead: it would leave no room for the"
                " blocks after (block timestamps stay below 2**64)"
            )
        self.offset += seconds
        self.next_timestamp = max(self.next_timestamp or 0, head_timestamp + seconds)
        return self.offset

    def set_next_timestamp(self, timestamp: int, head_timestamp: int) -> None:
        """evm_setNextBlockTimestamp: the next block's timestamp, which must follow the head's."""
        if timestamp <= head_timestamp:
            raise InvalidArgument(f"timestamp {timestamp} is not after the head's")
        if timestamp > LATEST_SETTABLE_TIME:
            raise InvalidArgument(
                f"timestamp {timestamp} would leave no room for the blocks after it: the latest"
                f" a block may be set to is {LATEST_SETTABLE_TIME} (2**64 - 2**32 - 1)"
            )
        self.next_timestamp = timestamp
