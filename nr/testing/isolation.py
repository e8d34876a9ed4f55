"""
One snapshot across L1, every L2, the sequencers' cursors and the proof
pools, taken and restored together, on a stack unwound in order (titanoboa's
way: pytest may finalize fixtures out of order). After each restore the heads
and state roots are checked, not assumed.
"""

import time
import warnings
from contextlib import ContextDecorator
from dataclasses import dataclass, field
from typing import Any, List, Optional, Tuple

from precompile.constants import EXECUTE_PRECOMPILE_ADDRESS

# What a chain's head is: (number, hash, state root).
Head = Tuple[int, bytes, bytes]


class IsolationError(Exception):
    """A snapshot could not be taken or restored as it was."""


class LeftoverWrites(UserWarning):
    """A finished fixture's writes stay on the chains, under a later fixture's still in use."""


class LocalChain:
    """An in-process ``l1.node.Devnet`` (the embedded L1, or an L2 node)."""

    # Its mark reads the node's own state, whoever wrote to it.
    sees_every_client = True

    def __init__(self, name: str, devnet) -> None:
        self.name, self.devnet = name, devnet

    def head(self) -> Head:
        header = self.devnet.head()
        return header.block_number, header.hash, self.devnet.backend.head_state_root

    def mark(self) -> Any:
        """Equal to a later mark exactly when nothing a snapshot restores changed between."""
        return self.devnet.mark(), self.devnet.parent_beacon_block_root

    def snapshot(self) -> Any:
        # The anchor of the next L2 block and the node's settings (mining mode, coinbase,
        # gas limit, chain id, impersonation) are no chain state: kept beside it.
        devnet = self.devnet
        return devnet.snapshot(), devnet.parent_beacon_block_root, devnet.settings()

    def revert(self, taken: Any) -> bool:
        snapshot_id, anchor, settings = taken
        if not self.devnet.revert(snapshot_id):
            return False
        self.devnet.parent_beacon_block_root = anchor
        self.devnet.restore_settings(settings)
        return True


# What a request to a node over JSON-RPC that changes nothing a snapshot holds starts with
# or is: reads (signing with a node's key, installing a log filter), and the snapshots.
READ_PREFIXES = ("eth_get", "eth_sign", "net_", "web3_", "debug_", "txpool_", "nr_get")
READS = frozenset(
    {
        "eth_call",
        "eth_estimateGas",
        "eth_chainId",
        "eth_blockNumber",
        "eth_coinbase",
        "eth_gasPrice",
        "eth_maxPriorityFeePerGas",
        "eth_blobBaseFee",
        "eth_feeHistory",
        "eth_accounts",
        "eth_syncing",
        "eth_createAccessList",
        "eth_simulateV1",
        "eth_newFilter",
        "eth_newBlockFilter",
        "eth_newPendingTransactionFilter",
        "eth_uninstallFilter",
        "anvil_nodeInfo",
        "anvil_dumpState",
        "nr_proverRegistry",
        "nr_awaitingProofs",
        "nr_proofPoolDigest",
        "evm_snapshot",
        "evm_revert",
    }
)
# A call or an estimate that reaches EXECUTE notes its input in the node's proof pool: then
# a proof for it is judged, not held. That is a change.
EXECUTE_ADDRESS = "0x" + EXECUTE_PRECOMPILE_ADDRESS.hex()


def changes_the_node(method: str, params: Any) -> bool:
    """Whether a request may change what a snapshot holds (any method not known to read)."""
    if method in ("eth_call", "eth_estimateGas"):
        return reaches_execute(params)
    return not method.startswith(READ_PREFIXES) and method not in READS


def reaches_execute(params: Any) -> bool:
    """Whether a call's parameters send it to EXECUTE (or, with no ``to``, may reach it)."""
    call = params[0] if isinstance(params, (list, tuple)) and params else None
    if not isinstance(call, dict):
        return True
    return str(call.get("to") or EXECUTE_ADDRESS).lower() == EXECUTE_ADDRESS


