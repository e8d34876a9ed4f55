"""
The devnet node: one NativeRollups chain, its mempool and block production,
and the test controls anvil offers (snapshots, time travel, state edits).

All access goes through one lock, so the JSON-RPC server may call it from any
thread; blocks are built with ``l1.builder`` so they import on any node.
"""

import gzip
import json
import os
import tempfile
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from eth._utils.address import generate_contract_address
from eth.abc import BlockAPI, ReceiptAPI, SignedTransactionAPI
from eth.constants import GENESIS_PARENT_HASH
from eth.db.atomic import AtomicDB
from eth.estimators.gas import binary_gas_search_exact
from eth.vm.forks.london.constants import ELASTICITY_MULTIPLIER
from eth.vm.spoof import SpoofTransaction
from eth_hash.auto import keccak
from eth_keys import keys
from eth_utils import ValidationError

from precompile.execute import ExecuteParameters
from precompile.forks import FORK_RULES
from precompile.genesis import DEFAULT_BASE_FEE_PER_GAS, GenesisAccount, new_chain
from prover.constants import DEFAULT_PROOF_TYPES
from prover.pool import ACCEPT, GossipResult, ProofPool
from prover.registry import DEFAULT_PROVERS, ProverSet

from . import accel
from .accounts import (
    DEFAULT_ACCOUNTS,
    DEFAULT_BALANCE_ETHER,
    DEFAULT_MNEMONIC,
    WEI_PER_ETHER,
    derive_accounts,
)
from .builder import BuiltBlock, build_block_and_state
from .fork import AwaitingProofs, NativeRollupsVM

DEFAULT_CHAIN_ID = 31337
# Recent blocks kept decoded, with their receipts (a block hash names both for good).
RECENT_BLOCKS = 64
DEFAULT_GAS_LIMIT = 30_000_000


# Signs transactions sent from impersonated addresses; its own address never sends.
IMPERSONATION_KEY = keys.PrivateKey(keccak(b"native-rollups devnet impersonation"))


def remember(cache: "OrderedDict[bytes, Any]", key: bytes, value: Any) -> None:
    """Keep ``value`` in ``cache``, forgetting the oldest entries past ``RECENT_BLOCKS``."""
    cache[key] = value
    while len(cache) > RECENT_BLOCKS:
        cache.popitem(last=False)


def set_sender(transaction: SignedTransactionAPI, sender: bytes) -> None:
    """Fix the sender py-evm would otherwise recover from the signature (a cached property)."""
    transaction.__dict__["sender"] = sender


# Names the dump layout, so a future change is refused rather than misread.
STATE_FORMAT = "native-rollups-devnet-state/1"


class InvalidState(ValueError):
    """A state dump that cannot be loaded; the devnet keeps its chain."""


class TransactionRejected(ValueError):
    """A transaction the node will not accept, with the reason a client sees."""


@dataclass(frozen=True)
class DevnetConfig:
    chain_id: int = DEFAULT_CHAIN_ID
    accounts: int = DEFAULT_ACCOUNTS
    balance_ether: int = DEFAULT_BALANCE_ETHER
    mnemonic: str = DEFAULT_MNEMONIC
    gas_limit: int = DEFAULT_GAS_LIMIT
    base_fee_per_gas: int = DEFAULT_BASE_FEE_PER_GAS
    # Seconds between blocks; None mines a block for every transaction (automine).
    block_time: Optional[float] = None
    execute: ExecuteParameters = field(default_factory=ExecuteParameters)
    # The chain's rules; None is the NativeRollups fork with ``execute``. An
    # L2 node runs plain Prague, as its blocks must pass EXECUTE's guest.
    vm_class: Optional[type] = None
    # Genesis accounts besides the funded test accounts (an L2's predeploys).
    predeploys: Mapping[bytes, GenesisAccount] = field(default_factory=dict)
    # anvil's methods that edit state or history outside of transactions. A
    # rollup's L2 node turns them off: its blocks must stay provable on L1.
    state_edits: bool = True
    # The prover registry (demo keys 0..provers-1, all active) and the proof
    # types this node's pool accepts; proofs mode counts them (config.execute).
    provers: int = DEFAULT_PROVERS
    inactive_provers: Tuple[int, ...] = ()
    proof_types: Tuple[str, ...] = DEFAULT_PROOF_TYPES
    # Run on the speed-ups' fork classes (``l1.accel``); None: when they are
    # switched on in this process (``nr devnet`` does; a plain import does not).
    accelerated: Optional[bool] = None


