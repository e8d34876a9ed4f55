"""
Based blocks: anyone builds one on the latest slot-ending L2 block (or, in
based mode, on the settled head) and lands it on L1 as one transaction:
L1 actions before, the L2 block through EXECUTE, L1 actions after, and
assertions, all or nothing (``Sequencing.build_based``).

What the L2 block sees of L1 in the same transaction comes in through the
message queue: a deposit made by an action before the block is queued by
then, so the block anchors it and pays it out. What L1 sees of the L2 block
afterwards is its state root, settled by then: an action after it reads any
L2 storage with a proof against that root (``L2State.vy``).
"""

from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

from eth.abc import BlockAPI, ReceiptAPI, SignedTransactionAPI
from eth_abi import encode as abi_encode
from eth_hash.auto import keccak

from l1.accounts import DevAccount
from l1.builder import run_block
from l1.state_proofs import prove_account
from precompile.constants import FORK_PRAGUE
from precompile.encoding import encode
from precompile.ssz import ChainConfig
from precompile.witness import prove_block

from .certificates import Certificate
from .l1_contract import RollupError
from .sequencer import DEPOSIT, QueuedMessage, one_block_of, relay_transaction, settlement_gas
from .slot_sequencer import BASED_ACTIONS_GAS, CERTIFICATE_GAS

NO_CERTIFICATE = (0, bytes(32), 0, 0, bytes(32), [])
# L1 gas per call into L2 (an execution table's entry) beside settling its
# block: queueing it, the table's transient copy, the L2 code's L1 calls
# performed, the outcome's proof.
CALL_INTO_L2_GAS = 1_500_000


@dataclass(frozen=True)
class Action:
    """An L1 call a based block makes (from the Sequencing contract), with ``value`` wei."""

    target: str
    data: bytes
    value: int = 0

    def as_struct(self) -> tuple:
        return (self.target, self.value, self.data)


@dataclass(frozen=True)
class Assertion:
    """A static L1 call that must return ``expected`` once the based block has run."""

    target: str
    data: bytes
    expected: bytes

    def as_struct(self) -> tuple:
        return (self.target, self.data, keccak(self.expected))


@dataclass
class BasedBlock:
    block: BlockAPI
    receipts: Tuple[ReceiptAPI, ...]
    stateless_input: bytes
    slot_ending: Optional[Certificate]
    before: List[Action] = field(default_factory=list)
    after: List[Action] = field(default_factory=list)
    assertions: List[Assertion] = field(default_factory=list)
    # The execution table of the actions' calls into L2 (execution_table.py):
    # its entries, and CrossCalls.load's calldata made of them (empty: none).
    entries: list = field(default_factory=list)
    calls: bytes = b""

    @property
    def value(self) -> int:
        return sum(action.value for action in self.before + self.after)

    def arguments(self) -> tuple:
        """``Sequencing.build_based``'s arguments."""
        certificate = NO_CERTIFICATE if self.slot_ending is None else self.slot_ending.as_struct()
        return (
            certificate, self.stateless_input, [a.as_struct() for a in self.before],
            [a.as_struct() for a in self.after], [a.as_struct() for a in self.assertions],
            self.calls,
        )


def queue_message_hash(
    kind: int, chain_id: int, index: int, sender: str, recipient: str, amount: int,
    data_hash: bytes,
) -> bytes:
    """One queued L1 -> L2 message's hash, as ``NativeRollup._enqueue`` makes it."""
    return keccak(abi_encode(
        ["uint8", "uint64", "uint256", "address", "address", "uint256", "bytes32"],
        [kind, chain_id, index, sender, recipient, amount, data_hash],
    ))