class RemoteChain:
    """
    A node over JSON-RPC with ``evm_snapshot`` and ``evm_revert`` (anvil's
    semantics). No standard request tells everything such a snapshot holds
    (pending transactions, settings, edited balances), so the requests the
    session's own client sent that may change it, counted and taken back with
    each revert, tell whether a fixture changed it; beside them, the proof
    pool's digest where the node has one (nr devnet, nr up).
    """

    # Its mark counts the session client's requests: another client's writes go unseen.
    sees_every_client = False

    def __init__(self, name: str, web3) -> None:
        self.name, self.web3 = name, web3
        self.requests_that_change = 0
        self.has_proof_pool = True
        provider = web3.provider
        make_request, make_batch_request = provider.make_request, provider.make_batch_request

        def counted(method: str, params: Any) -> Any:
            self.requests_that_change += changes_the_node(method, params)
            return make_request(method, params)

        def counted_batch(requests) -> Any:
            self.requests_that_change += sum(
                changes_the_node(method, params) for method, params in requests
            )
            return make_batch_request(requests)

        provider.make_request, provider.make_batch_request = counted, counted_batch

    def head(self) -> Head:
        block = self.web3.eth.get_block("latest")
        return block.number, bytes(block.hash), bytes(block.stateRoot)

    def mark(self) -> Any:
        return self.head(), self.requests_that_change, self.proof_pool_digest()

    def proof_pool_digest(self) -> Optional[str]:
        """
        The node's proof pool digest: a call that reaches EXECUTE through a
        contract (no request says so) changes it by noting a payload. None from
        a node without a pool (anvil: it has no EXECUTE either).
        """
        if not self.has_proof_pool:
            return None
        answer = self.web3.provider.make_request("nr_proofPoolDigest", [])
        self.has_proof_pool = "result" in answer
        return answer.get("result")

    def snapshot(self) -> Any:
        # The chain id too: a test that changes it would otherwise leave the node refusing
        # the next session (the other settings have no standard way to be read back).
        request = self.web3.provider.make_request
        taken = request("evm_snapshot", [])["result"], request("eth_chainId", [])["result"]
        return (*taken, self.requests_that_change)

    def revert(self, taken: Any) -> bool:
        snapshot_id, chain_id, requests_that_change = taken
        request = self.web3.provider.make_request
        if not request("evm_revert", [snapshot_id]).get("result"):
            return False
        if request("eth_chainId", [])["result"] != chain_id:
            request("anvil_setChainId", [chain_id])
        self.requests_that_change = requests_that_change
        return True


class ClientSettings:
    """
    What a test may change on a session's shared web3.py client: the account
    transactions without ``from`` come from, the block reads default to, the
    gas price strategy, bytes checking, the provider's caching, and the
    middlewares.
    """

    def __init__(self, web3) -> None:
        self.web3 = web3

    def saved(self) -> Tuple[Any, ...]:
        web3 = self.web3
        return (
            web3.eth.default_account,
            web3.eth.default_block,
            web3.eth._gas_price_strategy,  # web3.py has a setter for it and no getter
            web3.strict_bytes_type_checking,
            getattr(web3.provider, "cache_allowed_requests", None),
            tuple(web3.middleware_onion.middleware),
        )

    def restore(self, saved: Tuple[Any, ...]) -> None:
        if saved == self.saved():
            return
        web3 = self.web3
        default_account, default_block, gas_price_strategy, strict_bytes, caching, middleware = (
            saved
        )
        web3.eth.default_account, web3.eth.default_block = default_account, default_block
        web3.eth.set_gas_price_strategy(gas_price_strategy)
        web3.strict_bytes_type_checking = strict_bytes
        if caching is not None:
            web3.provider.cache_allowed_requests = caching
        onion = web3.middleware_onion
        if tuple(onion.middleware) != middleware:
            onion.clear()
            for element, name in reversed(middleware):  # outermost last, as they were added
                onion.add(element, name)


@dataclass
class Point:
    """Everything one snapshot holds."""

    chains: List[Tuple[Any, Any, Head]]
    sequencers: List[Tuple[Any, dict]]
    # Off-chain parts (the known revert sites, the clients' settings): each with what it saved.
    parts: List[Tuple[Any, Any]]


@dataclass
class Entry:
    label: str
    point: Point
    # The fixture's pytest scope; None for a test body or an ``isolate()`` block.
    scope: Optional[str] = None
    # Where its fixture is defined (file, line): what a warning about it points at.
    where: Optional[Tuple[str, int]] = None
    done: bool = False
    # Before its fixture's setup, and before its teardown: every part's mark (``World.marks``).
    marks: Optional[list] = None
    teardown_marks: Optional[list] = None
    # Once its fixture is set up: every part's mark then.
    settled_marks: Optional[list] = None
    # Set once its fixture is set up: whether that changed nothing a snapshot holds (its
    # value is all it made), so that what lies below it may be restored without losing it.
    neutral: bool = False


@dataclass
class Cost:
    """The plugin's own time: snapshots taken and restored, and how long they took."""

    snapshots: int = 0
    restores: int = 0
    # Taking snapshots, and telling whether a fixture's setup changed anything.
    snapshot_seconds: float = 0.0
    restore_seconds: float = 0.0


