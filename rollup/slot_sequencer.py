"""
The sequencer of a synchronously composable rollup, slot by slot.

- Every L2 block it mines is certified by the committee, and every
  transaction in it preconfirmed (a signed promise of its block and index),
  the moment the block is mined: blocks come as transactions arrive.
- Each slot it settles its certified blocks on L1 (``Sequencing.settle_sequenced``)
  and then releases a slot-ending certificate over the L2 head, naming the
  L1 slot S whose block may hold a based block built on it and that block's
  L1 parent P. Until slot S's L1 block is in, it sequences nothing more: a
  block on the slot-ending one could be orphaned by the based block, and a
  preconfirmation in it broken.
- It follows L1: a based block that landed is taken into the L2 chain; one
  whose L1 block was reverted is taken out again, with everything built on
  it; when L1 says based mode (no L2 block settled for more than
  FALLBACK_SLOTS slots), the unsettled blocks are dropped and their
  preconfirmations void, and it sequences nothing until a based block lands.
"""

import threading
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, ClassVar, Dict, List, Optional, Tuple

from eth.abc import BlockAPI, SignedTransactionAPI
from eth_abi import decode as abi_decode
from eth_abi.exceptions import DecodingError as EthAbiDecodingError
from web3.exceptions import TransactionNotFound

from contracts import compile_contract
from l1.builder import run_block
from l1.rpc.params import BYTES32, DATA, Param, list_of, method
from precompile.encoding import DecodingError, decode
from precompile.execute import EXECUTE_CUMULATIVE_GAS_LIMIT
from precompile.payload import new_payload_request_to_block
from precompile.ssz import StatelessInput

from .certificates import (
    SEQUENCED,
    SLOT_ENDING,
    Certificate,
    Committee,
    Preconfirmation,
    certify,
    preconfirm,
)
from .l1_contract import L1Contract, RollupError
from .sequencer import Sequencer, settlement_gas

# Where in its slot the sequencer releases the slot-ending block, by default.
DEFAULT_SLOT_ENDING_AT = 2 / 3
# Sequencing blocks: at most one per this many seconds, on a cadence.
DEFAULT_BLOCK_INTERVAL = 0.25
CADENCE_POLL = 0.002
# Sequencing.settle_sequenced besides advance: the certificate's ECRECOVERs and the calldata copy.
CERTIFICATE_GAS = 200_000
# What a based block's L1 actions may use beside settling its L2 block.
BASED_ACTIONS_GAS = 2_000_000
# An L2 block's encoded EXECUTE input, for planning L1 gas (a few transfers: 4-8 KB).
TYPICAL_INPUT_BYTES = 8192
SEQUENCED_MODE, BASED_MODE = 0, 1
MODE_NAMES = {SEQUENCED_MODE: "sequenced", BASED_MODE: "based"}


@dataclass(frozen=True)
class LandedBlock:
    """A based block as L1 holds it."""

    l2_number: int
    l2_hash: bytes
    slot: int
    l1_number: int
    l1_hash: bytes
    transaction_hash: bytes