def chain_rules(config: DevnetConfig, proof_pool: ProofPool) -> type:
    """
    The VM class a devnet runs: ``config.vm_class`` or the NativeRollups fork
    with the node's EXECUTE settings and proof pool, with the speed-ups when
    ``config.accelerated`` says so (by default, when they are on in this process).
    """
    accelerated = accel.enabled() if config.accelerated is None else config.accelerated
    guest_rules = accel.accelerated_rules() if accelerated else FORK_RULES
    vm_class = config.vm_class or NativeRollupsVM.with_parameters(
        config.execute, proof_pool, guest_rules
    )
    return accel.accelerate(vm_class) if accelerated else vm_class


@dataclass(frozen=True)
class TransactionLocation:
    block_number: int
    index: int


class Devnet:
    """An in-process L1 devnet; ``l1.rpc`` serves it over JSON-RPC."""

    def __init__(self, config: DevnetConfig = DevnetConfig()) -> None:
        self.config = config
        self.lock = threading.RLock()
        self.accounts = derive_accounts(config.mnemonic, config.accounts)
        self.provers = ProverSet.demo(config.chain_id, config.provers, config.inactive_provers)
        self.proof_pool = ProofPool(self.provers, config.proof_types)
        self.vm_class = chain_rules(config, self.proof_pool)
        balance = config.balance_ether * WEI_PER_ETHER
        self.chain = new_chain(
            self.vm_class,
            config.chain_id,
            {
                **{account.address: GenesisAccount(balance=balance) for account in self.accounts},
                **config.predeploys,
            },
            gas_limit=config.gas_limit,
            timestamp=int(time.time()),
            base_fee_per_gas=config.base_fee_per_gas,
            # As on anvil, the first block pays the configured base fee.
            gas_used=config.gas_limit // ELASTICITY_MULTIPLIER,
        )
        self.pending: List[SignedTransactionAPI] = []
        # Automine deferred (``mining_deferred``) and a block due because of it.
        self._mining_deferred = False
        self._block_due = False
        # Pending transactions whose EXECUTE calls wait for proofs: hash -> why.
        self.awaiting_proofs: Dict[bytes, str] = {}
        self.automine = config.block_time is None
        # Seconds between interval-mined blocks; None or 0 mines no empty blocks on a timer.
        self.block_time: Optional[float] = config.block_time
        self.time_offset = 0
        self.next_timestamp: Optional[int] = None
        self.locations: Dict[bytes, TransactionLocation] = {}
        self.snapshots: List[Tuple[int, bytes, int, bytes]] = []
        self.head_state_root = self.head().state_root
        # anvil_impersonateAccount: addresses that may send without a key, and
        # the real sender of each transaction sent that way.
        self.impersonated: set = set()
        self.impersonated_senders: Dict[bytes, bytes] = {}
        # Called with each new block (the server's subscriptions listen here).
        self.block_listeners: List[Callable[[BlockAPI], None]] = []
        # Recent blocks and their receipts by block hash, and the read-only head state.
        self._blocks: "OrderedDict[bytes, BlockAPI]" = OrderedDict()
        self._receipts: "OrderedDict[bytes, tuple]" = OrderedDict()
        self._head_state = None
        # The parent_beacon_block_root of the blocks mined from now on. On an
        # L2 it is the L1 message-queue hash the chain has taken in (its anchor).
        self.parent_beacon_block_root = bytes(32)

    def set_interval_mining(self, seconds: float) -> None:
        """evm_setIntervalMining: a block every ``seconds``; 0 turns the timer off."""
        with self.lock:
            self.block_time = seconds or None
            self.automine = self.block_time is None

    @contextmanager
    def automine_paused(self):
        """Queue several transactions for one block: automine waits until the block is mined."""
        with self.lock:
            automine, self.automine = self.automine, False
            try:
                yield
            finally:
                self.automine = automine

    def reset(self) -> None:
        """anvil_reset: back to a fresh genesis with the same configuration."""
        fresh = Devnet(self.config)
        with self.lock:
            self.chain, self.head_state_root = fresh.chain, fresh.head_state_root
            self._clear_pending()
            self.locations, self.snapshots = {}, []
            self.time_offset, self.next_timestamp = 0, None
            self.impersonated, self.impersonated_senders = set(), {}

    def __enter__(self) -> "Devnet":
        return self

    def __exit__(self, *exc_info) -> None:
        self._clear_pending()

    def _clear_pending(self) -> None:
        self.pending, self.awaiting_proofs = [], {}

    def web3(self):
        """A web3.py client for this devnet, in-process."""
        from .provider import web3_for

        return web3_for(self)

    # -- reading --

    @property
    def chain_id(self) -> int:
        return self.config.chain_id

    def head(self):
        return self.chain.get_canonical_head()

    def block(self, number: int) -> BlockAPI:
        block_hash = self.chain.chaindb.get_canonical_block_hash(number)
        block = self._blocks.get(block_hash)
        if block is None:
            block = self.chain.get_block_by_hash(block_hash)
            remember(self._blocks, block_hash, block)
        return self.with_senders(block)

    def with_senders(self, block: BlockAPI) -> BlockAPI:
        """Give impersonated transactions back the sender their signature does not name."""
        for transaction in block.transactions:
            sender = self.impersonated_senders.get(transaction.hash)
            if sender is not None:
                set_sender(transaction, sender)
        return block

    def next_base_fee(self) -> int:
        """The base fee of the block mined next."""
        return self.chain.create_header_from_parent(self.head()).base_fee_per_gas

    def state_at(self, number: Optional[int] = None):
        """The state after block ``number`` (the head, with any edits, by default)."""
        return self.chain.get_vm(self._header_at(number)).state

    def _header_at(self, number: Optional[int]):
        if number is None or number == self.head().block_number:
            return self.head().copy(state_root=self.head_state_root)
        return self.block(number).header

    def receipt(self, transaction_hash: bytes) -> Optional[Tuple[BlockAPI, int, ReceiptAPI]]:
        location = self.locations.get(transaction_hash)
        if location is None:
            return None
        block = self.block(location.block_number)
        return block, location.index, self.block_receipts(block)[location.index]

    def block_receipts(self, block: BlockAPI) -> Tuple[ReceiptAPI, ...]:
        """A block's receipts; recent blocks' are kept, as clients ask for them one by one."""
        receipts = self._receipts.get(block.hash)
        if receipts is None:
            receipts = tuple(block.get_receipts(self.chain.chaindb))
            remember(self._receipts, block.hash, receipts)
        return receipts

    def head_state(self):
        """
        The head state for reading only (nonces and balances of incoming
        transactions): one state object per head, not one per question.
        """
        with self.lock:
            key = self._head_state_key(self.head().hash)
            if self._head_state is None or self._head_state[0] != key:
                self._head_state = (key, self.state_at())
            return self._head_state[1]

    def _head_state_key(self, head_hash: bytes) -> tuple:
        return (self.chain, head_hash, self.head_state_root)

    # -- transactions --

    def send_transaction(self, transaction: SignedTransactionAPI) -> bytes:
        """Validate against the pending state, then queue or mine it; the hash."""
        with self.lock:
            # One block per transaction, as automine promises, even when deferred.
            self.mine_due()
            self._validate(transaction)
            self.pending.append(transaction)
            if self.automine:
                if self._mining_deferred:
                    self._block_due = True
                else:
                    self.mine()
            return transaction.hash

    @contextmanager
    def mining_deferred(self):
        """
        Within, automine notes that a block is due instead of mining it, and
        ``mine_due`` mines it. A server answers a transaction in between (it
        is accepted, which is when anvil answers too) while it holds the lock,
        so no later request sees the node before that block is in.
        """
        with self.lock:
            self._mining_deferred = True
            try:
                yield
            finally:
                self._mining_deferred = False

    def mine_due(self) -> None:
        """Mine the block a deferred automine left due, if any."""
        with self.lock:
            if self._block_due:
                self.mine()  # which clears it

    def _validate(self, transaction: SignedTransactionAPI) -> None:
        if transaction.chain_id is not None and transaction.chain_id != self.chain_id:
            raise TransactionRejected(
                f"invalid chain id {transaction.chain_id}, this chain is {self.chain_id}"
            )
        if transaction.hash in self.locations or any(
            queued.hash == transaction.hash for queued in self.pending
        ):
            raise TransactionRejected("transaction already imported")
        state = self.head_state()
        account_nonce = state.get_nonce(transaction.sender)
        # Transactions queued ahead of this one (waiting for proofs, or for a block).
        queued_ahead = sum(queued.sender == transaction.sender for queued in self.pending)
        if transaction.nonce < account_nonce:
            raise TransactionRejected(
                f"nonce too low: next nonce {account_nonce}, tx nonce {transaction.nonce}"
            )
        if any(
            queued.sender == transaction.sender and queued.nonce == transaction.nonce
            for queued in self.pending
        ):
            raise TransactionRejected(
                f"a pending transaction already has nonce {transaction.nonce}"
            )
        if transaction.nonce > account_nonce + queued_ahead and self.automine:
            raise TransactionRejected(
                f"nonce too high: next nonce {account_nonce + queued_ahead},"
                f" tx nonce {transaction.nonce}"
            )
        cost = transaction.gas * transaction.max_fee_per_gas + transaction.value
        if state.get_balance(transaction.sender) < cost:
            raise TransactionRejected("insufficient funds for gas * price + value")
        if transaction.gas > self.config.gas_limit:
            raise TransactionRejected("intrinsic gas too high: exceeds block gas limit")
        try:
            transaction.validate()
        except ValidationError as error:
            raise TransactionRejected(str(error)) from error

    def sign_impersonated(self, unsigned, sender: bytes) -> SignedTransactionAPI:
        """
        A transaction from an impersonated address: signed by a throwaway key
        (so it encodes like any other) and told its sender, as anvil does.
        Such blocks do not replay on another node; that is what impersonation is.
        """
        if sender not in self.impersonated:
            raise TransactionRejected(
                f"no key for sender 0x{sender.hex()} and it is not impersonated"
            )
        signed = unsigned.as_signed_transaction(IMPERSONATION_KEY)
        set_sender(signed, sender)
        self.impersonated_senders[signed.hash] = sender
        return signed

    # -- blocks --

    def mine(self, blocks: int = 1, timestamp: Optional[int] = None) -> List[BlockAPI]:
        """Mine ``blocks`` blocks, the first holding the pending transactions."""
        with self.lock:
            self._block_due = False
            mined = []
            for _ in range(blocks):
                block, state, receipts = self._build_next(self._timestamp(timestamp))
                included = {t.hash for t in block.transactions}
                self.pending = [t for t in self.pending if t.hash not in included]
                self.head_state_root = block.header.state_root
                remember(self._blocks, block.hash, block)
                remember(self._receipts, block.hash, receipts)
                self._head_state = (self._head_state_key(block.hash), state)
                for index, transaction in enumerate(block.transactions):
                    self.locations[transaction.hash] = TransactionLocation(block.number, index)
                    self.awaiting_proofs.pop(transaction.hash, None)
                mined.append(block)
                timestamp = None
                for listener in self.block_listeners:
                    listener(block)
            # Proofs held until their payload was seen (by the block just built) count now.
            if self.proof_pool.judge_held() and self.automine and self.awaiting_proofs:
                mined += self.mine()
            return mined

    def _build_next(self, timestamp: int) -> BuiltBlock:
        """
        The next block, its state and receipts, with every ready transaction except those whose
        EXECUTE calls wait for proofs (and their sender's later ones): they
        stay pending for a later block.
        """
        transactions = self._ready_transactions()
        while True:
            try:
                return build_block_and_state(
                    self.chain,
                    transactions,
                    timestamp=timestamp,
                    gas_limit=self.config.gas_limit,
                    parent_state_root=self.head_state_root,
                    parent_beacon_block_root=self.parent_beacon_block_root,
                )
            except AwaitingProofs as waiting:
                held = waiting.transaction
                self.awaiting_proofs[held.hash] = waiting.reason
                transactions = [
                    t
                    for t in transactions
                    if not (t.sender == held.sender and t.nonce >= held.nonce)
                ]

    # -- execution proofs --

    def submit_proof(self, data: bytes) -> GossipResult:
        """
        A ``SignedExecutionProof`` from the ``execution_proof`` topic, judged
        by the gossip rules; an accepted one may let waiting transactions in.
        """
        result = self.proof_pool.submit_bytes(data)
        if result.verdict == ACCEPT and self._reaches_threshold(result.public_input):
            with self.lock:
                if self.automine and self.awaiting_proofs:
                    self.mine()
        return result

    def _reaches_threshold(self, public_input) -> bool:
        """Whether EXECUTE in proofs mode now accepts this public input (worth a block)."""
        held = len(self.proof_pool.proof_types_for(public_input))
        return held >= self.config.execute.proof_threshold

    def _ready_transactions(self) -> List[SignedTransactionAPI]:
        """
        Pending transactions whose nonces follow on from their sender's, in
        arrival order; the rest (behind a nonce gap) stay pending.
        """
        state = self.head_state()
        next_nonce: Dict[bytes, int] = {}
        ready, waiting = [], list(self.pending)
        progressed = True
        while progressed:
            progressed = False
            for transaction in list(waiting):
                sender = transaction.sender
                expected = next_nonce.get(sender, state.get_nonce(sender))
                if transaction.nonce == expected:
                    ready.append(transaction)
                    waiting.remove(transaction)
                    next_nonce[sender] = expected + 1
                    progressed = True
        return ready

    def _timestamp(self, requested: Optional[int]) -> int:
        parent = self.head().timestamp
        if requested is None and self.next_timestamp is not None:
            requested, self.next_timestamp = self.next_timestamp, None
        if requested is None:
            requested = int(time.time()) + self.time_offset
        return max(requested, parent + 1)

    def increase_time(self, seconds: int) -> int:
        """
        evm_increaseTime: the clock jumps ``seconds`` ahead. Blocks here keep
        strictly increasing timestamps (anvil lets them repeat), so the next
        block is also held to at least the head's time plus ``seconds``.
        """
        with self.lock:
            self.time_offset += seconds
            floor = self.head().timestamp + seconds
            self.next_timestamp = max(self.next_timestamp or 0, floor)
            return self.time_offset

    # -- calls --

    def call(self, transaction: SpoofTransaction, number: Optional[int] = None):
        """Execute without persisting, at zero cost: the computation."""
        with self.chain.get_vm(self._header_at(number)).in_costless_state() as state:
            return state.costless_execute_transaction(transaction)

    def estimate_gas(self, transaction: SpoofTransaction) -> int:
        """The least gas the transaction succeeds with (exact, as anvil's search)."""
        with self.chain.get_vm(self._header_at(None)).in_costless_state() as state:
            return binary_gas_search_exact(state, transaction)

    # -- test controls --

    def snapshot(self) -> int:
        """evm_snapshot: an id to return to this head and these pending transactions."""
        with self.lock:
            head = self.head()
            self.snapshots.append(
                (head.block_number, head.hash, self.time_offset, self.head_state_root)
            )
            return len(self.snapshots) - 1

    def revert(self, snapshot_id: int) -> bool:
        """evm_revert (anvil semantics): back to the snapshot; it and later ones are gone."""
        with self.lock:
            if not 0 <= snapshot_id < len(self.snapshots):
                return False
            number, block_hash, self.time_offset, self.head_state_root = self.snapshots[snapshot_id]
            del self.snapshots[snapshot_id:]
            self._rewind(number, block_hash)
            return True

    def rewind(self, number: int) -> List[SignedTransactionAPI]:
        """
        Make block ``number`` the head again (a reorg on a devnet); the
        transactions of the dropped blocks, in order, for the caller to resend.
        """
        with self.lock:
            dropped = [
                transaction
                for later in range(number + 1, self.head().block_number + 1)
                for transaction in self.block(later).transactions
            ]
            header = self.block(number).header
            self._rewind(number, header.hash)
            self.head_state_root = header.state_root
            return dropped

    def _rewind(self, number: int, block_hash: bytes) -> None:
        header = self.chain.get_block_header_by_hash(block_hash)
        chaindb = self.chain.chaindb
        chaindb._set_as_canonical_chain_head(chaindb.db, header, GENESIS_PARENT_HASH)
        self._clear_pending()
        self.locations = {
            tx_hash: location
            for tx_hash, location in self.locations.items()
            if location.block_number <= number
        }

    def set_account(self, address: bytes, **fields) -> None:
        """anvil_setBalance/setNonce/setCode/setStorageAt: edit the head state in place."""
        with self.lock:
            state = self.state_at()
            if "balance" in fields:
                state.set_balance(address, fields["balance"])
            if "nonce" in fields:
                state.set_nonce(address, fields["nonce"])
            if "code" in fields:
                state.set_code(address, fields["code"])
            for slot, value in fields.get("storage", {}).items():
                state.set_storage(address, slot, value)
            state.persist()
            self._replace_head_state(state.state_root)

    def _replace_head_state(self, state_root: bytes) -> None:
        """
        State edits take effect at once, as on anvil: reads at the head and the
        next block start from the edited state, which no header commits to.
        """
        self.head_state_root = state_root

    # -- persistence --

    def dump_state(self) -> bytes:
        """
        The whole chain (every block, every state the head reaches) as
        compressed JSON: the raw database, so a load restores it exactly.
        """
        with self.lock:
            entries = self.chain.chaindb.db.wrapped_db.kv_store
            document = {
                "format": STATE_FORMAT,
                "chainId": self.chain_id,
                "head": self.head().hash.hex(),
                "headStateRoot": self.head_state_root.hex(),
                "locations": {
                    tx.hex(): [loc.block_number, loc.index] for tx, loc in self.locations.items()
                },
                "impersonatedSenders": {
                    tx.hex(): sender.hex() for tx, sender in self.impersonated_senders.items()
                },
                "db": {key.hex(): value.hex() for key, value in entries.items()},
            }
            return gzip.compress(json.dumps(document).encode())

    def load_state(self, dumped: bytes) -> None:
        """Replace the chain with a dump; the old chain stays if the dump is bad."""
        try:
            document = json.loads(gzip.decompress(dumped))
            if document.get("format") != STATE_FORMAT:
                raise InvalidState(f"not a {STATE_FORMAT} state dump")
            if document["chainId"] != self.chain_id:
                raise InvalidState(
                    f"state is for chain {document['chainId']}, this devnet is {self.chain_id}"
                )
            db = AtomicDB()
            for key, value in document["db"].items():
                db[bytes.fromhex(key)] = bytes.fromhex(value)
            chain = type(self.chain)(db)
            head = chain.get_block_header_by_hash(bytes.fromhex(document["head"]))
            locations = {
                bytes.fromhex(tx): TransactionLocation(*where)
                for tx, where in document["locations"].items()
            }
            head_state_root = bytes.fromhex(document["headStateRoot"])
            senders = {
                bytes.fromhex(tx): bytes.fromhex(sender)
                for tx, sender in document["impersonatedSenders"].items()
            }
        except InvalidState:
            raise
        except Exception as error:  # truncated gzip, bad JSON, missing keys, bad hex
            raise InvalidState(f"unreadable state dump: {type(error).__name__}: {error}") from error
        with self.lock:
            chain.chaindb._set_as_canonical_chain_head(chain.chaindb.db, head, GENESIS_PARENT_HASH)
            self.chain, self.locations, self.head_state_root = chain, locations, head_state_root
            self.impersonated_senders = senders
            self._clear_pending()
            self.snapshots = []

    def save_state(self, path: str) -> None:
        """Write the dump so that a crash at any moment leaves the previous file whole."""
        dumped = self.dump_state()
        directory = os.path.dirname(os.path.abspath(path))
        descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=".state-")
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(dumped)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise

    def created_address(self, transaction: SignedTransactionAPI) -> Optional[bytes]:
        if transaction.to:
            return None
        return generate_contract_address(transaction.sender, transaction.nonce)
