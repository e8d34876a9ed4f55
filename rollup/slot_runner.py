"""
Slots run one after another on an L1 in slot mode, with a composable rollup:
transactions sequenced and preconfirmed, the slot-ending certificate, a based
block built and landed (or not), the slot's L1 block, and the sequencer
following it. What happened in each slot is recorded, for the demo's
timeline and the benchmark's figures. The clock is either driven (each slot
at once, for demos and tests) or the wall clock (the benchmark).
"""

import time
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence

from eth.abc import SignedTransactionAPI

from l1.node import Devnet

from .based import BasedBlock, BasedBuilder
from .certificates import Certificate
from .composable import ComposableRollup
from .slot_sequencer import MODE_NAMES

# Compose a based block on a slot-ending certificate (None in based mode).
Composer = Callable[[BasedBuilder, Optional[Certificate]], BasedBlock]


@dataclass
class SlotRecord:
    slot: int
    l1_block: int = 0
    # The rollup's mode once the slot's L1 block is in.
    mode: str = "sequenced"
    sequenced: List[int] = field(default_factory=list)
    slot_ending: Optional[int] = None
    based: Optional[int] = None
    based_attempted: bool = False
    # A based block was built for this slot, and L1 took it in this slot's block.
    based_landed: bool = False
    based_gas: int = 0
    settled_head: int = 0
    l2_head: int = 0
    cross_domain: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)


class SlotRunner:
    def __init__(self, l1: Devnet, rollup: ComposableRollup, builder: BasedBuilder) -> None:
        self.l1, self.rollup, self.builder = l1, rollup, builder
        self.records: List[SlotRecord] = []

    @property
    def sequencer(self):
        return self.rollup.sequencer

    def run_slot(
        self,
        transactions: Sequence[SignedTransactionAPI] = (),
        build_based: bool = True,
        sequencer_live: bool = True,
        compose: Optional[Composer] = None,
        cross_domain: str = "",
        wait_until: Optional[Callable[[float], None]] = None,
        slot_ending_at: float = 2 / 3,
    ) -> SlotRecord:
        """
        One slot: ``transactions`` sequenced, the slot ended (unless the
        sequencer is down), a based block (``compose`` builds it; default:
        an empty one) landed unless ``build_based`` is off, then the slot's
        L1 block and the sequencer following it. ``wait_until(t)`` waits for
        wall-clock time ``t``; without it the slot runs at once.
        """
        slot = self.sequencer.next_l1_slot()
        record = SlotRecord(slot)
        start = self.rollup.slots.start_of(slot)
        seconds = self.rollup.slots.seconds
        before = self.rollup.l2.head().block_number
        # Sequenced and preconfirmed at once (a silent sequencer still does, but
        # settles nothing); in based mode they wait for a based block.
        for transaction in transactions:
            self.rollup.l2.send_transaction(transaction)
        if wait_until is not None:
            wait_until(start - seconds + slot_ending_at * seconds)
        certificate = self.sequencer.end_slot(slot) if sequencer_live else None
        record.sequenced = list(range(before + 1, self.rollup.l2.head().block_number + 1))
        if certificate is not None:
            record.slot_ending = certificate.block_number
        landing = None
        based_mode = self.rollup.sequencing.view("mode") == 1
        if build_based and (certificate is not None or based_mode):
            record.based_attempted = True
            if compose is not None:
                based = compose(self.builder, certificate)
            else:
                pending = [] if certificate is not None else list(self.rollup.l2.pending)
                based = self.builder.build(pending, slot_ending=certificate, slot=slot)
            landing = self.builder.land(based)
            if cross_domain:
                record.cross_domain.append(cross_domain)
        if wait_until is not None:
            wait_until(start)
        block = self.l1.mine_slot(slot)
        record.l1_block = block.number
        if landing is not None:
            self._landing_outcome(record, based, landing, block.number)
        was, voided = self.sequencer.mode, len(self.sequencer.voided)
        self.sequencer.follow_l1()
        if self.sequencer.mode != was:
            record.notes.append(f"mode: {MODE_NAMES[was]} -> {MODE_NAMES[self.sequencer.mode]}")
        if len(self.sequencer.voided) > voided:
            record.notes.append(
                f"{len(self.sequencer.voided) - voided} preconfirmation(s) void"
            )
        record.mode = MODE_NAMES[self.sequencer.mode]
        record.settled_head = self.rollup.contract.view("head_number")
        record.l2_head = self.rollup.l2.head().block_number
        self.records.append(record)
        return record


    def _landing_outcome(self, record: SlotRecord, based: BasedBlock, landing: bytes, l1_block):
        found = self.l1.receipt(landing)
        if found is None:
            record.notes.append("the based block missed the slot's L1 block (still pending)")
            return
        _, _, receipt = found
        receipt = self.rollup.l1.eth.get_transaction_receipt(landing)
        record.based_landed = receipt.status == 1 and receipt.blockNumber == l1_block
        record.based_gas = receipt.gasUsed
        if record.based_landed:
            record.based = based.block.number
        else:
            record.notes.append("L1 refused the based block")


def wall_clock_waiter(offset: float = 0.0) -> Callable[[float], None]:
    """Wait until wall-clock time ``t`` (L1 timestamps run ``offset`` seconds ahead)."""

    def wait_until(moment: float) -> None:
        delay = moment - (time.time() + offset)
        if delay > 0:
            time.sleep(delay)

    return wait_until
