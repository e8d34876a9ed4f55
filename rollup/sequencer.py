"""
The sequencer: takes L1 messages into L2 blocks, and settles L2 blocks on L1.

Taking in: the next L2 block anchors the L1 queue (its
parent_beacon_block_root is the queue hash up to the last message taken in),
and holds the bridge's ``relay`` of those messages plus every forced
transaction among them. Settling: each L2 block not yet on L1 is witnessed,
encoded as a ``StatelessInput`` and sent to ``NativeRollup.advance``, which
asks EXECUTE.
"""

import copy
import time
from dataclasses import dataclass, field, fields
from typing import ClassVar, List, Optional, Tuple

from eth.abc import SignedTransactionAPI
from eth.vm.forks.prague.transactions import PragueTransactionBuilder
from eth_keys import keys

from contracts import compile_contract
from l1.accounts import DevAccount
from l1.node import Devnet
from precompile.constants import FORK_PRAGUE
from precompile.encoding import encode
from precompile.execute import EXECUTE_BASE_GAS, EXECUTE_GAS_PER_INPUT_BYTE
from precompile.ssz import ChainConfig
from precompile.witness import prove_block

from .l1_contract import L1Contract, RollupError
from .l2 import L2_BRIDGE, account_proof

# advance() besides EXECUTE: the transaction, its calldata, the input's memory
# (about 0.16M), the queue checks and the writes: measured 0.35M for a 4 KB
# input; a block taking in forced transactions adds a second input-sized buffer.
ADVANCE_OVERHEAD_GAS = 1_500_000
# Per message, the queue hashing and bookkeeping; per deposit besides, the
# bounded call its recipient gets (L2Bridge.DEPOSIT_CALL_GAS, 100k, with the
# 64/63 margin and what follows the call).
RELAY_GAS_PER_MESSAGE = 45_000
RELAY_GAS_PER_DEPOSIT = 135_000
# NativeRollup.vy's limits on what one L2 block takes in.
MAX_MESSAGES_PER_BLOCK = 32
MAX_FORCED_PER_BLOCK = 1
RELAY_BASE_GAS = 100_000
# L1 -> L2 message kinds (NativeRollup.vy, L2Bridge.vy): a deposit, and a
# synchronous call from an L1 contract (execution_table.py).
DEPOSIT = 0
CALL = 2


@dataclass
class QueuedMessage:
    kind: int
    index: int
    sender: str
    recipient: str
    amount: int
    data_hash: bytes
    queue_hash: bytes
    # A forced transaction, decoded once when read from L1.
    transaction: Optional[SignedTransactionAPI] = None

    def as_struct(self) -> tuple:
        return (self.kind, self.index, self.sender, self.recipient, self.amount, self.data_hash)



