"""
The chain a devnet runs and what is read from it: blocks, receipts and states
(recent ones kept decoded), where each transaction landed, calls on any
state, and anvil's edits of the head state.
"""

import itertools
import time
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Dict, List, Optional, Tuple, Union

from eth._utils.headers import new_timestamp_from_parent
from eth.abc import BlockAPI, BlockHeaderAPI, ReceiptAPI, SignedTransactionAPI
from eth.chains.base import ChainContext
from eth.constants import GENESIS_PARENT_HASH, ZERO_HASH32
from eth.vm.forks.london.constants import ELASTICITY_MULTIPLIER
from eth.vm.forks.london.headers import calculate_expected_base_fee_per_gas
from eth.vm.spoof import SpoofTransaction

from precompile.forks import FORK_RULES
from precompile.genesis import GenesisAccount, new_chain
from precompile.witness import execute_with_witness
from prover.pool import ProofPool

from .. import accel
from ..access_lists import (
    AccessListOutcome,
    AccessListTracer,
    left_out_of_access_lists,
    with_access_list,
)
from ..accounts import WEI_PER_ETHER, DevAccount
from ..builder import BuiltBlock
from ..fork import NativeRollupsVM
from ..interface import InvalidArgument
from ..tracing import trace_transaction, traced_copy
from .config import DevnetConfig
from .gas import gauging_sstores, least_gas, state_runs
from .header_controls import HeaderControls, with_header_controls
from .time_limit import time_limit

# Recent blocks kept decoded, with their receipts (a block hash names both for good):
# enough for a test suite that sends a few hundred transactions before reading
# their receipts (decoding a block again also recovers every sender again).
RECENT_BLOCKS = 256
# How many blocks back BLOCKHASH answers.
BLOCKHASH_WINDOW = 256


def remember(cache: "OrderedDict[bytes, Any]", key: bytes, value: Any) -> None:
    """Keep ``value`` in ``cache``, forgetting the oldest entries past ``RECENT_BLOCKS``."""
    cache[key] = value
    while len(cache) > RECENT_BLOCKS:
        cache.popitem(last=False)


def set_sender(transaction: SignedTransactionAPI, sender: bytes) -> None:
    """Fix the sender py-evm would otherwise recover from the signature (a cached property)."""
    transaction.__dict__["sender"] = sender


@lru_cache(maxsize=16)
def next_header(vm_class: type, parent: BlockHeaderAPI, timestamp: int) -> BlockHeaderAPI:
    """The header py-evm makes for the block after ``parent`` at ``timestamp``, made once."""
    return vm_class.create_header_from_parent(
        parent, coinbase=parent.coinbase, timestamp=timestamp
    )


@lru_cache(maxsize=16)
def calling_vm_class(
    vm_class: type, parent_hash: bytes, changes: Tuple[Tuple[str, Any], ...]
) -> type:
    """
    ``vm_class`` whose calls run in the block after its header, as py-evm's
    do, but with ``parent_hash`` as that block's parent (BLOCKHASH of it is
    the block as mined, even on an edited state) and ``changes`` (field,
    value pairs) made to the block. A block renumbered keeps BLOCKHASH by
    number, as geth does: the hash of a block up to the parent, zero for any
    later number. Made once per head and changes: every call and estimate
    asks for one.
    """
    changes = dict(changes)

    class CallingVM(vm_class):
        @contextmanager
        def in_costless_state(self):
            header = self.get_header()
            # py-evm's next header, timed as py-evm times it (a second after
            # the parent at least), and reused within that second.
            following = next_header(vm_class, header, new_timestamp_from_parent(header))
            free_header = following.copy(base_fee_per_gas=0, **changes)
            # Hashes of the blocks before the call's, newest first: the parent's
            # number is the header's; a renumbered block is that many away from it.
            # (lazily: a call rarely reads more than one, and each is a header read).
            mined = itertools.chain((parent_hash,), self.previous_hashes)
            distance = free_header.block_number - 1 - header.block_number
            if distance >= 0:
                # BLOCKHASH sees 256 blocks back: past that the hashes are never read.
                unknown = itertools.repeat(ZERO_HASH32, min(distance, BLOCKHASH_WINDOW))
                previous = itertools.chain(unknown, mined)
            else:
                previous = itertools.islice(mined, -distance, None)
            state = self.build_state(self.chaindb.db, free_header, self.chain_context, previous)
            snapshot = state.snapshot()
            yield state
            state.revert(snapshot)

    return CallingVM


