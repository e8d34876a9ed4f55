"""
The devnet node as one object: a thin facade over its chain backend,
transaction pool, miner, clock, snapshots, impersonation, persistence and
proof pool, with a web3.py client for it in-process.

Whatever changes the node takes its one lock, so the JSON-RPC server may
call it from any thread.
"""

import threading
import time
import weakref
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, Callable, Dict, FrozenSet, Iterator, List, Optional, Set, Tuple, Union

from eth.abc import BlockAPI, ReceiptAPI, SignedTransactionAPI
from eth.constants import GAS_TX

from prover.pool import GossipResult

from ..access_lists import AccessListOutcome
from ..accounts import derive_accounts
from ..interface import InvalidArgument, LimitReached, TransactionRejected, TransactionRequest
from ..provider import web3_for
from ..raw_transactions import decode_signed_transaction
from ..tracing import block_overrides, trace_timeout, tracer_from_options
from .backend import (
    ChainBackend,
    TransactionLocation,
    access_list_on,
    call_on,
    chain_rules,
    estimate_gas_on,
    trace_call_on,
)
from .clock import LATEST_SETTABLE_TIME, Clock
from .config import DevnetConfig, check_chain_id
from .gas import minimum_gas
from .header_controls import check_gas_limit
from .impersonation import Impersonation
from .miner import Miner
from .persistence import encode_state, read_state, state_snapshot, write_atomically
from .pool import TransactionPool
from .proofs import completes_payload, new_proof_pool, new_prover_keys
from .slots import SlotClock
from .snapshots import Snapshots
from .transactions import DEFAULT_PRIORITY_FEE, RequestFiller

# Most blocks one anvil_mine may ask for (each is a block's work for the node).
MAX_BLOCKS_PER_CALL = 10_000
# A long mining run lets the lock go for a pause after each turn of this long.
MINING_TURN_SECONDS = 0.02
MINING_PAUSE_SECONDS = 0.001


def refuse_unpayable_value(request: TransactionRequest, state) -> None:
    """
    TransactionRejected if the request's sender cannot pay the value it
    sends, in geth's words (py-evm's would otherwise reach the client).
    """
    sender = request.sender or bytes(20)
    balance = state.get_balance(sender)
    if balance < request.value:
        raise TransactionRejected(
            f"insufficient funds for transfer: address 0x{sender.hex()} has {balance}"
            f" wei, the call sends {request.value}"
        )


def check_block_interval(interval: int, blocks: int, head_timestamp: int) -> None:
    """InvalidArgument unless ``blocks`` blocks ``interval`` seconds apart fit after the head."""
    if interval < 1:
        raise InvalidArgument("interval must be at least 1 second: each block is after the last")
    if head_timestamp + interval * blocks > LATEST_SETTABLE_TIME:
        raise InvalidArgument(
            f"{blocks} blocks {interval} s apart would leave no room for the blocks after them"
            " (block timestamps stay below 2**64)"
        )


def refuse_gas_below_intrinsic(request: TransactionRequest, transaction) -> None:
    """TransactionRejected if the request's gas is below what any run of it needs first."""
    if request.gas is None:
        return
    least = minimum_gas(transaction)
    if request.gas < least:
        raise TransactionRejected(
            f"intrinsic gas too low: the call needs at least {least} gas, it has {request.gas}"
        )


@dataclass(frozen=True)
class NodeSettings:
    """What ``Devnet.settings`` returns: the modes and controls a client may change."""

    automine: bool
    block_time: Optional[float]
    coinbase: bytes
    gas_limit: int
    chain_id: int
    impersonated: FrozenSet[bytes]
    auto_impersonate: bool