@dataclass
class World:
    """The chains and off-chain parts a test can change, and the stack of their snapshots."""

    chains: list = field(default_factory=list)
    sequencers: list = field(default_factory=list)
    parts: list = field(default_factory=list)
    stack: List[Entry] = field(default_factory=list)
    cost: Cost = field(default_factory=Cost)
    # Why a restore failed, once one did: the chains are no longer as any snapshot left them.
    broken: Optional[str] = None
    # Told before and after each restore (``before_restore()``, ``after_restore()``): what
    # reads the blocks a restore takes away (the --gas table) reads them first.
    restore_watchers: list = field(default_factory=list)

    def add_chain(self, chain) -> None:
        self.chains.append(chain)

    def add_sequencer(self, sequencer) -> None:
        self.sequencers.append(sequencer)

    def add_part(self, part) -> None:
        """Something off the chains a test can change, with ``saved()`` and ``restore(saved)``."""
        self.parts.append(part)

    # -- one snapshot --

    def snapshot(self) -> Point:
        started = time.perf_counter()
        point = Point(
            [(chain, chain.snapshot(), chain.head()) for chain in self.chains],
            [(sequencer, sequencer.cursor()) for sequencer in self.sequencers],
            [(part, part.saved()) for part in self.parts],
        )
        self.cost.snapshots += 1
        self.cost.snapshot_seconds += time.perf_counter() - started
        return point

    def marks(self) -> list:
        """
        Every chain's, sequencer's and off-chain part's state as a value: two
        lists are equal exactly when nothing a snapshot restores changed.
        """
        return [
            *(chain.mark() for chain in self.chains),
            *(sequencer.cursor() for sequencer in self.sequencers),
            *(part.saved() for part in self.parts),
        ]

    def restore(self, point: Point) -> None:
        """Every part back to ``point``; IsolationError naming each chain that did not go back."""
        try:
            for watcher in self.restore_watchers:
                watcher.before_restore()
        finally:  # a watcher that fails does not keep the chains from going back
            try:
                self._restore(point)
            finally:
                for watcher in self.restore_watchers:
                    watcher.after_restore()

    def _restore(self, point: Point) -> None:
        started = time.perf_counter()
        problems = []
        for chain, taken, head in point.chains:
            if not chain.revert(taken):
                problems.append(
                    f"{chain.name}: the node no longer has the snapshot taken at block {head[0]}"
                    " (reverted, reset or restarted outside the plugin?)"
                )
                continue
            now = chain.head()
            if now != head:
                problems.append(f"{chain.name}: {describe_heads(head, now)}")
        for sequencer, cursor in point.sequencers:
            sequencer.restore_cursor(cursor)
        for part, saved in point.parts:
            part.restore(saved)
        self.cost.restores += 1
        self.cost.restore_seconds += time.perf_counter() - started
        if problems:
            self.broken = "after restoring the snapshot, " + "; ".join(problems)
            raise IsolationError(self.broken)

    # -- the stack --

    def push(
        self, label: str, scope: Optional[str] = None, where: Optional[Tuple[str, int]] = None
    ) -> Entry:
        """
        A snapshot on the stack for a test body, a block, or a fixture of
        ``scope`` (defined at ``where``).
        """
        started = time.perf_counter()
        marks = self.marks()
        self.cost.snapshot_seconds += time.perf_counter() - started
        entry = Entry(label, self.snapshot(), scope, where, marks=marks)
        self.stack.append(entry)
        return entry

    def tearing_down(self, entry: Entry) -> None:
        """``entry``'s fixture is about to be torn down: what its teardown writes is its too."""
        started = time.perf_counter()
        entry.teardown_marks = self.marks()
        self.cost.snapshot_seconds += time.perf_counter() - started

    def settled(self, entry: Entry) -> None:
        """``entry``'s fixture is set up: note whether its setup changed anything."""
        started = time.perf_counter()
        entry.settled_marks = self.marks()
        entry.neutral = entry.settled_marks == entry.marks
        self.cost.snapshot_seconds += time.perf_counter() - started

    def finish(self, entry: Entry, strict: bool = False) -> None:
        """
        Mark ``entry`` done and restore from the top while the top is done.
        pytest may finalize out of order (a parametrized fixture's next value,
        a wider fixture set up inside a test): entries above ``entry`` still in
        use whose setup changed no chain are kept, snapshotted again below it,
        and ``entry`` is restored now. Above one that did change a chain,
        ``entry``'s writes wait for it (a session fixture first set up after a
        module fixture, as in titanoboa), with a LeftoverWrites warning;
        ``strict`` (a test body, whose writes the next test must not see) makes
        that an IsolationError instead, unless the body wrote nothing of its
        own. An entry whose fixture changed nothing in its setup and teardown
        has nothing to wait with: it goes silently.
        """
        if entry.done:  # finished already (a failed setup, then its finalizer)
            return
        entry.done = True
        if entry not in self.stack:  # gone already: a restore below it took it
            return
        position = self.stack.index(entry)
        in_use = [later for later in self.stack[position + 1 :] if not later.done]
        if in_use and all(later.neutral for later in in_use):
            del self.stack[position:]
            self.restore(entry.point)
            for later in in_use:
                later.point = self.snapshot()
                self.stack.append(later)
        while self.stack and self.stack[-1].done:
            self.restore(self.stack.pop().point)
        if entry not in self.stack:
            return
        above = self.stack[self.stack.index(entry) + 1]
        wrote_nothing = entry.neutral and (
            entry.teardown_marks is None or entry.teardown_marks == self.marks()
        )
        if wrote_nothing and above.marks == entry.marks:
            # Its setup changed nothing, nor did anything from then to the snapshot above it:
            # nothing of it lies under the entries still in use.
            self.stack.remove(entry)
            return
        if wrote_nothing:  # nothing of its own is left: the writes above are others' to own
            return
        # A function fixture set up inside a test body ends in that test's teardown, and
        # the body's writes go with it: only wider holders keep them.
        holders = [
            later
            for later in in_use
            if not later.neutral and not (strict and later.scope == "function")
        ]
        if not holders:
            return
        if strict and self.only_wider_setups_above(entry):
            # A test body that asked late for a wider fixture and wrote nothing of its own:
            # what lies above its snapshot is that fixture's, which holds it while in use.
            self.stack.remove(entry)
            return
        leftover = leftover_writes(entry, holders)
        if strict:
            raise IsolationError(leftover)
        if entry.where is None:
            warnings.warn(LeftoverWrites(leftover), stacklevel=2)
        else:
            warnings.warn_explicit(LeftoverWrites(leftover), LeftoverWrites, *entry.where)

    def only_wider_setups_above(self, entry: Entry) -> bool:
        """
        Whether everything that changed since ``entry``'s snapshot came from the
        setups of wider fixtures above it: each began where the one before
        ended, nothing changed after the last, and none that changed anything
        ends with the test (a function fixture's writes are the test's). Only
        where every chain's mark sees every client's writes (an embedded node,
        not one over RPC, which another client may have changed unseen).
        """
        if not all(chain.sees_every_client for chain in self.chains):
            return False
        ended = entry.marks
        for later in self.stack[self.stack.index(entry) + 1 :]:
            if later.settled_marks is None or later.marks != ended:
                return False
            if later.scope == "function" and not later.neutral:
                return False
            ended = later.settled_marks
        return ended == self.marks()

    def leftovers(self) -> List[str]:
        """The finished entries whose writes are still on the chains, bottom first."""
        return [entry.label for entry in self.stack if entry.done and not entry.neutral]

    def isolate(self, label: str = "block") -> "Isolated":
        """Whatever the block changes on any chain is undone when it ends (a new snapshot each
        time: a node forgets a snapshot once reverted to it)."""
        return Isolated(self, label)

    def pending(self) -> Optional[str]:
        """The snapshots still on the stack, bottom first, or None."""
        return ", ".join(entry.label for entry in self.stack) or None