def overridden(changes: Dict[str, Any], overrides) -> Dict[str, Any]:
    """Header ``changes`` with ``overrides`` (``BlockOverrides`` or None) on top."""
    changes = dict(changes)
    if overrides is not None and overrides.number is not None:
        changes["block_number"] = overrides.number
    if overrides is not None and overrides.time is not None:
        changes["timestamp"] = overrides.time
    return changes


def call_on(vm, transaction: SpoofTransaction, seconds: Optional[float]):
    """
    Execute ``transaction`` on ``vm``'s state without persisting, at zero
    cost, for at most ``seconds``: the computation. Needs no lock: the state
    is the call's own, and the database below it is only read.
    """
    with vm.in_costless_state() as state, time_limit(seconds):
        return state.costless_execute_transaction(transaction)


def estimate_gas_on(vm, transaction: SpoofTransaction, seconds: Optional[float]) -> int:
    """
    The least gas ``transaction`` succeeds with on ``vm``'s state, up to its
    gas and the block gas limit. Each run, not the search, gets ``seconds``.
    """
    with vm.in_costless_state() as state:
        cap = min(transaction.gas, state.gas_limit)
        runs = state_runs(state, transaction, lambda: time_limit(seconds))
        return least_gas(transaction, cap, runs)


def trace_call_on(vm, transaction: SpoofTransaction, tracer, seconds: Optional[float]):
    """``transaction`` run as ``call_on`` runs it, traced by ``tracer``: the trace."""
    traced = traced_copy(vm, tracer)
    tracer.active = True
    computation = call_on(traced, transaction, seconds)
    return tracer.result(computation, traced.finalize_gas_used(transaction, computation))


def access_list_on(vm, transaction: SpoofTransaction, seconds: Optional[float]):
    """
    EIP-2930: what ``transaction`` touches on ``vm``'s state, then the gas it
    uses listing that (as anvil answers); each run gets ``seconds``.
    """
    tracer = AccessListTracer(left_out_of_access_lists(vm, transaction))
    computation = call_on(traced_copy(vm, tracer), transaction, seconds)
    if computation.is_error:  # answered as eth_call answers it: no second run, no gas
        return AccessListOutcome(tracer.access_list, 0, computation)
    listed = with_access_list(vm, transaction, tracer.access_list)
    computation = call_on(vm, listed, seconds)
    return AccessListOutcome(
        tracer.access_list, vm.finalize_gas_used(listed, computation), computation
    )


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
    vm_class = accel.accelerate(vm_class) if accelerated else vm_class
    # anvil's controls of the next headers come with its other edits (off on an L2).
    return with_header_controls(vm_class) if config.state_edits else vm_class


def genesis_chain(config: DevnetConfig, vm_class: type, accounts: List[DevAccount]):
    """A new chain at genesis: the funded accounts and the configured predeploys."""
    balance = config.balance_ether * WEI_PER_ETHER
    return new_chain(
        vm_class,
        config.chain_id,
        {
            **{account.address: GenesisAccount(balance=balance) for account in accounts},
            **config.predeploys,
        },
        gas_limit=config.gas_limit,
        timestamp=(
            int(time.time()) if config.genesis_timestamp is None else config.genesis_timestamp
        ),
        base_fee_per_gas=config.base_fee_per_gas,
        # As on anvil, the first block pays the configured base fee.
        gas_used=config.gas_limit // ELASTICITY_MULTIPLIER,
    )


def make_head(chain, header) -> None:
    """Make ``header`` the canonical head of ``chain``, whatever came after it."""
    chain.chaindb._set_as_canonical_chain_head(chain.chaindb.db, header, GENESIS_PARENT_HASH)


@dataclass(frozen=True)
class TransactionLocation:
    block_number: int
    index: int


@dataclass(frozen=True)
class SavedChain:
    """A chain with what the devnet knows about it besides its database (a loaded dump)."""

    chain: Any
    head: Any
    head_state_root: bytes
    locations: Dict[bytes, TransactionLocation]
    senders: Dict[bytes, bytes]
    edited_pre_states: Dict[bytes, bytes] = field(default_factory=dict)


