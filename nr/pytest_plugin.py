"""
The pytest plugin (registered through ``pytest11``): fixtures for L2
integration tests against EXECUTE (``l1``, ``w3``, ``accounts``, ``rollup``,
``l2``, ``prover``, ``deploy``, ``chain``), each test and each fixture
isolated by one snapshot across L1 and every L2 (``nr.testing.isolation``),
``--native-rollups-l1`` for a running node as the L1 (the rollups deployed
on it, their L2 nodes here), ``--gas``, and the plugin's own snapshot cost in
the terminal summary.

Importing it changes nothing: the project's speed-ups (``l1.accel``) are
switched on by the session fixture that starts the embedded nodes, as
``nr devnet`` runs, and off again at the session's end if they were off.
"""

import functools
import ipaddress
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Union
from urllib.parse import urlparse

import pytest
from web3 import Web3

from l1 import accel
from l1.accounts import derive_accounts
from l1.node import Devnet, DevnetConfig
from precompile.execute import (
    EXECUTE_MODES,
    EXECUTE_PRECOMPILE_ADDRESS,
    REEXECUTE_MODE,
    ExecuteParameters,
)
from rollup.rollup import Rollup
from rollup.stages import InvalidPreset, load_preset

from .testing import assertions, revert_sites
from .testing.artifacts import abi_and_bytecode, deploy_contract, vyper_positions, vyper_source
from .testing.chains import ChainControl, Chains
from .testing.clients import lean_client
from .testing.composable import ComposableChains
from .testing.gas import GasTable
from .testing.isolation import Cost, LocalChain, RemoteChain, World
from .testing.proving import Prover, ProverUnavailable, RemoteProver

DEFAULT_STAGE = 1
# Where snapshots are taken: around the test body, and before fixtures of each pytest scope.
SCOPES = ("test", "function", "class", "module", "package", "session")
DEFAULT_CHAIN_ID = 31337
# Fixtures that only hand out what the session holds: no snapshot around them.
PLUGIN_FIXTURES = {
    "_native_rollups", "l1", "w3", "accounts", "rollup", "rollups", "l2", "prover", "deploy",
    "chain", "isolate", "composable", "composables",
}
# A test asking for one of these has its stage's rollup deployed at the session's start.
ROLLUP_FIXTURES = {"rollup", "rollups", "l2"}
# A test asking for this has its stage's composable rollup (and slot-mode L1) deployed too.
COMPOSABLE_FIXTURES = {"composable", "composables"}
# Who lands based blocks for the composable fixture: an account no other fixture pays from.
BUILDER_ACCOUNT = 7


class RollupsByStage(dict):
    """The ``rollups`` fixture's dict: a stage no test asked for is explained, not a KeyError."""

    def __missing__(self, stage):
        deployed = ", ".join(map(repr, self)) or "none"
        raise LookupError(
            f"rollups[{stage!r}]: no rollup of stage {stage!r} in this session (deployed: "
            f"{deployed}); a stage is deployed when a selected test asks for the rollup, rollups"
            f" or l2 fixture under @pytest.mark.stage({stage!r})"
        )


@dataclass
class Network:
    """What one test session runs against."""

    world: World
    l1: Any
    w3: Web3
    rollups: Dict[Any, Rollup] = field(default_factory=RollupsByStage)
    composables: Dict[Any, ComposableChains] = field(default_factory=dict)
    # Where each chain's web3 is, for the gas report.
    web3s: Dict[str, Web3] = field(default_factory=dict)


@dataclass
class PluginState:
    stages: List[Any] = field(default_factory=list)
    composable_stages: List[Any] = field(default_factory=list)
    session: Optional[Network] = None
    external: Optional[Web3] = None
    tests: int = 0
    isolated_tests: int = 0
    gas: Optional[GasTable] = None
    # The session's snapshot cost, kept for the summary after its fixtures are gone.
    cost: Optional[Cost] = None


STATE = pytest.StashKey[PluginState]()


# -- options and markers --