class Devnet:
    """An in-process L1 devnet; ``l1.rpc`` serves it over JSON-RPC."""

    def __init__(self, config: DevnetConfig = DevnetConfig()) -> None:
        self.config = config
        self.lock = threading.RLock()
        self.accounts = derive_accounts(config.mnemonic, config.accounts)
        # The provers' secret keys stay in this process (nr up's prover signs with them).
        self.prover_keys = new_prover_keys(config)
        self.proof_pool = new_proof_pool(config, self.prover_keys)
        self.provers = self.proof_pool.provers
        self.vm_class = chain_rules(config, self.proof_pool)
        self.backend = ChainBackend(config, self.vm_class, self.accounts)
        self.pool = TransactionPool(self.backend)
        self.clock = Clock()
        self.miner = Miner(self.backend, self.pool, self.clock, self.proof_pool, config.block_time)
        if config.slot_mode:
            self.miner.set_automine(False)
        self.snapshots = Snapshots(self.backend, self.pool, self.clock, self.proof_pool)
        self.impersonation = Impersonation(self.backend)
        self.requests = RequestFiller(self.backend, self.pool, self.accounts, self.impersonation)
        # Called with each transaction the pool takes, under the lock (a
        # sequencer preconfirming at admission listens here).
        self.transaction_listeners: List[Callable[[SignedTransactionAPI], None]] = []
        # Told the new head's number when the chain goes back (evm_revert, a rewind,
        # anvil_reset), under the lock: installed filters forget the blocks now gone.
        # Weak references: a client's dispatcher is gone with the client.
        self.rewind_listeners: List[weakref.WeakMethod] = []

    def listen_for_rewinds(self, listener: Callable[[int], None]) -> None:
        """Call bound method ``listener`` with the head's number each time the chain goes back."""
        self.rewind_listeners.append(weakref.WeakMethod(listener))

    def _went_back(self) -> None:
        number = self.head().block_number
        alive = [reference for reference in self.rewind_listeners if reference() is not None]
        self.rewind_listeners = alive
        for reference in alive:
            reference()(number)

    def __enter__(self) -> "Devnet":
        return self

    def __exit__(self, *exc_info) -> None:
        with self.lock:
            self.pool.clear()

    def web3(self):
        """A web3.py client for this devnet, in-process."""
        return web3_for(self)

    # -- what the parts hold --

    @property
    def chain(self):
        return self.backend.chain

    @property
    def chain_id(self) -> int:
        return self.config.chain_id

    @property
    def pending(self) -> List[SignedTransactionAPI]:
        return self.pool.pending

    @property
    def awaiting_proofs(self) -> Dict[bytes, str]:
        """Pending transactions whose EXECUTE calls wait for proofs: hash -> why, as of now."""
        return {
            transaction_hash: self.proof_pool.why_waiting(missing)
            for transaction_hash, missing in self.pool.awaiting_proofs.items()
        }

    @property
    def proven_awaiting(self) -> Set[bytes]:
        """The transactions awaiting proofs whose proofs are in: they go into the next block."""
        return {
            transaction_hash
            for transaction_hash, missing in self.pool.awaiting_proofs.items()
            if self.proof_pool.proven(missing)
        }

    @property
    def locations(self) -> Dict[bytes, TransactionLocation]:
        return self.backend.locations

    @property
    def impersonated(self) -> Set[bytes]:
        return self.impersonation.addresses

    @property
    def time_offset(self) -> int:
        return self.clock.offset

    @property
    def automine(self) -> bool:
        return self.miner.automine

    @property
    def block_time(self) -> Optional[float]:
        return self.miner.block_time

    @property
    def block_listeners(self) -> List[Callable[[BlockAPI], None]]:
        return self.miner.block_listeners

    @property
    def parent_beacon_block_root(self) -> bytes:
        """The parent_beacon_block_root of the blocks mined from now on (an L2's anchor)."""
        return self.miner.parent_beacon_block_root

    @parent_beacon_block_root.setter
    def parent_beacon_block_root(self, root: bytes) -> None:
        with self.lock:
            self.miner.parent_beacon_block_root = root

    # -- reading --

    def head(self):
        return self.backend.head()

    def block_number(self, tag: Union[int, str]) -> int:
        """The number of the block a number or a tag names; InvalidArgument beyond the head."""
        return self.backend.block_number(tag)

    def call_block(self, tag: Union[int, str]) -> Optional[int]:
        """
        The block a call names: its number, or None for a tag naming the head,
        taken when the call takes the node's lock. A call that arrives while
        the block of a transaction just answered is being mined then runs on
        that block, not on the one before it.
        """
        if isinstance(tag, str) and tag != "earliest":
            return None
        return self.block_number(tag)

    def block(self, number: int) -> BlockAPI:
        return self.backend.block(number)

    def block_by_hash(self, block_hash: bytes) -> Optional[BlockAPI]:
        return self.backend.block_by_hash(block_hash)

    def next_base_fee(self) -> int:
        """The base fee of the block mined next."""
        return self.backend.next_base_fee()

    def gas_price(self) -> int:
        """What a transaction pays per gas in the next block with the default tip."""
        return self.backend.next_base_fee() + DEFAULT_PRIORITY_FEE

    def priority_fee(self) -> int:
        """The tip a transaction pays when its sender names none."""
        return DEFAULT_PRIORITY_FEE

    def state_at(self, number: Optional[int] = None):
        """The state after block ``number`` (the head, with any edits, by default)."""
        return self.backend.state_at(number)

    def read_state(self, number: Optional[int] = None):
        """
        ``state_at`` for reading only: at the head, the one head state kept for
        reads (building a Prague state costs more than most reads), not a copy.
        """
        if number is None or number == self.backend.head().block_number:
            return self.backend.head_state()
        return self.backend.state_at(number)

    def receipt(self, transaction_hash: bytes) -> Optional[Tuple[BlockAPI, int, ReceiptAPI]]:
        return self.backend.receipt(transaction_hash)

    def block_receipts(self, block: BlockAPI) -> Tuple[ReceiptAPI, ...]:
        return self.backend.block_receipts(block)

    def _prepare_call(
        self, request: TransactionRequest, number: Optional[int], pending: bool = False,
        overrides=None,
    ):
        """
        The request as a call in block ``number``'s state (``pending``: in the
        next block after the transactions it would hold), a VM on that state
        (its block changed by ``overrides``) and the state: all a call needs
        of the node, taken under the lock, so that the call itself runs beside
        other requests; ``refuse_unpayable_value`` first.
        """
        with self.lock:
            if pending and self.pool.ready():
                built, chain = self.miner.pending_block()
                state, vm = built.state, self.backend.vm_after(built, chain, overrides)
            else:
                state, vm = self.read_state(number), self.backend.vm_at(number, overrides)
            refuse_unpayable_value(request, state)
            transaction = self.requests.call(request, state)
            refuse_gas_below_intrinsic(request, transaction)
            return transaction, vm, state

    def call(
        self, request: TransactionRequest, number: Optional[int] = None, pending: bool = False
    ):
        """
        Execute the request in block ``number``'s state (``pending``: after
        the pending transactions) without persisting: the computation. It
        runs beside other requests, for at most ``config.call_timeout`` seconds.
        """
        transaction, vm, _ = self._prepare_call(request, number, pending)
        with self.proofs_judged_after():
            return call_on(vm, transaction, self.config.call_timeout)

    def estimate_gas(
        self, request: TransactionRequest, number: Optional[int] = None, pending: bool = False
    ) -> int:
        """
        The least gas the request succeeds with in block ``number``'s state
        (the head by default; ``pending``: after the pending transactions),
        beside other requests; ExecutionFailed if it fails with all the gas it
        may have.
        """
        transaction, vm, state = self._prepare_call(request, number, pending)
        if self._is_plain_transfer(request, state):
            return GAS_TX  # nothing runs that could need more (geth answers so too)
        with self.proofs_judged_after():
            return estimate_gas_on(vm, transaction, self.config.call_timeout)

    def _is_plain_transfer(self, request: TransactionRequest, state) -> bool:
        """Ether to an account with no code (nor a precompile), and no data."""
        precompiles = self.vm_class.get_state_class().computation_class.get_precompiles()
        return (
            request.to is not None
            and not request.data
            and not request.access_list
            and (request.gas is None or request.gas >= GAS_TX)
            and request.to not in precompiles
            and not state.get_code(request.to)
        )

    def create_access_list(
        self, request: TransactionRequest, number: Optional[int] = None, pending: bool = False
    ) -> AccessListOutcome:
        """EIP-2930: what the request touches as a call, and its gas listing that."""
        transaction, vm, _ = self._prepare_call(request, number, pending)
        with self.proofs_judged_after():
            return access_list_on(vm, transaction, self.config.call_timeout)

    def execution_witness(self, number: int):
        return self.backend.execution_witness(number)

    def trace_transaction(
        self, transaction_hash: bytes, options: Optional[Dict[str, Any]] = None
    ) -> Optional[Dict[str, Any]]:
        """
        A mined transaction traced as ``options`` ask (geth's), for at most
        their ``timeout`` within the node's call time limit; None if it is in
        no block.
        """
        tracer = tracer_from_options(options)
        return self.backend.trace(transaction_hash, tracer, self._trace_seconds(options))

    def _trace_seconds(self, options: Optional[Dict[str, Any]]) -> Optional[float]:
        """A trace's time limit: its ``timeout`` option, never beyond the node's call limit."""
        limits = (trace_timeout(options), self.config.call_timeout)
        return min((seconds for seconds in limits if seconds is not None), default=None)

    def trace_call(
        self,
        request: TransactionRequest,
        number: Optional[int] = None,
        options: Optional[Dict[str, Any]] = None,
        pending: bool = False,
    ) -> Dict[str, Any]:
        """
        The request traced as a call in block ``number``'s state (beside other
        requests), in the block that would come next; ``pending``: in that
        block after the transactions it would hold (nothing is mined, dropped
        or used up). geth's ``blockOverrides`` in ``options`` give the block
        another number or timestamp.
        """
        options = dict(options or {})
        overrides = block_overrides(options.pop("blockOverrides", None))
        tracer = tracer_from_options(options)
        transaction, vm, _ = self._prepare_call(request, number, pending, overrides)
        with self.proofs_judged_after():
            return trace_call_on(vm, transaction, tracer, self._trace_seconds(options))

    # -- transactions --

    def send_transaction(self, transaction: SignedTransactionAPI, first: bool = False) -> bytes:
        """
        Validate against the pending state, then queue or mine it; the hash.
        ``first`` queues it ahead of the transactions already waiting.
        """
        with self.lock:
            # One block per transaction, as automine promises, even when deferred.
            self.miner.mine_due()
            self.pool.add(transaction, gapless=self.miner.automine, first=first)
            for listener in self.transaction_listeners:
                listener(transaction)
            self.miner.transaction_added()
            return transaction.hash

    def send_raw_transaction(self, encoded: bytes) -> bytes:
        """Decode a signed transaction and send it; InvalidArgument if the bytes are not one."""
        transaction = decode_signed_transaction(self.vm_class.get_transaction_builder(), encoded)
        return self.send_transaction(transaction)

    def send_request(self, request: TransactionRequest) -> bytes:
        """
        Fill in, sign and send a transaction request (eth_sendTransaction);
        the hash. Its gas, when left out, is estimated first, outside the lock.
        """
        if request.gas is None:
            request = replace(request, gas=self.estimate_gas(request))
        with self.lock:
            return self.send_transaction(self.requests.sign(request))

    @contextmanager
    def mining_deferred(self):
        """Automine notes a block as due instead of mining it, until ``mine_due``."""
        with self.lock, self.miner.deferred():
            yield

    def mine_due(self) -> None:
        """Mine the block a deferred automine left due, if any."""
        with self.lock:
            self.miner.mine_due()

    # -- blocks --

    def mine(
        self, blocks: int = 1, timestamp: Optional[int] = None, interval: Optional[int] = None
    ) -> List[BlockAPI]:
        """
        Mine ``blocks`` blocks, the first holding the pending transactions,
        each ``interval`` seconds after the one before if given (anvil_mine's);
        the lock is taken for each block and let go a moment now and then, so
        other clients are answered during a long run.
        """
        if blocks > MAX_BLOCKS_PER_CALL:
            raise LimitReached(f"at most {MAX_BLOCKS_PER_CALL} blocks per call; asked for {blocks}")
        if interval is not None:
            check_block_interval(interval, blocks, self.head().timestamp)
        mined: List[BlockAPI] = []
        held_since = time.monotonic()
        for index in range(blocks):
            with self.lock:
                if index and interval is not None:
                    timestamp = self.head().timestamp + interval
                mined += self.miner.mine(1, timestamp if index == 0 or interval else None)
            if time.monotonic() - held_since > MINING_TURN_SECONDS:
                # A thread waiting for the lock seldom gets it back from one that takes
                # it again at once: a pause lets the others through, then mining goes on.
                time.sleep(MINING_PAUSE_SECONDS)
                held_since = time.monotonic()
        return mined

    def import_block(self, block: BlockAPI) -> BlockAPI:
        """A block built elsewhere on the head (InvalidArgument unless it runs the same here)."""
        with self.lock:
            return self.miner.import_block(block)

    # -- slots --

    @property
    def slots(self) -> SlotClock:
        """The slot clock, counting from the genesis block's timestamp."""
        return SlotClock(self.backend.block(0).header.timestamp, self.config.slot_time)

    def current_slot(self) -> int:
        """The slot the wall clock (with evm_increaseTime's offset) is in."""
        return self.slots.slot_of(int(time.time()) + self.clock.offset)

    def mine_slot(self, slot: Optional[int] = None) -> BlockAPI:
        """
        Mine slot ``slot``'s block at the slot's start (default: the slot
        after the head's; a later one leaves the slots between empty).
        """
        with self.lock:
            slots = self.slots
            head_slot = slots.slot_of(self.head().timestamp)
            slot = head_slot + 1 if slot is None else slot
            if slot <= head_slot:
                raise InvalidArgument(
                    f"slot {slot} already has its block (the head is in slot {head_slot})"
                )
            return self.miner.mine(1, slots.start_of(slot))[0]

    def set_automine(self, enabled: bool) -> None:
        with self.lock:
            self.miner.set_automine(enabled)

    def set_interval_mining(self, seconds: float) -> None:
        """evm_setIntervalMining: a block every ``seconds``; 0 mines nothing until asked."""
        with self.lock:
            self.miner.set_interval(seconds)

    @contextmanager
    def automine_paused(self):
        """Queue several transactions for one block: automine waits until the block is mined."""
        with self.lock, self.miner.automine_paused():
            yield

    # -- execution proofs --

    @contextmanager
    def proofs_judged_after(self) -> Iterator[None]:
        """
        Around a call, an estimate, an access list or a call trace: the proofs
        held for payloads it met are judged once it ends, however it ends (a
        block judges those it met as it is mined); an accepted one may let
        waiting transactions in. Outside the lock, as ``submit_proof``.
        """
        try:
            yield
        finally:
            if self.proof_pool.judge_held():
                with self.lock:
                    self.miner.proofs_arrived()

    def submit_proof(self, data: bytes) -> GossipResult:
        """
        A ``SignedExecutionProof`` from the ``execution_proof`` topic, judged
        by the gossip rules (outside the lock: a re-execution proof takes as
        long as its block); an accepted one may let waiting transactions in.
        """
        result = self.proof_pool.submit_bytes(data)
        if completes_payload(self.proof_pool, result, self.config.execute.proof_requirement):
            with self.lock:
                self.miner.proofs_arrived()
        return result

    # -- test controls --

    def increase_time(self, seconds: int) -> int:
        """evm_increaseTime: the clock jumps ``seconds`` ahead; the total offset."""
        with self.lock:
            return self.clock.increase(seconds, self.head().timestamp)

    def set_next_timestamp(self, timestamp: int) -> None:
        """evm_setNextBlockTimestamp: InvalidArgument unless it follows the head's."""
        with self.lock:
            self.clock.set_next_timestamp(timestamp, self.head().timestamp)

    def snapshot(self) -> int:
        """evm_snapshot: an id to return to this head and these pending transactions."""
        with self.lock:
            return self.snapshots.take()

    def mark(self) -> tuple:
        """
        A value that stays equal while nothing a snapshot restores, nor the
        node's settings, changes: whether anything happened, without taking
        a snapshot.
        """
        with self.lock:
            return self.snapshots.mark(), self.settings()

    def revert(self, snapshot_id: int) -> bool:
        """evm_revert (anvil semantics): back to the snapshot; it and later ones are gone."""
        with self.lock:
            reverted = self.snapshots.revert(snapshot_id)
            if reverted:
                self._went_back()
            return reverted

    def rewind(self, number: int) -> List[SignedTransactionAPI]:
        """
        Make block ``number`` the head again (a reorg on a devnet); the
        transactions of the dropped blocks, in order, for the caller to resend.
        """
        with self.lock:
            dropped = self.snapshots.rewind(number)
            self._went_back()
            return dropped

    def set_account(self, address: bytes, **fields) -> None:
        """anvil_setBalance/setNonce/setCode/setStorageAt: edit the head state in place."""
        with self.lock:
            self.backend.set_account(address, **fields)

    def settings(self) -> "NodeSettings":
        """How the node mines and whom it lets send: what no snapshot of the chain holds."""
        with self.lock:
            return NodeSettings(
                self.miner.automine, self.miner.block_time, self.coinbase, self.config.gas_limit,
                self.config.chain_id, frozenset(self.impersonation.addresses),
                self.impersonation.auto,
            )

    def restore_settings(self, saved: "NodeSettings") -> None:
        """Back to ``settings()`` taken earlier."""
        with self.lock:
            if saved.chain_id != self.config.chain_id:
                self.set_chain_id(saved.chain_id)
            self.set_block_gas_limit(saved.gas_limit)
            self.set_coinbase(saved.coinbase)
            self.impersonation.addresses = set(saved.impersonated)
            self.auto_impersonate(saved.auto_impersonate)
            self.set_interval_mining(saved.block_time or 0)
            if saved.block_time is None:
                self.set_automine(saved.automine)

    def impersonate(self, address: bytes) -> None:
        """anvil_impersonateAccount: ``address`` may send without its key."""
        with self.lock:
            self.impersonation.start(address)

    def stop_impersonating(self, address: bytes) -> None:
        with self.lock:
            self.impersonation.stop(address)

    def auto_impersonate(self, enabled: bool) -> None:
        """anvil_autoImpersonateAccount: every address may send without its key."""
        with self.lock:
            self.impersonation.auto = enabled

    def drop_transaction(self, transaction_hash: bytes) -> bool:
        """anvil_dropTransaction: forget a pending transaction; whether there was one."""
        with self.lock:
            dropped = [t for t in self.pool.pending if t.hash == transaction_hash]
            self.pool.remove(dropped)
            return bool(dropped)

    @property
    def coinbase(self) -> bytes:
        return self.backend.controls.coinbase

    def set_coinbase(self, address: bytes) -> None:
        """anvil_setCoinbase: the fee recipient of the blocks mined from now on."""
        with self.lock:
            self.backend.controls.coinbase = address

    def set_next_base_fee(self, base_fee: int) -> None:
        """anvil_setNextBlockBaseFeePerGas: the next block's base fee, whatever EIP-1559 says."""
        with self.lock:
            self.backend.controls.set_next_base_fee(base_fee)

    def set_block_gas_limit(self, gas_limit: int) -> None:
        """evm_setBlockGasLimit: the gas limit of the blocks mined from now on."""
        check_gas_limit(gas_limit)
        with self.lock:
            self.config = replace(self.config, gas_limit=gas_limit)
            self.backend.config = self.config

    def set_chain_id(self, chain_id: int) -> None:
        """
        anvil_setChainId: the chain id transactions are signed for and CHAINID
        returns from the next block on. Pending transactions signed for the old
        id can no longer be mined: they are dropped with that reason.
        """
        check_chain_id(chain_id)
        with self.lock:
            self.config = replace(self.config, chain_id=chain_id)
            self.backend.config = self.config
            self.chain.chain_id = chain_id
            for transaction in list(self.pool.pending):
                if transaction.chain_id not in (None, chain_id):
                    self.pool.drop(
                        transaction,
                        f"signed for chain {transaction.chain_id}, "
                        f"and the chain id is now {chain_id}",
                    )

    def reset(self) -> None:
        """anvil_reset: back to a fresh genesis with the same configuration."""
        with self.lock:
            self.backend.reset()
            self.pool.clear()
            self.proof_pool.clear()
            self.snapshots.clear()
            self.clock.reset()
            self.impersonation.clear()
            self._went_back()

    # -- persistence --

    def dump_state(self) -> bytes:
        """
        The whole chain as compressed JSON, for ``load_state``. The lock is
        held only to copy it, not to encode it.
        """
        with self.lock:
            snapshot = state_snapshot(self.backend)
        return encode_state(snapshot)

    def load_state(self, dumped: bytes) -> None:
        """Replace the chain with a dump; the old chain stays if the dump is bad."""
        saved = read_state(dumped, self.chain_id, type(self.chain))
        with self.lock:
            self.backend.restore(saved)
            self.pool.clear()
            self.proof_pool.clear()
            self.snapshots.clear()

    def save_state(self, path: str) -> None:
        """Write the dump so that a crash at any moment leaves the previous file whole."""
        write_atomically(path, self.dump_state())