class BasedBuilder:
    """Builds and lands based blocks for ``rollup`` (a ComposableRollup), paying with ``key``."""

    def __init__(self, rollup, key: DevAccount) -> None:
        self.rollup, self.key = rollup, key

    def deposit(self, recipient: str, amount: int, queued: int = 0) -> Tuple[Action, QueuedMessage]:
        """
        An action depositing ``amount`` for ``recipient`` on L2 before the
        block, and the message it will queue (the ``queued``-th one the
        block's actions add), for the block to take in.
        """
        message = self.deposit_message(self.rollup.sequencing.address, recipient, amount, queued)
        data = self.rollup.contract.compiled.encode_call("deposit", recipient)
        return Action(self.rollup.address, data, amount), message

    def deposit_message(
        self, depositor: str, recipient: str, amount: int, queued: int = 0
    ) -> QueuedMessage:
        """
        The message ``depositor`` will queue by depositing ``amount`` for
        ``recipient`` in the same L1 transaction, before the block (the
        ``queued``-th new message), for the block to take in.
        """
        index = self.rollup.contract.view("message_count") + 1 + queued
        # Its queue hash is filled in when the block is built, after those before it.
        return QueuedMessage(DEPOSIT, index, depositor, recipient, amount, bytes(32), b"")

    def build(
        self,
        transactions: Sequence[SignedTransactionAPI] = (),
        before: Sequence[Action] = (),
        after: Sequence[Action] = (),
        assertions: Sequence[Assertion] = (),
        new_messages: Sequence[QueuedMessage] = (),
        take_in_queue: bool = True,
        slot_ending: Optional[Certificate] = None,
        slot: Optional[int] = None,
    ) -> BasedBlock:
        """
        The based block on the L2 head: the queued L1 messages (and
        ``new_messages``, which ``before`` queues) taken in first, then
        ``transactions``; ``take_in_queue=False`` leaves the queue out (L1
        refuses that once a forced transaction is due). Under ``slot_ending``
        (None in based mode) it is for that certificate's slot, else for
        ``slot`` (default: the next L1 block's).
        """
        rollup = self.rollup
        l2 = rollup.l2
        sequencer = rollup.sequencer
        if slot_ending is not None:
            if slot_ending.block_hash != l2.head().hash:
                raise RollupError(
                    "build-based: the slot-ending block is not this node's L2 head"
                )
            slot = slot_ending.slot
        elif slot is None:
            slot = sequencer.next_l1_slot()
        messages = chain_queue_hashes(
            one_block_of(
                (sequencer.queued_messages() if take_in_queue else []) + list(new_messages)
            ),
            rollup.contract, rollup.config.l2_chain_id,
        )
        with l2.lock:
            head = l2.head()
            timestamp = max(head.timestamp + 1, rollup.slots.start_of(slot))
            forced = [m.transaction for m in messages if m.transaction is not None]
            relay = [relay_transaction(l2, self.key, messages, timestamp)] if messages else []
            anchor = messages[-1].queue_hash if messages else l2.parent_beacon_block_root
            built = run_block(
                l2.chain, forced + relay + list(transactions), timestamp=timestamp,
                parent_beacon_block_root=anchor, gas_limit=l2.config.gas_limit,
                parent_state_root=l2.backend.head_state_root,
            )
            stateless_input, _ = prove_block(
                l2.chain, built.block, ChainConfig(chain_id=l2.chain_id, fork=FORK_PRAGUE)
            )
        return BasedBlock(
            built.block, built.receipts, encode(stateless_input), slot_ending, list(before),
            list(after), list(assertions),
        )

    def storage_proof(self, based: BasedBlock, address: bytes, slot: int) -> Tuple[list, list]:
        """
        Account and storage proofs of ``address``'s ``slot`` in the state after
        ``based``'s L2 block: what an action after the block hands to L1 (the
        block's L2 side does not depend on them, so they are added once built).
        """
        proven = prove_account(
            self.rollup.l2.chain.chaindb.db, based.block.header.state_root, address, [slot]
        )
        return list(proven.proof), list(proven.storage[0].proof)

    def land(self, based: BasedBlock, gas: Optional[int] = None) -> bytes:
        """Send the based block to L1 (it lands with the next L1 block); the transaction hash."""
        return self.rollup.sequencing.send(
            "build_based", *based.arguments(), sender=self.key.checksum_address,
            value=based.value, gas=gas or self.landing_gas(based),
        )

    def landing_gas(self, based: BasedBlock) -> int:
        """
        Gas for ``build_based`` with ``based``: its settlement, certificate and
        actions, and each call into L2 of its execution table.
        """
        settling = settlement_gas(self.rollup.l2, based.stateless_input)
        calls = sum(
            settlement_gas(self.rollup.l2, entry.stateless_input) + CALL_INTO_L2_GAS
            for entry in based.entries
        )
        return settling + CERTIFICATE_GAS + BASED_ACTIONS_GAS + calls


def chained(message: QueuedMessage, previous: bytes, chain_id: int) -> QueuedMessage:
    """``message`` with its queue hash, the one before it being ``previous``."""
    hashed = queue_message_hash(
        message.kind, chain_id, message.index, message.sender, message.recipient, message.amount,
        message.data_hash,
    )
    message.queue_hash = keccak(previous + hashed)
    return message


def chain_queue_hashes(messages: List[QueuedMessage], contract, chain_id: int):
    """Fill in the queue hash of messages not yet queued (those an action will queue)."""
    previous = None
    for message in messages:
        if not message.queue_hash:
            if previous is None:
                previous = contract.view("queue_hash", message.index - 1)
            chained(message, previous, chain_id)
        previous = message.queue_hash
    return messages