def pytest_addoption(parser) -> None:
    group = parser.getgroup("native-rollups", "native-rollups L2 integration tests")
    group.addoption(
        "--native-rollups-l1", metavar="URL", default=None,
        help="run against a running L1 node (nr devnet, nr up, anvil) instead of the embedded "
        "devnet; it must answer evm_snapshot and evm_revert",
    )
    group.addoption(
        "--native-rollups-allow-remote", action="store_true",
        help="allow --native-rollups-l1 on another machine (its chain is snapshotted and "
        "reverted by every test)",
    )
    group.addoption(
        "--native-rollups-chain-id", type=int, default=DEFAULT_CHAIN_ID, metavar="ID",
        help=f"the chain id --native-rollups-l1 must have (default {DEFAULT_CHAIN_ID})",
    )
    group.addoption(
        "--no-isolation", action="store_true",
        help="take no snapshots: state written by one test or fixture stays for the next",
    )
    group.addoption(
        "--no-isolation-scopes", metavar="SCOPES", default="",
        help="take no snapshots at these scopes, comma-separated: " + ", ".join(SCOPES)
        + " (test is the test body)",
    )
    group.addoption(
        "--native-rollups-execute", choices=EXECUTE_MODES, default=REEXECUTE_MODE,
        help="how the embedded L1 verifies L2 blocks: reexecute (default) or proofs (k of n "
        "execution proofs in its pool; the prover fixture makes them)",
    )
    group.addoption(
        "--gas", action="store_true",
        help="print gas used per contract and function on each chain",
    )


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers", "stage(stage): the rollup fixture's configuration: 0, 1, 2 or a preset path"
    )
    config.addinivalue_line(
        "markers", "no_isolation(*scopes): no snapshot around this test (or module, class) and"
        " its fixtures; with scopes (test, function, module, ...), only at those"
    )
    unknown = set(scopes_off(config.getoption("no_isolation_scopes"))) - set(SCOPES)
    if unknown:
        raise pytest.UsageError(
            f"--no-isolation-scopes: no scope {', '.join(sorted(unknown))}; the scopes are "
            + ", ".join(SCOPES)
        )
    config.stash[STATE] = PluginState(gas=GasTable() if config.getoption("gas") else None)


def pytest_sessionstart(session) -> None:
    url = session.config.getoption("native_rollups_l1")
    if url is not None:
        session.config.stash[STATE].external = connect_external(
            url, session.config.getoption("native_rollups_allow_remote"),
            session.config.getoption("native_rollups_chain_id"),
        )


def stage_of(node) -> Any:
    """The stage a test's rollup has: its (or its module's) ``stage`` marker, else 1."""
    marker = node.get_closest_marker("stage")
    if marker is None:
        return DEFAULT_STAGE
    if len(marker.args) != 1:
        raise pytest.UsageError(
            f"{node.nodeid}: the stage marker takes one stage (0, 1, 2) or a preset path"
        )
    return marker.args[0]


def asks_for_a_rollup(item, fixtures=ROLLUP_FIXTURES) -> bool:
    """Whether the test uses these fixtures of this plugin's (not a project's own of that name)."""
    definitions = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
    return any(
        definitions.get(name) and definitions[name][-1].func.__module__ == __name__
        for name in fixtures
    )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items) -> None:
    """The rollups the selected tests ask for, deployed once per session before any snapshot."""
    state = config.stash[STATE]
    for item in items:
        check_no_isolation_markers(item)
        for fixtures, stages in (
            (ROLLUP_FIXTURES, state.stages),
            (COMPOSABLE_FIXTURES, state.composable_stages),
        ):
            if not asks_for_a_rollup(item, fixtures):
                continue
            stage = stage_of(item)
            if stage not in stages:
                try:
                    load_preset(stage)
                except InvalidPreset as invalid:
                    raise pytest.UsageError(f"{item.nodeid}: stage marker: {invalid}") from None
                stages.append(stage)
    if state.external is not None and state.stages:
        missing = missing_execute(state.external)
        if missing:
            raise pytest.UsageError(
                f"--native-rollups-l1: {missing}; the rollups the selected tests ask for settle"
                " through it: run them against nr devnet or nr up"
            )


def check_no_isolation_markers(item) -> None:
    """UsageError for a ``no_isolation`` marker naming a scope there is not (a typo)."""
    for marker in item.iter_markers("no_isolation"):
        unknown = [scope for scope in marker.args if scope not in SCOPES]
        if unknown:
            raise pytest.UsageError(
                f"{item.nodeid}: no_isolation marker: no scope {', '.join(map(repr, unknown))};"
                f" the scopes are {', '.join(SCOPES)}"
            )


# -- external nodes --