@dataclass
class SlotSequencer(Sequencer):
    cursor_owners: ClassVar[Tuple[str, ...]] = (*Sequencer.cursor_owners, "sequencing", "committee")

    sequencing: Optional[L1Contract] = None
    committee: Optional[Committee] = None
    # The L1 slot of the L1 head the blocks being sequenced see (certificates and
    # preconfirmations name it; the next L1 block is in it or a later one).
    slot: int = 0
    # Certificates of the blocks mined here, by block hash; slot-ending ones by slot.
    certificates: Dict[bytes, Certificate] = field(default_factory=dict)
    slot_ending: Dict[int, Certificate] = field(default_factory=dict)
    # Preconfirmations by transaction hash, with the hash of the block they promise.
    preconfirmations: Dict[bytes, Tuple[Preconfirmation, bytes]] = field(default_factory=dict)
    # Transactions whose preconfirmation no longer holds, and why.
    voided: Dict[bytes, str] = field(default_factory=dict)
    landed: Dict[int, LandedBlock] = field(default_factory=dict)
    mode: int = SEQUENCED_MODE
    # Whether sequencing waits for the L1 block of a slot it ended.
    waiting_for_l1: bool = False
    # The last L2 block sent to settle_sequenced (its receipt may still be to come).
    # The point of its slot (a fraction) at which the service ends the slot.
    slot_ending_at: float = DEFAULT_SLOT_ENDING_AT
    # Sequencing blocks come as transactions arrive, at most one per this many
    # seconds (``run_cadence``); 0: one per arriving transaction (automine).
    block_interval: float = 0.0
    # Sequencing blocks so far in the slot being sequenced (capped: blocks_per_slot).
    blocks_this_slot: int = 0
    _sent_through: int = 0
    # The L1 transaction that carries each L2 block sent to settle and not yet settled.
    _settling: Dict[int, bytes] = field(default_factory=dict)
    _landed_from: int = 0
    _importing: Optional[bytes] = None
    _blocks_per_slot: Optional[int] = None
    # On a cadence, transactions are preconfirmed as they arrive, into the open
    # block (its parent and timestamp fixed when it opened), sealed each interval.
    admitting: bool = False
    _open: List[SignedTransactionAPI] = field(default_factory=list)
    _open_parent: bytes = b""
    _open_timestamp: int = 0
    _promised_open: Dict[bytes, Preconfirmation] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.l2.block_listeners.append(self._block_mined)
        self.l2.transaction_listeners.append(self._transaction_arrived)
        self._landed_from = self.rollup.l1.eth.block_number + 1

    # -- sequencing --

    def _block_mined(self, block: BlockAPI) -> None:
        """Certify a block mined here and preconfirm its transactions (a based one is not ours)."""
        if block.hash == self._importing:
            return
        certificate = certify(
            self.committee, self.l2.chain_id, self.sequencing.address, SEQUENCED, block.hash,
            block.number, self.slot,
        )
        self.certificates[block.hash] = certificate
        self.blocks_this_slot += 1
        if self.blocks_this_slot >= self.blocks_per_slot():
            self.l2.set_automine(False)  # the rest wait for the next slot
        signer = self.committee.signers[0]
        for index, transaction in enumerate(block.transactions):
            promise = self._promised_open.pop(transaction.hash, None)
            if promise is None or (promise.block_number, promise.index) != (block.number, index):
                promise = preconfirm(
                    signer, self.l2.chain_id, transaction.hash, block.number, index, self.slot
                )
            self.preconfirmations[transaction.hash] = (promise, block.hash)
            self.voided.pop(transaction.hash, None)

    def blocks_per_slot(self) -> int:
        """
        The most sequencing blocks one slot may have: every one must settle in
        the slot's L1 block before a based block can build on the last, and
        each is an EXECUTE call charged its L2 gas limit, within L1's cap on
        that sum and L1's block gas limit (with room for the based block).
        """
        if self._blocks_per_slot is None:
            l2_gas_limit = self.l2.config.gas_limit
            by_execute = EXECUTE_CUMULATIVE_GAS_LIMIT // l2_gas_limit - 1
            settling = settlement_gas(self.l2, bytes(TYPICAL_INPUT_BYTES)) + CERTIFICATE_GAS
            l1_gas_limit = self.rollup.l1.eth.get_block("latest").gasLimit
            by_gas = (l1_gas_limit - settling - BASED_ACTIONS_GAS) // settling
            self._blocks_per_slot = max(1, min(by_execute, by_gas))
        return self._blocks_per_slot

    # -- preconfirming at admission --

    def _transaction_arrived(self, transaction: SignedTransactionAPI) -> None:
        """A transaction joined the L2 pool (under its lock): promise it a place if it runs."""
        if self.admitting and self._can_admit():
            self._admit(transaction)

    def _can_admit(self) -> bool:
        return (
            not self.waiting_for_l1 and self.mode == SEQUENCED_MODE
            and self.blocks_this_slot < self.blocks_per_slot()
        )

    def _admit(self, transaction: SignedTransactionAPI) -> bool:
        """
        Run the open block with ``transaction`` appended; if it runs, promise
        the transaction that index of the next block. If not (a nonce ahead,
        funds short), it waits in the pool, unpromised, for a later block.
        """
        head = self.l2.head()
        if self._open_parent != head.hash:  # a new open block on the head
            self._open, self._open_parent = [], head.hash
            self._open_timestamp = max(int(time.time()) + self.l2.time_offset, head.timestamp + 1)
        candidate = self._open + [transaction]
        try:
            self._run_open(candidate)
        except Exception:  # it cannot run there (now); the pool keeps it
            return False
        self._open = candidate
        self._promised_open[transaction.hash] = preconfirm(
            self.committee.signers[0], self.l2.chain_id, transaction.hash,
            head.block_number + 1, len(candidate) - 1, self.slot,
        )
        return True

    def _run_open(self, transactions: List[SignedTransactionAPI]):
        return run_block(
            self.l2.chain, transactions, timestamp=self._open_timestamp,
            parent_beacon_block_root=self.l2.parent_beacon_block_root,
            gas_limit=self.l2.config.gas_limit,
            parent_state_root=self.l2.backend.head_state_root,
        )

    def seal(self, readmit: bool = True) -> Optional[BlockAPI]:
        """
        Mine the open block exactly as promised; then (``readmit``) promise
        what still waits into the next one. None if nothing was open.
        """
        with self.l2.lock:
            sealed = None
            if self._open and self._open_parent == self.l2.head().hash:
                sealed = self.l2.import_block(self._run_open(self._open).block)
            self._open, self._open_parent = [], b""
            for promised in list(self._promised_open):  # an open block that lost its parent
                self._void(promised, "its block's parent changed before it was sealed")
            if readmit:
                self._admit_pending()
            return sealed

    def _admit_pending(self) -> None:
        """Promise what waits in the pool, in arrival order, as far as the open block takes it."""
        with self.l2.lock:
            if self.admitting and self._can_admit():
                for transaction in list(self.l2.pending):
                    self._admit(transaction)

    def _void(self, transaction_hash: bytes, why: str) -> None:
        self._promised_open.pop(transaction_hash, None)
        self.voided[transaction_hash] = why

    def take_in_messages(self) -> Optional[int]:
        """The open block goes first: the relay's block builds on it; then promises again."""
        if not self.admitting:
            return super().take_in_messages()
        self.seal(readmit=False)
        try:
            return super().take_in_messages()
        finally:
            self._admit_pending()

    def run_cadence(self, stopped: threading.Event, interval: Optional[float] = None):
        """
        Sequence on a cadence until ``stopped``: every transaction is
        preconfirmed as it arrives, into the open block, and the open block is
        sealed at most once per ``interval`` seconds (and when the slot ends);
        nothing is promised while the slot waits for L1, in based mode, or
        once the slot has all the blocks its L1 block can settle. The
        default interval spreads those blocks over the slot (at least 250 ms).
        """
        if interval is None:
            slot_time = self.sequencing.view("slot_time")
            interval = max(DEFAULT_BLOCK_INTERVAL, slot_time / self.blocks_per_slot())
        self.block_interval = interval
        with self.l2.lock:
            self.l2.set_automine(False)
            self.admitting = True
        self._admit_pending()
        last = time.monotonic()
        try:
            while not stopped.wait(CADENCE_POLL):
                if time.monotonic() - last < interval or not self._open:
                    continue
                with self.l2.lock:
                    if not self._can_admit():
                        continue
                    self.seal()
                last = time.monotonic()
        finally:
            # What was promised holds: the open block is sealed as promised before
            # the node goes back to mining a block per transaction.
            with self.l2.lock:
                self.seal(readmit=False)
                self.admitting = False

    def _sequence_pending(self) -> None:
        """Start the slot: automine again, or on a cadence promise what waited; a block of it."""
        if self.admitting:
            self._admit_pending()
            return
        self.l2.set_automine(True)
        if self.l2.pending:
            self.l2.mine()

    def preconfirmation(self, transaction_hash: bytes) -> Optional[Preconfirmation]:
        """The promise for a transaction, if it still holds (its block is on the L2 chain)."""
        if transaction_hash in self._promised_open:
            return self._promised_open[transaction_hash]
        found = self.preconfirmations.get(transaction_hash)
        if found is None:
            return None
        promise, block_hash = found
        if promise.block_number > self.l2.head().block_number:
            return None
        if self.l2.block(promise.block_number).hash != block_hash:
            return None
        return promise

    # -- settling --

    def submit(self, number: int, encoded_input: Optional[bytes] = None, sender: str = None):
        """Settle L2 block ``number`` under its certificate; the L1 transaction hash."""
        block = self.l2.block(number)
        certificate = self.certificates.get(block.hash)
        if certificate is None:  # mined before this sequencer took over: certify it now
            self._block_mined(block)
            certificate = self.certificates[block.hash]
        data = encoded_input if encoded_input is not None else self.stateless_input(number)
        sent = self.sequencing.send(
            "settle_sequenced", data, certificate.as_struct(), sender=sender or self.address,
            gas=settlement_gas(self.l2, data) + CERTIFICATE_GAS,
        )
        self._sent_through = max(self._sent_through, number)
        self._settling[number] = bytes(sent)
        return sent

    def settle(self) -> List[int]:
        """
        Send every certified L2 block L1 has not settled (nor been sent) to
        ``settle_sequenced``; their numbers. In slot mode they land with the
        slot's L1 block, in order (one sender, consecutive nonces). A block
        whose settlement L1 lost (its chain went back) or refused is sent
        again, with every one after it.
        """
        if self.mode == BASED_MODE:
            return []
        settled = self.rollup.view("head_number")
        self._resend_lost_settlements(settled)
        first = max(settled, self._sent_through) + 1
        numbers = list(range(first, self.l2.head().block_number + 1))
        for number in numbers:
            self.submit(number)
        return numbers

    def _resend_lost_settlements(self, settled: int) -> None:
        """
        Forget what L1 settled; if the settlement of a later block sent is no
        longer on L1 (nor waiting there), or failed, send from that block on again.
        """
        self._settling = {n: sent for n, sent in self._settling.items() if n > settled}
        for number in range(settled + 1, self._sent_through + 1):
            sent = self._settling.get(number)
            if sent is None or self._settlement_lost(sent):
                self._sent_through = number - 1
                return

    def _settlement_lost(self, transaction_hash: bytes) -> bool:
        """Whether L1 neither holds nor waits on this settlement, or ran it and it failed."""
        eth = self.rollup.l1.eth
        try:
            return eth.get_transaction_receipt(transaction_hash).status != 1
        except TransactionNotFound:  # not mined (now): still waiting, or gone
            try:
                eth.get_transaction(transaction_hash)
            except TransactionNotFound:
                return True
            return False

    # -- slots --

    def latest_l1_slot(self) -> int:
        """The slot of the latest L1 block."""
        latest = self.rollup.l1.eth.get_block("latest")
        genesis, seconds = self.sequencing.view("slot_genesis"), self.sequencing.view("slot_time")
        return max(0, latest.timestamp - genesis) // seconds

    def next_l1_slot(self) -> int:
        """The slot after the latest L1 block's (the next block's, on an L1 in slot mode)."""
        return self.latest_l1_slot() + 1

    def end_slot(self, slot: Optional[int] = None) -> Optional[Certificate]:
        """
        Settle what is certified and release the slot-ending certificate of
        the L2 head for L1 slot ``slot`` (default: the next L1 block's) on the
        latest L1 block; sequencing waits until ``follow_l1`` sees that slot's
        L1 block. None in based mode (certificates do not count then).
        """
        if self.mode == BASED_MODE:
            return None
        slot = self.next_l1_slot() if slot is None else slot
        l1_parent = bytes(self.rollup.l1.eth.get_block("latest").hash)
        with self.l2.lock:
            # A block a transaction was promised goes in first; then nothing more.
            self.l2.mine_due()
            if self.admitting:
                self.seal(readmit=False)
            self.l2.set_automine(False)
            self.waiting_for_l1 = True
            head = self.l2.head()
        self.settle()  # outside the lock: transactions keep arriving (to wait) meanwhile
        certificate = certify(
            self.committee, self.l2.chain_id, self.sequencing.address, SLOT_ENDING, head.hash,
            head.block_number, slot, l1_parent,
        )
        self.slot_ending[slot] = certificate
        return certificate

    def follow_l1(self) -> None:
        """
        After an L1 block: take reverted based blocks out of the L2 chain,
        take the newly landed ones in, read the mode, and start sequencing
        the next slot (with what arrived meanwhile) unless in based mode.
        """
        self._undo_reverted()
        for landed in self._newly_landed():
            self._take_in(landed)
        if self.sequencing.view("mode") == BASED_MODE:
            self._fall_back()
        else:
            self.mode = SEQUENCED_MODE
        self.slot = self.latest_l1_slot()
        self.blocks_this_slot = 0
        self.waiting_for_l1 = False
        if self.mode == SEQUENCED_MODE:
            self._sequence_pending()

    def _newly_landed(self) -> List[LandedBlock]:
        latest = self.rollup.l1.eth.block_number
        if self._landed_from > latest:  # no new L1 block (or fewer, after a revert)
            self._landed_from = min(self._landed_from, latest + 1)
            return []
        events = self.sequencing.events("BasedBlockLanded", self._landed_from, latest)
        self._landed_from = latest + 1
        return [
            LandedBlock(
                event.args.number, bytes(event.args.block_hash), event.args.slot,
                event.blockNumber, bytes(event.blockHash), bytes(event.transactionHash),
            )
            for event in events
        ]

    def _take_in(self, landed: LandedBlock) -> None:
        """
        Put a based block L1 holds into the L2 chain (on its parent: later
        blocks go), with the blocks its calls into L2 settled after it.
        """
        blocks = self.based_blocks_of(landed.transaction_hash, landed.l1_number)
        first = blocks[0]
        parent = first.number - 1
        if self.l2.head().block_number > parent or self.l2.head().hash != first.header.parent_hash:
            self._drop_after(parent, "a based block landed on L1 in its place")
        for block in blocks:
            self._importing = block.hash
            try:
                self.l2.import_block(block)
            finally:
                self._importing = None
        self.landed[landed.l2_number] = landed
        self.messages_taken_in = self.rollup.view("messages_anchored")
        last = blocks[-1]
        self.l2.parent_beacon_block_root = last.header.parent_beacon_block_root
        self._sent_through = max(self._sent_through, last.number)

    def based_blocks_of(self, transaction_hash: bytes, l1_number: int) -> List[BlockAPI]:
        """
        Every L2 block an L1 transaction holding a based block settled, in
        order (the based block, then those of its calls into L2), checked
        against the transaction's BlockSettled logs. Read from the
        ``build_based`` calldata when the transaction is that call and says
        it plainly; else (a contract landing it, an encoding only the EVM
        takes) from the inputs of the transaction's ``advance`` calls that
        succeeded, as L1 ran them.
        """
        settled = [
            bytes(event.args.block_hash)
            for event in self.rollup.events("BlockSettled", l1_number, l1_number)
            if bytes(event.transactionHash) == bytes(transaction_hash)
        ]
        blocks = self._blocks_from_calldata(transaction_hash, len(settled))
        if blocks is None or [block.hash for block in blocks] != settled:
            blocks = self._blocks_from_trace(transaction_hash)
        if not settled or [block.hash for block in blocks] != settled:
            raise RollupError(
                f"L1 transaction 0x{bytes(transaction_hash).hex()} settled L2 blocks its"
                " advance calls do not show"
            )
        return blocks

    def _blocks_from_calldata(self, transaction_hash: bytes, settled: int):
        """
        The based block and the first ``settled - 1`` entries of its table
        (L1 consumes them in order; the rest may hold anything), from a
        ``build_based`` transaction's calldata; None if it is not one or does
        not decode strictly.
        """
        transaction = self.rollup.l1.eth.get_transaction(transaction_hash)
        if transaction.to != self.sequencing.address:
            return None
        try:
            _, arguments = self.sequencing.contract.decode_function_input(bytes(transaction.input))
            blocks = [self._block_of(bytes(arguments["stateless_input"]))]
            calls = bytes(arguments["calls"])
            if calls and settled > 1:
                _, table = self.cross_calls_abi.decode_function_input(calls)
                blocks += [
                    self._block_of(bytes(entry["stateless_input"]))
                    for entry in table["entries"][:settled - 1]
                ]
        except (DecodingError, EthAbiDecodingError, ValueError):
            return None
        return sorted(blocks, key=lambda block: block.number)

    def _blocks_from_trace(self, transaction_hash: bytes) -> List[BlockAPI]:
        """The L2 blocks of the ``advance`` calls that succeeded in an L1 transaction, in order."""
        hash_hex = "0x" + bytes(transaction_hash).hex()
        traced = self.rollup.l1.provider.make_request(
            "debug_traceTransaction", [hash_hex, {"tracer": "callTracer"}]
        )
        if "result" not in traced:
            raise RollupError(f"cannot trace L1 transaction {hash_hex}: {traced.get('error')}")
        rollup = self.rollup.address.lower()
        selector = self.rollup.compiled.selector("advance")
        blocks = []

        def visit(frame):
            if frame.get("error"):  # it and everything under it were undone
                return
            called = bytes.fromhex(frame.get("input", "0x")[2:])
            if (frame.get("to") or "").lower() == rollup and called[:4] == selector:
                (stateless_input,) = abi_decode(["bytes"], called[4:], strict=False)
                blocks.append(self._block_of(bytes(stateless_input)))
            for child in frame.get("calls", []):
                visit(child)

        visit(traced["result"])
        return blocks

    @cached_property
    def cross_calls_abi(self):
        """CrossCalls' ABI, to read the execution table a based block carries."""
        return self.rollup.l1.eth.contract(abi=compile_contract("CrossCalls").abi)

    def _block_of(self, encoded_input: bytes) -> BlockAPI:
        stateless_input = decode(encoded_input, StatelessInput)
        return new_payload_request_to_block(
            stateless_input.new_payload_request, self.l2.vm_class
        )

    def _undo_reverted(self) -> None:
        """Drop the based blocks whose L1 block is no longer on L1, and what came after them."""
        for number in sorted(self.landed):
            landed = self.landed[number]
            found = self._l1_block(landed.l1_number)
            if found is not None and bytes(found.hash) == landed.l1_hash:
                continue
            self._drop_after(number - 1, "the L1 block holding a based block it built on is gone")
            self._landed_from = min(self._landed_from, landed.l1_number)
            self.messages_taken_in = self.rollup.view("messages_anchored")
            self.l2.parent_beacon_block_root = self.rollup.view(
                "queue_hash", self.messages_taken_in
            )
            self._sent_through = self.rollup.view("head_number")
            return

    def _l1_block(self, number: int):
        if number > self.rollup.l1.eth.block_number:
            return None
        return self.rollup.l1.eth.get_block(number)

    def _drop_after(self, number: int, why: str) -> None:
        """L2 blocks past ``number`` go; their transactions are void and wait again."""
        dropped = self.l2.rewind(number)
        for gone in [n for n in self.landed if n > number]:
            del self.landed[gone]
        with self.l2.automine_paused():
            for transaction in dropped:
                self.voided[transaction.hash] = why
                if transaction.sender != self.key.address:
                    self.l2.send_transaction(transaction)

    def _fall_back(self) -> None:
        """Based mode: what L1 has not settled is void; anyone builds on the settled head."""
        if self.mode != BASED_MODE:
            settled = self.rollup.view("head_number")
            self._drop_after(
                settled,
                "the rollup fell back to based mode: preconfirmations since the last settled"
                " block are void",
            )
            self.messages_taken_in = self.rollup.view("messages_anchored")
            self.l2.parent_beacon_block_root = self.rollup.view(
                "queue_hash", self.messages_taken_in
            )
            self._sent_through = settled
        self.mode = BASED_MODE
        self.l2.set_automine(False)

    # -- what the node says --

    def slot_status(self) -> Dict[str, Any]:
        latest = self.rollup.l1.eth.get_block("latest")
        settled = self.rollup.view("head_number")
        ending = max(self.slot_ending, default=None)
        based = max(self.landed, default=None)
        return {
            "slot": hex(self.slot),
            "l1Parent": "0x" + bytes(latest.hash).hex(),
            "mode": MODE_NAMES[self.mode],
            "waitingForL1": self.waiting_for_l1,
            "l2Head": hex(self.l2.head().block_number),
            "settledHead": hex(settled),
            "lastSlotEnding": None if ending is None else self.slot_ending[ending].as_json(),
            "lastBased": None if based is None else {
                "blockNumber": hex(based),
                "blockHash": "0x" + self.landed[based].l2_hash.hex(),
                "slot": hex(self.landed[based].slot),
                "l1Block": hex(self.landed[based].l1_number),
            },
        }