@dataclass
class Sequencer:
    # The parts a sequencer works with, not where it stands: left out of its cursor.
    cursor_owners: ClassVar[Tuple[str, ...]] = ("rollup", "l2", "key")

    rollup: L1Contract
    l2: Devnet
    key: DevAccount
    # A censoring sequencer (for drills) stops taking in the queue at the
    # first forced transaction; wherever inclusion is forced, L1 refuses its
    # blocks once that transaction is overdue.
    ignores_forced: bool = False
    messages_taken_in: int = 0
    # Queued messages read from L1 logs and not yet anchored on L1, after the first _seen_from.
    _seen_messages: List[QueuedMessage] = field(default_factory=list)
    _seen_from: int = 0
    _next_l1_block: int = 0

    @property
    def address(self) -> str:
        return self.key.checksum_address

    def queued_messages(self) -> List[QueuedMessage]:
        """L1 messages this sequencer has not taken in yet, in queue order."""
        count = self.rollup.view("message_count")
        if count > len(self._seen_messages) + self._seen_from:
            self._read_new_messages()
        return [
            message for message in self._seen_messages
            if message.index > self.messages_taken_in
        ]

    def _read_new_messages(self) -> None:
        """Read the queue's logs from where the last read stopped (not from L1 genesis)."""
        latest = self.rollup.l1.eth.block_number
        first, self._next_l1_block = self._next_l1_block, latest + 1
        builder = self.l2.vm_class.get_transaction_builder()
        forced = {
            event.args.index: builder.decode(bytes(event.args.transaction))
            for event in self.rollup.events("ForcedTransactionQueued", first, latest)
        }
        # The cursor reads each L1 block once, so every message here is new.
        self._seen_messages += [
            QueuedMessage(
                event.args.kind, event.args.index, event.args.sender, event.args.recipient,
                event.args.amount, bytes(event.args.data_hash), bytes(event.args.queue_hash),
                forced.get(event.args.index),
            )
            for event in self.rollup.events("MessageQueued", first, latest)
        ]
        # L1 never asks for messages before its anchor again: forget them.
        anchored = self.rollup.view("messages_anchored")
        self._seen_messages = [m for m in self._seen_messages if m.index > anchored]
        self._seen_from = anchored

    def take_in_messages(self) -> Optional[int]:
        """Mine an L2 block taking in the queued L1 messages; its number, or None if none."""
        messages = one_block_of(self.queued_messages())
        if self.ignores_forced:
            first_forced = next((m for m in messages if m.transaction is not None), None)
            if first_forced is not None:
                messages = [m for m in messages if m.index < first_forced.index]
        if not messages:
            return None
        forced = self._includable(messages)
        l2 = self.l2
        anchor_before = l2.parent_beacon_block_root
        with l2.automine_paused():
            timestamp = max(int(time.time()) + l2.time_offset, l2.head().timestamp + 1)
            # A forced transaction goes first: it runs on the parent's (settled)
            # state, on which L1 judges whether it may be skipped.
            for transaction in forced:
                l2.send_transaction(transaction, first=True)
            relay = self._relay_transaction(messages, timestamp)
            l2.send_transaction(relay)
            l2.parent_beacon_block_root = messages[-1].queue_hash
            block = l2.mine(timestamp=timestamp)[0]
        failure = relay_failure(l2, relay.hash)
        if failure is not None:
            self._undo_block(block.number, anchor_before, relay.hash)
            raise RollupError(
                f"relaying L1 messages {messages[0].index}-{messages[-1].index} failed on L2"
                f" ({failure}); the block anchoring them is undone so that no deposit is"
                " anchored unpaid"
            )
        self.messages_taken_in = messages[-1].index
        return block.number

    def _undo_block(self, number: int, anchor: bytes, relay_hash: bytes) -> None:
        """Drop L2 block ``number`` and its anchor; its other transactions go back in."""
        dropped = self.l2.rewind(number - 1)
        self.l2.parent_beacon_block_root = anchor
        for transaction in dropped:
            if transaction.hash != relay_hash:
                self.l2.send_transaction(transaction)

    def _includable(self, messages: List[QueuedMessage]) -> list:
        """
        The forced transactions among ``messages`` that are valid on the L2
        head; each invalid one is skipped on L1 with a proof against the
        settled state (so the head is settled first), or left out where its fee
        cap is below the block's base fee, which L1 reads from the block.
        """
        state = self.l2.state_at()
        base_fee = self.l2.next_base_fee()
        includable, invalid = [], []
        for message in messages:
            transaction = message.transaction
            if transaction is None:
                continue
            sender = transaction.sender
            if transaction.max_fee_per_gas < base_fee:
                continue
            cost = transaction.gas * transaction.max_fee_per_gas + transaction.value
            if state.get_nonce(sender) != transaction.nonce or state.get_balance(sender) < cost:
                invalid.append((message, sender))
            else:
                includable.append(transaction)
        if invalid:
            self.settle()
            for message, sender in invalid:
                proof = account_proof(self.l2, sender)
                self.rollup.transact("skip_forced", message.index, proof, sender=self.address)
        return includable

    def _relay_transaction(self, messages: List[QueuedMessage], timestamp: int):
        return relay_transaction(self.l2, self.key, messages, timestamp)

    def stateless_input(self, number: int) -> bytes:
        """The encoded EXECUTE input for L2 block ``number``."""
        block = self.l2.block(number)
        chain_config = ChainConfig(chain_id=self.l2.chain_id, fork=FORK_PRAGUE)
        stateless_input, _ = prove_block(self.l2.chain, block, chain_config)
        return encode(stateless_input)

    def submit(self, number: int, encoded_input: Optional[bytes] = None, sender: str = None):
        """Send L2 block ``number`` (or ``encoded_input``) to ``advance``; the L1 receipt."""
        data = encoded_input if encoded_input is not None else self.stateless_input(number)
        gas = settlement_gas(self.l2, data)
        return self.rollup.transact("advance", data, sender=sender or self.address, gas=gas)

    def settle(self) -> List[int]:
        """Submit every L2 block L1 has not settled yet; their numbers."""
        settled = []
        for number in range(self.rollup.view("head_number") + 1, self.l2.head().block_number + 1):
            self.submit(number)
            settled.append(number)
        return settled

    def rebuild_from_settled_head(self) -> list:
        """
        After L1 refused this sequencer's blocks: drop the L2 blocks L1 has not
        settled, go back to the anchor L1 holds, and put the dropped user
        transactions back in the mempool (this sequencer's own relays are
        rebuilt, not resent). The resent transactions.
        """
        settled = self.rollup.view("head_number")
        self.messages_taken_in = self.rollup.view("messages_anchored")
        dropped = self.l2.rewind(settled)
        self.l2.parent_beacon_block_root = self.rollup.view("queue_hash", self.messages_taken_in)
        resent = [t for t in dropped if t.sender != self.key.address]
        with self.l2.automine_paused():
            for transaction in resent:
                self.l2.send_transaction(transaction)
        return resent

    def step(self) -> List[int]:
        """One round: take in L1 messages, then settle what is new."""
        self.take_in_messages()
        return self.settle()

    def cursor(self) -> dict:
        """
        How far this sequencer has read and taken in L1's queue (and whether it
        censors): what a snapshot across L1 and this L2 keeps beside the chains.
        """
        return {
            name: copy.copy(getattr(self, name))
            for name in (f.name for f in fields(self)) if name not in self.cursor_owners
        }

    def restore_cursor(self, cursor: dict) -> None:
        """Back to a ``cursor()`` taken earlier (after L1 and L2 went back with it)."""
        for name, value in cursor.items():
            setattr(self, name, copy.copy(value))