def connect_external(url: str, allow_remote: bool, chain_id: int) -> Web3:
    """A web3 for ``url`` once it is on this machine (or allowed), of ``chain_id`` and able to
    snapshot; pytest.UsageError saying what is wrong otherwise."""
    where = f"--native-rollups-l1 {url}"
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise pytest.UsageError(f"{where}: give an http:// or https:// URL of the L1 node")
    if not allow_remote and not is_loopback(parsed.hostname):
        raise pytest.UsageError(
            f"{where}: {parsed.hostname} is not this machine; every test snapshots and reverts "
            "that chain, so pass --native-rollups-allow-remote if you mean it"
        )
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 10}))
    try:
        found = w3.eth.chain_id
    except Exception as error:  # any failure to connect: requests, timeouts, bad JSON
        raise pytest.UsageError(f"{where}: the node does not answer ({error})") from None
    if found != chain_id:
        raise pytest.UsageError(
            f"{where}: the node's chain id is {found}, not {chain_id}; pass "
            f"--native-rollups-chain-id {found} if it is the node you mean"
        )
    missing = missing_snapshot_support(w3)
    if missing:
        raise pytest.UsageError(
            f"{where}: the node cannot isolate tests: {missing} (nr devnet, nr up and anvil can)"
        )
    return w3


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def missing_snapshot_support(w3: Web3) -> Optional[str]:
    """What the node lacks of evm_snapshot / evm_revert, or None."""
    taken = w3.provider.make_request("evm_snapshot", [])
    if "error" in taken or taken.get("result") is None:
        return f"evm_snapshot failed: {taken.get('error', {}).get('message', 'no result')}"
    reverted = w3.provider.make_request("evm_revert", [taken["result"]])
    if "error" in reverted or reverted.get("result") is not True:
        return f"evm_revert failed: {reverted.get('error', {}).get('message', 'it returned false')}"
    return None


def missing_execute(w3: Web3) -> Optional[str]:
    """Why the node has no EXECUTE precompile (a call to it that takes no input), or None."""
    address = "0x" + EXECUTE_PRECOMPILE_ADDRESS.hex()
    answer = w3.provider.make_request("eth_call", [{"to": address, "data": "0x"}, "latest"])
    refusal = answer.get("error", {}).get("message", "")
    if "EXECUTE" in refusal:
        return None
    said = f"answered {refusal!r}" if refusal else "succeeded"
    return f"the node has no EXECUTE precompile at {address} (a call to it with no input {said})"


# -- the session --


@pytest.fixture(scope="session")
def _native_rollups(request):
    state = request.config.stash[STATE]
    was_on = accel.enabled()
    # The embedded nodes (the L1 and every L2 node) run as nr devnet runs them: accelerated.
    accel.enable()
    if state.external is not None:
        session = external_network(state.external)
    else:
        session = embedded_network(request.config.getoption("native_rollups_execute"))
    for stage in state.stages:
        add_rollup(session, stage, Rollup.deploy(session.w3, stage), state.gas)
    # A composable rollup runs on an L1 of its own in slot mode, embedded even beside an
    # external node (whose blocks come as it mines them, not by slot).
    for stage in state.composable_stages:
        builder = derive_accounts()[BUILDER_ACCOUNT]
        add_composable(session, stage, ComposableChains.deploy(stage, builder))
    state.session, state.cost = session, session.world.cost
    for web3 in session.web3s.values():
        if web3 is not state.external:  # a client of an embedded node
            lean_client(web3)
    note_session_chains(session)
    yield session
    state.session = None
    if not was_on:
        accel.disable()


def embedded_network(execute_mode: str) -> Network:
    """The session's own L1 devnet, in the EXECUTE mode asked for."""
    devnet = Devnet(DevnetConfig(execute=ExecuteParameters(mode=execute_mode)))
    w3 = devnet.web3()
    # Transactions without "from" come from account 0, on L1 and every L2.
    w3.eth.default_account = devnet.accounts[0].checksum_address
    session = Network(World(), devnet, w3, web3s={"L1": w3})
    session.world.add_chain(LocalChain("L1", devnet))
    session.world.add_part(devnet.proof_pool)
    return session


def external_network(w3: Web3) -> Network:
    """
    A running node as the L1 (``--native-rollups-l1``): snapshotted over
    JSON-RPC with the rest; the rollups' L2 nodes still run in this process.
    """
    w3.eth.default_account = derive_accounts()[0].checksum_address
    chain = RemoteChain("L1", w3)
    session = Network(World(), chain, w3, web3s={"L1": w3})
    session.world.add_chain(chain)
    return session