class SlotNamespace:
    """
    ``nr_sendRawTransaction``, ``nr_getPreconfirmation``, ``nr_slotStatus``
    and ``nr_buildBasedBlock`` on a composable rollup's L2 endpoint.
    """

    def __init__(self, sequencer: SlotSequencer, build_based: Callable[[list], Dict]) -> None:
        self.sequencer = sequencer
        self.build_based = build_based

    @method(Param("transactions", list_of(DATA), []))
    def nr_buildBasedBlock(self, transactions: List[bytes]) -> Dict[str, Any]:
        """
        A based block of these signed L2 transactions on the latest slot-ending
        block (in based mode, on the settled head), built by this node for a
        caller to land on L1 (``Sequencing.build_based``): its EXECUTE input
        and the certificate to send with it.
        """
        return self.build_based(transactions)

    @method(Param("hash", BYTES32))
    def nr_getPreconfirmation(self, transaction_hash: bytes) -> Optional[Dict[str, Any]]:
        """The transaction's preconfirmation; null if none holds (never given, or void)."""
        promise = self.sequencer.preconfirmation(transaction_hash)
        if promise is None:
            void = self.sequencer.voided.get(transaction_hash)
            return None if void is None else {"void": void}
        return promise.as_json()

    @method(Param("data", DATA))
    def nr_sendRawTransaction(self, encoded: bytes) -> Dict[str, Any]:
        """
        eth_sendRawTransaction that answers with the preconfirmation at once:
        the transaction's block is mined before the answer (null while the
        slot waits for L1, or in based mode: poll nr_getPreconfirmation).
        """
        l2 = self.sequencer.l2
        transaction_hash = l2.send_raw_transaction(encoded)
        l2.mine_due()
        promise = self.sequencer.preconfirmation(transaction_hash)
        return {
            "transactionHash": "0x" + transaction_hash.hex(),
            "preconfirmation": None if promise is None else promise.as_json(),
        }

    @method()
    def nr_slotStatus(self) -> Dict[str, Any]:
        return self.sequencer.slot_status()