def settlement_gas(l2: Devnet, data: bytes) -> int:
    """L1 gas for ``advance`` with encoded input ``data`` for a block of ``l2``."""
    input_gas = EXECUTE_GAS_PER_INPUT_BYTE * len(data)
    execute = EXECUTE_BASE_GAS + l2.config.gas_limit + input_gas
    # A call passes on at most 63/64 of what is left (EIP-150).
    return execute * 64 // 63 + input_gas + ADVANCE_OVERHEAD_GAS


def relay_transaction(l2: Devnet, key: DevAccount, messages: List[QueuedMessage], timestamp: int):
    """``key``'s L2 transaction relaying ``messages`` to the bridge, at ``timestamp``."""
    bridge = compile_contract("L2Bridge")
    data = bridge.encode_call("relay", [m.as_struct() for m in messages], timestamp)
    builder: PragueTransactionBuilder = l2.vm_class.get_transaction_builder()
    unsigned = builder.new_unsigned_dynamic_fee_transaction(
        chain_id=l2.chain_id,
        nonce=l2.state_at().get_nonce(key.address),
        max_priority_fee_per_gas=0,
        max_fee_per_gas=2 * l2.head().base_fee_per_gas + 1,
        gas=relay_gas(messages),
        to=L2_BRIDGE,
        value=0,
        data=data,
        access_list=(),
    )
    return unsigned.as_signed_transaction(keys.PrivateKey(key.private_key))


def relay_gas(messages: List[QueuedMessage]) -> int:
    """Gas for relaying ``messages``: enough for every deposit's recipient call."""
    deposits = sum(message.kind == DEPOSIT for message in messages)
    return (
        RELAY_BASE_GAS
        + RELAY_GAS_PER_MESSAGE * len(messages)
        + RELAY_GAS_PER_DEPOSIT * deposits
    )


def relay_failure(l2: Devnet, relay_hash: bytes) -> Optional[str]:
    """Why the relay transaction did not run in its block (left out, or reverted); else None."""
    found = l2.receipt(relay_hash)
    if found is None:
        return "the block left the relay out: " + l2.pool.dropped.get(relay_hash, "not included")
    _, _, receipt = found
    if receipt.state_root != b"\x01":  # EIP-658 status
        return "the relay reverted"
    return None


def one_block_of(messages: List[QueuedMessage]) -> List[QueuedMessage]:
    """
    The queued messages one L2 block takes in: as NativeRollup requires, at
    most MAX_FORCED_PER_BLOCK forced transactions and none twice from one
    sender (the second may be valid only after the first).
    """
    senders: list = []
    taken = []
    for message in messages[:MAX_MESSAGES_PER_BLOCK]:
        if message.transaction is not None:
            sender = message.transaction.sender
            if len(senders) == MAX_FORCED_PER_BLOCK or sender in senders:
                break
            senders.append(sender)
        taken.append(message)
    return taken