def add_rollup(session: Network, stage: Any, rollup: Rollup, gas: Optional[GasTable]) -> None:
    """A demo rollup on the session's L1, its L2 node snapshotted with every other chain."""
    name = f"L2 {rollup.config.l2_chain_id} (stage {stage})"
    session.rollups[stage] = rollup
    if gas is not None:
        gas.name_rollup(rollup)
    session.web3s[name] = rollup.l2_web3
    rollup.l2_web3.eth.default_account = session.w3.eth.default_account
    session.world.add_chain(LocalChain(name, rollup.l2))
    session.world.add_sequencer(rollup.sequencer)
    session.world.add_part(rollup.l2.proof_pool)


def add_composable(session: Network, stage: Any, chains: ComposableChains) -> None:
    """A composable rollup and its slot-mode L1 in the session, snapshotted with the rest."""
    session.composables[stage] = chains
    rollup = chains.rollup
    names = (f"L1 in slot mode (stage {stage})", f"L2 {rollup.config.l2_chain_id} (composable)")
    for name, devnet, web3 in zip(names, (chains.l1, rollup.l2), (chains.w3, chains.l2)):
        web3.eth.default_account = devnet.accounts[0].checksum_address
        session.web3s[name] = web3
        session.world.add_chain(LocalChain(name, devnet))
        session.world.add_part(devnet.proof_pool)
    session.world.add_sequencer(rollup.sequencer)


def note_session_chains(session: Network) -> None:
    """
    A new session's revert sites, noted on every chain's client (for
    ``reverts(dev=...)``), and its L2s by chain id (for EXECUTE diagnoses).
    """
    revert_sites.SITES = revert_sites.RevertSites()
    session.world.add_part(revert_sites.SITES)
    for web3 in session.web3s.values():
        revert_sites.watch(web3)
    assertions.KNOWN_L2S.clear()
    rollups = [*session.rollups.values(), *(c.rollup for c in session.composables.values())]
    for rollup in rollups:
        assertions.KNOWN_L2S[rollup.config.l2_chain_id] = rollup.l2_web3


def scopes_off(listed: str) -> List[str]:
    return [scope.strip() for scope in listed.split(",") if scope.strip()]


def isolating(config, node, scope: str) -> bool:
    """Whether to snapshot at ``scope`` ("test" for the body) for ``node``: not where the flags
    or the node's ``no_isolation`` marker (all scopes, or those it names) turn it off."""
    if config.getoption("no_isolation") or scope in scopes_off(
        config.getoption("no_isolation_scopes")
    ):
        return False
    marker = node.get_closest_marker("no_isolation")
    return marker is None or bool(marker.args) and scope not in marker.args


def changes_state(fixturedef) -> bool:
    """Whether a fixture may change a chain: not the plugin's own, nor a parametrize value."""
    direct_parameter = getattr(fixturedef.func, "__name__", "") == "get_direct_param_fixture_func"
    return fixturedef.argname not in PLUGIN_FIXTURES and not direct_parameter


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef, request):
    """
    A snapshot before each fixture's setup, restored (in stack order) at its
    teardown; with ``--gas``, the transactions its setup sent are counted.
    """
    state = request.config.stash[STATE]
    session = state.session
    if session is None or not changes_state(fixturedef):
        yield
        return
    with gas_counted(state, session):
        if not isolating(request.config, request.node, fixturedef.scope):
            yield
            return
        entry = session.world.push(f"{fixturedef.scope} fixture {fixturedef.argname}")
        fixturedef.addfinalizer(lambda: session.world.finish(entry))
        yield
        session.world.settled(entry)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    """One more snapshot around the test body."""
    state = item.config.stash[STATE]
    state.tests += 1
    session = state.session
    if session is None:
        yield
        return
    if not isolating(item.config, item, "test"):
        with gas_counted(state, session):
            yield
        return
    state.isolated_tests += 1
    if session.world.broken is not None:
        pytest.fail(
            "native-rollups: a restore failed earlier in this session, so the chains are not"
            f" as this test expects them: {session.world.broken}",
            pytrace=False,
        )
    entry = session.world.push(f"test {item.nodeid}")
    try:
        # The gas is read before the snapshot is restored, while the blocks are there.
        with gas_counted(state, session), each_example_isolated(item, session.world):
            yield
    finally:
        session.world.finish(entry, strict=True)