class Isolated(ContextDecorator):
    """
    ``World.isolate``'s block: a snapshot when it starts, restored when it
    ends. A class, not a generator: a block a test opened and never closed
    stays open, and is not closed later by the garbage collector on nodes
    that are gone.
    """

    def __init__(self, world: World, label: str) -> None:
        self.world, self.label = world, label
        # One snapshot per entry: the same block may be entered again inside itself (a
        # recursive function it decorates).
        self.entries: List[Entry] = []

    def __enter__(self) -> None:
        self.entries.append(self.world.push(self.label))

    def __exit__(self, *exc_info) -> bool:
        self.world.finish(self.entries.pop())
        return False


def leftover_writes(entry: Entry, holders: List[Entry]) -> str:
    """Why ``entry``'s writes stay on the chains after it ended, and what to do about it."""
    if all(holder.scope is None for holder in holders):  # isolate() blocks it opened
        return (
            f"{entry.label} ended with an isolate() block opened in it still open: what it"
            " wrote stays until that block ends; use isolate() as `with isolate(): ...`"
        )
    names = ", ".join(holder.label for holder in holders)
    return (
        f"{entry.label} ended while {names}, set up after it, is still in use and changed"
        f" a chain on top of what {entry.label} wrote: those writes stay until it ends,"
        " and every test meanwhile sees them. Name that fixture among the arguments from the"
        " start (not through request.getfixturevalue), or give it a scope that ends first"
    )


def describe_heads(expected: Head, found: Head) -> str:
    number, block_hash, state_root = expected
    found_number, found_hash, found_root = found
    return (
        f"expected head {number} (hash 0x{block_hash.hex()}, state root 0x{state_root.hex()}),"
        f" found {found_number} (hash 0x{found_hash.hex()}, state root 0x{found_root.hex()})"
    )