class ChainBackend:
    """One chain and its reads; the caller holds the devnet's lock."""

    def __init__(self, config: DevnetConfig, vm_class: type, accounts: List[DevAccount]) -> None:
        self.config, self.vm_class, self.accounts = config, vm_class, accounts
        # Recent blocks and their receipts by block hash, and the read-only head state.
        self._blocks: "OrderedDict[bytes, BlockAPI]" = OrderedDict()
        self._receipts: "OrderedDict[bytes, tuple]" = OrderedDict()
        self._head_state = None
        self._next_base_fee: Optional[Tuple[bytes, int]] = None
        # The canonical head header as last decoded, by its hash (a header never changes).
        self._head: Optional[Tuple[bytes, BlockHeaderAPI]] = None
        self.reset()

    def reset(self) -> None:
        """Back to a new genesis: no blocks, no transactions, no edits."""
        self.chain = genesis_chain(self.config, self.vm_class, self.accounts)
        # The head's state, which state edits move away from the head header's root.
        self.head_state_root = self.head().state_root
        # Blocks built on an edited head state (anvil_setCode...): hash -> the state they ran on.
        self.edited_pre_states: Dict[bytes, bytes] = {}
        self.locations: Dict[bytes, TransactionLocation] = {}
        # The real sender of each transaction whose signature does not name it
        # (sent from an impersonated address).
        self.senders: Dict[bytes, bytes] = {}
        self.controls = HeaderControls()

    @property
    def chain_id(self) -> int:
        return self.config.chain_id

    # -- blocks and receipts --

    def head(self) -> BlockHeaderAPI:
        # Asked several times per request and per block: the head's hash is one database
        # read, decoding its header again costs ten times that.
        chaindb = self.chain.chaindb
        head_hash = chaindb._get_canonical_head_hash(chaindb.db)
        if self._head is None or self._head[0] != head_hash:
            self._head = (head_hash, chaindb.get_block_header_by_hash(head_hash))
        return self._head[1]

    def block_number(self, tag: Union[int, str, bytes]) -> int:
        """
        The number of the block a client names: a number up to the head, its
        hash, or a tag (this devnet's latest block is also its pending, safe and finalized one
        for reads; calls at pending run after the pending transactions).
        """
        head = self.head().block_number
        if tag == "earliest":
            return 0
        if isinstance(tag, bytes):  # a block hash (EIP-1898)
            block = self.block_by_hash(tag)
            if block is None:
                raise InvalidArgument(f"no block of this chain has the hash 0x{tag.hex()}")
            return block.number
        if isinstance(tag, str):
            return head
        if tag > head:
            raise InvalidArgument(f"block {tag} is beyond the head {head}")
        return tag

    def block(self, number: int) -> BlockAPI:
        block_hash = self.chain.chaindb.get_canonical_block_hash(number)
        block = self._blocks.get(block_hash)
        if block is None:
            block = self.chain.get_block_by_hash(block_hash)
            remember(self._blocks, block_hash, block)
        return self.with_senders(block)

    def block_by_hash(self, block_hash: bytes) -> Optional[BlockAPI]:
        """
        The chain's block with this hash; None if it has none, or if a revert
        or a rewind left it behind (anvil forgets those too).
        """
        chaindb = self.chain.chaindb
        try:
            number = chaindb.get_block_header_by_hash(block_hash).block_number
        except Exception:  # unknown hash (py-evm raises several kinds)
            return None
        if number > self.head().block_number:
            return None
        if chaindb.get_canonical_block_hash(number) != block_hash:
            return None
        return self.block(number)

    def with_senders(self, block: BlockAPI) -> BlockAPI:
        """Give impersonated transactions back the sender their signature does not name."""
        for transaction in block.transactions:
            sender = self.senders.get(transaction.hash)
            if sender is not None:
                set_sender(transaction, sender)
        return block

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

    def next_base_fee(self) -> int:
        """The base fee of the block mined next."""
        if self.controls.base_fee is not None:
            return self.controls.base_fee
        head = self.head()
        # EIP-1559 derives it from the head header alone (every fork here is London or
        # later): kept for the head it was made for, since each sent transaction asks twice.
        if self._next_base_fee is None or self._next_base_fee[0] != head.hash:
            self._next_base_fee = (head.hash, calculate_expected_base_fee_per_gas(head))
        return self._next_base_fee[1]

    # -- states --

    def state_at(self, number: Optional[int] = None):
        """The state after block ``number`` (the head, with any edits, by default)."""
        return self.chain.get_vm(self.header_at(number)).state

    def header_at(self, number: Optional[int]):
        if number is None or number == self.head().block_number:
            return self.head().copy(state_root=self.head_state_root)
        return self.block(number).header

    def head_state(self):
        """
        The head state for reading only (nonces and balances of incoming
        transactions): one state object per head, not one per question.
        """
        key = self._head_state_key(self.head().hash)
        if self._head_state is None or self._head_state[0] != key:
            self._head_state = (key, self.state_at())
        return self._head_state[1]

    def _head_state_key(self, head_hash: bytes) -> tuple:
        return (self.chain, head_hash, self.head_state_root)

    # -- calls --

    def vm_at(self, number: Optional[int] = None, overrides=None):
        """
        A VM for calls on block ``number``'s state (the head, with any edits,
        by default). A call runs in the block after ``number``, as the next
        block would; ``overrides`` (``BlockOverrides``) change its number and
        timestamp.
        """
        # The block as mined: an edited state changes the header's hash, not the block's.
        mined = self.head() if number is None else self.block(number).header
        return self._calling_vm(self.header_at(number), mined.hash, overridden({}, overrides))

    def vm_after(self, pending: BuiltBlock, chain, overrides=None):
        """
        A VM for calls in ``pending`` (the next block, run on ``chain``, a
        write buffer of this chain) after its transactions: its state,
        timestamp and coinbase, with ``overrides``.
        """
        header = pending.block.header
        changes = {
            "state_root": header.state_root,
            "timestamp": header.timestamp,
            "coinbase": header.coinbase,
        }
        return self._calling_vm(
            self.header_at(None), self.head().hash, overridden(changes, overrides), chain
        )

    def _calling_vm(self, header, parent_hash: bytes, changes: Dict[str, Any], chain=None):
        chain = chain or self.chain
        # Its SSTOREs note the gas they start with: gas estimates take one run for that.
        vm_class = calling_vm_class(
            gauging_sstores(chain.get_vm_class(header)), parent_hash, tuple(sorted(changes.items()))
        )
        return vm_class(
            header=header,
            chaindb=chain.chaindb,
            chain_context=ChainContext(chain.chain_id),
            consensus_context=chain.consensus_context,
        )

    def estimate_gas(self, transaction: SpoofTransaction) -> int:
        """The least gas the transaction succeeds with at the head (exact, as anvil's search)."""
        return estimate_gas_on(self.vm_at(None), transaction, self.config.call_timeout)

    def execution_witness(self, number: int):
        """The ``ExecutionWitness`` that proves block ``number`` statelessly."""
        return execute_with_witness(self.chain, self.block(number)).witness

    def trace(
        self, transaction_hash: bytes, tracer, seconds: Optional[float] = None
    ) -> Optional[Dict[str, Any]]:
        """
        A mined transaction traced by ``tracer``, for at most ``seconds`` (the
        replay writes to its own copy of the state); None if it is in no block.
        """
        found = self.receipt(transaction_hash)
        if found is None:
            return None
        block, index, _ = found
        edited = self.edited_pre_states.get(block.hash)
        with time_limit(seconds):
            return trace_transaction(self.chain, block, index, tracer, edited)

    # -- changing the head --

    def add_block(self, built: BuiltBlock) -> None:
        """Take in a block just built on the head: it is the head now."""
        block, state, receipts = built
        if self.head_state_root != self.head().state_root:  # built on the head's edits
            self.edited_pre_states[block.hash] = self.head_state_root
        self.head_state_root = block.header.state_root
        remember(self._blocks, block.hash, block)
        remember(self._receipts, block.hash, receipts)
        self._head_state = (self._head_state_key(block.hash), state)
        for index, transaction in enumerate(block.transactions):
            self.locations[transaction.hash] = TransactionLocation(block.number, index)
        self.controls.block_mined()
        # The new head's header is this block's: not decoded again from the database. Made
        # the head last, so that a reader without the lock who sees it finds its receipts.
        self._head = (block.hash, block.header)

    def set_head(self, number: int, block_hash: bytes, state_root: bytes) -> None:
        """Make an earlier block the head again, at ``state_root``; later transactions are gone."""
        make_head(self.chain, self.chain.get_block_header_by_hash(block_hash))
        self.head_state_root = state_root
        self.locations = {
            tx_hash: location
            for tx_hash, location in self.locations.items()
            if location.block_number <= number
        }

    def restore(self, saved: SavedChain) -> None:
        """Run on a loaded chain instead of this one."""
        make_head(saved.chain, saved.head)
        self.chain, self.locations = saved.chain, saved.locations
        self.head_state_root, self.senders = saved.head_state_root, saved.senders
        self.edited_pre_states = saved.edited_pre_states

    def set_account(self, address: bytes, **fields) -> None:
        """
        anvil_setBalance/setNonce/setCode/setStorageAt: edit the head state in
        place. The edits take effect at once, as on anvil: reads at the head and
        the next block start from the edited state, which no header commits to.
        """
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
        self.head_state_root = state.state_root