@contextmanager
def each_example_isolated(item, world: World) -> Iterator[None]:
    """
    A hypothesis test's examples each run in their own snapshot: hypothesis
    calls the test body once per example, and one example's writes must not
    be the next one's start. Its handle's ``inner_test`` is the body it calls
    (the hook pytest-trio uses too); it is wrapped for this run only.
    """
    handle = getattr(getattr(item, "obj", None), "hypothesis", None)
    inner = getattr(handle, "inner_test", None)
    if inner is None:
        yield
        return

    @functools.wraps(inner)
    def isolated(*args, **kwargs):
        __tracebackhide__ = True
        with world.isolate(f"example of {item.nodeid}"):
            return inner(*args, **kwargs)

    handle.inner_test = isolated
    try:
        yield
    finally:
        handle.inner_test = inner


@contextmanager
def gas_counted(state: PluginState, session: Network) -> Iterator[None]:
    """With ``--gas``, the transactions of the blocks each chain mines meanwhile are counted."""
    if state.gas is None:
        yield
        return
    heads = chain_heads(session)
    try:
        yield
    finally:
        record_gas(state.gas, session, heads)


def chain_heads(session: Network) -> Dict[str, int]:
    """Each chain's head block number now."""
    return {name: web3.eth.block_number for name, web3 in session.web3s.items()}


def record_gas(gas: GasTable, session: Network, heads: Dict[str, int]) -> None:
    """The transactions of every block each chain mined since ``heads``."""
    for name, head in heads.items():
        web3 = session.web3s[name]
        gas.record_blocks(name, web3, head + 1, web3.eth.block_number)


def pytest_terminal_summary(terminalreporter, config) -> None:
    state = config.stash[STATE]
    if state.gas is not None:
        terminalreporter.write_sep("-", "gas used (native-rollups --gas)")
        for line in state.gas.lines():
            terminalreporter.write_line(line)
    session_cost = cost_line(state)
    if session_cost:
        terminalreporter.write_sep("-", "native-rollups isolation")
        terminalreporter.write_line(session_cost)


def cost_line(state: PluginState) -> Optional[str]:
    """The snapshots and restores the plugin made, their time, and per isolated test."""
    cost = state.cost
    if cost is None or cost.snapshots == 0:
        return None
    total = cost.snapshot_seconds + cost.restore_seconds
    per_test = f"; {1000 * total / state.isolated_tests:.2f} ms per test over " \
        f"{state.isolated_tests} isolated tests" if state.isolated_tests else ""
    return (
        f"{cost.snapshots} snapshots in {1000 * cost.snapshot_seconds:.1f} ms, "
        f"{cost.restores} restores (heads and state roots checked) in "
        f"{1000 * cost.restore_seconds:.1f} ms{per_test}"
    )


# -- fixtures --


@pytest.fixture(scope="session")
def l1(_native_rollups):
    """The L1: the embedded ``Devnet`` (or, with --native-rollups-l1, the node over RPC)."""
    return _native_rollups.l1


@pytest.fixture(scope="session")
def w3(_native_rollups) -> Web3:
    """web3.py on the L1."""
    return _native_rollups.w3


@pytest.fixture(scope="session")
def accounts(_native_rollups):
    """The funded accounts of the standard test mnemonic, with keys (the same on every L2)."""
    return derive_accounts()


def _rollup_for(request, session: Network) -> Rollup:
    return deployed_for(request, session.rollups, ROLLUP_FIXTURES)


def deployed_for(request, deployed: Dict[Any, Any], fixtures) -> Any:
    """What the session deployed for the test's stage, or a failure saying why there is none."""
    stage = stage_of(request.node)
    if stage not in deployed:
        pytest.fail(
            f"{request.node.nodeid}: nothing of stage {stage} in this session for"
            f" {request.fixturename}: it is deployed before the first snapshot for the tests"
            f" that name {' or '.join(sorted(fixtures))} among their arguments (or their"
            " fixtures'); request.getfixturevalue asks too late",
            pytrace=False,
        )
    return deployed[stage]


@pytest.fixture(scope="session")
def rollups(request, _native_rollups) -> Dict[Any, Rollup]:
    """
    Every rollup of the session by stage, for module- and session-scoped
    fixtures (``rollups[1]``): the stages the selected tests' markers name
    (stage 1 where unmarked), each deployed once before any snapshot.
    """
    return _native_rollups.rollups


@pytest.fixture
def rollup(request, _native_rollups) -> Rollup:
    """The demo rollup of the test's stage (``@pytest.mark.stage(n)``, default 1)."""
    return _rollup_for(request, _native_rollups)


@pytest.fixture
def composable(request, _native_rollups) -> ComposableChains:
    """
    A composable rollup of the test's stage (slot sequencing with
    preconfirmations, slot-ending and based blocks: ``nr up``'s default) on
    an L1 of its own in slot mode (``composable.w3``, embedded even with
    ``--native-rollups-l1``): ``next_slot()`` mines
    the next slot's block, ``build_based(...)`` and ``land(...)`` build and
    land a based block. Snapshotted with every other chain.
    """
    return deployed_for(request, _native_rollups.composables, COMPOSABLE_FIXTURES)


@pytest.fixture(scope="session")
def composables(_native_rollups) -> Dict[Any, ComposableChains]:
    """Every composable rollup of the session by stage, for module and session fixtures."""
    return _native_rollups.composables


@pytest.fixture
def l2(rollup) -> Web3:
    """web3.py on the rollup's L2."""
    return rollup.l2_web3


@pytest.fixture(scope="session")
def isolate(_native_rollups):
    """
    ``with isolate(): ...``: what the block changes on any chain is undone at
    its end; for each example of a hypothesis test, or any loop of trials.
    """
    return _native_rollups.world.isolate


@pytest.fixture(scope="session")
def prover(_native_rollups) -> Union[Prover, RemoteProver]:
    """
    The shared prover: proofs for EXECUTE inputs, into the L1's proof pool
    (over RPC with --native-rollups-l1, for a node whose provers hold the
    demo keys: --deterministic-provers).
    """
    if not isinstance(_native_rollups.world.chains[0], RemoteChain):
        return Prover(_native_rollups.l1)
    try:
        return RemoteProver(_native_rollups.w3)
    except ProverUnavailable as unavailable:
        pytest.skip(f"the prover fixture on --native-rollups-l1: {unavailable}")


@pytest.fixture(scope="session")
def deploy(request, _native_rollups, accounts):
    """
    ``deploy(contract, *args, on=..., sender=None)``: a contract from a ``.vy``
    file, Vyper source, a foundry or hardhat JSON artifact, or a project
    contract by name, deployed by account 0 (or ``sender``) on the L1 (the
    default), a rollup's L2 (``on=rollup``) or any chain (``on=web3``).
    """
    session: Network = _native_rollups

    def deploy_on(contract, *args, on: Any = "l1", sender: Optional[str] = None):
        web3 = chain_web3(session, on)
        deployed = deploy_contract(
            web3, contract, *args, sender=sender or accounts[0].checksum_address
        )
        source, known = vyper_source(contract), None
        if source is not None:
            text, name = source
            known = revert_sites.VyperSource(name, text, vyper_positions(text, name))
        revert_sites.SITES.add_source(revert_sites.watch(web3), deployed.address, known)
        gas = request.config.stash[STATE].gas
        if gas is not None:
            gas.name(deployed.address, contract_name(contract), abi_and_bytecode(contract)[0])
        return deployed

    return deploy_on


def chain_web3(session: Network, on: Any) -> Web3:
    if isinstance(on, Web3):
        return on
    if isinstance(on, Rollup):
        return on.l2_web3
    if on == "l1":
        return session.w3
    raise ValueError(f"deploy: on={on!r}: give 'l1', a rollup (for its L2) or a web3")


def contract_name(contract) -> str:
    text = str(contract)
    return "source" if "\n" in text else Path(text).stem


@pytest.fixture
def chain(request, _native_rollups) -> Chains:
    """``chain.l1`` and ``chain.l2``: mine, warp and run until a condition holds."""
    session: Network = _native_rollups
    devnet = session.l1 if isinstance(session.l1, Devnet) else None
    l1 = ChainControl("L1", devnet=devnet, web3=session.w3)
    l2 = None
    if {"rollup", "l2"} & set(request.fixturenames):
        rollup_ = _rollup_for(request, session)
        l2 = ChainControl("L2", devnet=rollup_.l2, web3=rollup_.l2_web3)
    return Chains(l1, l2)
