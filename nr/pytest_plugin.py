"""
The pytest plugin (registered through ``pytest11``): fixtures for L2
integration tests against EXECUTE (``l1``, ``w3``, ``accounts``, ``rollup``,
``l2``, ``prover``, ``deploy``, ``chain``), each test and each fixture
isolated by one snapshot across L1 and every L2 (``nr.testing.isolation``),
``--native-rollups-l1`` for a running node as the L1 (the rollups deployed
on it, their L2 nodes here), ``--gas``, and the plugin's own snapshot cost in
the terminal summary.

Importing it changes nothing, and costs little: pytest loads it in every run
of the environment, so the nodes, web3.py and py-evm are imported only when a
test asks for one of its fixtures (``nr.testing.network``). The project's
speed-ups (``l1.accel``) are switched on by the session fixture that starts
the embedded nodes, as ``nr devnet`` runs, and off again at the session's end
if they were off.
"""

from __future__ import annotations

import functools
import ipaddress
import os
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Union
from urllib.parse import urlparse

import pytest

from precompile.constants import EXECUTE_MODES, REEXECUTE_MODE

from .testing.stage_names import stage_number

if TYPE_CHECKING:
    from web3 import Web3

    from rollup.rollup import Rollup

    from .testing.chains import Chains
    from .testing.composable import ComposableChains
    from .testing.gas import GasTable
    from .testing.isolation import Cost, Entry, World
    from .testing.network import Network
    from .testing.proving import Prover, RemoteProver

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
    # Fixtures being set up before the session started: it may start inside their setup.
    waiting: List[FixtureSetup] = field(default_factory=list)


@dataclass
class FixtureSetup:
    """A fixture being set up, and the snapshot taken before it (if any)."""

    fixturedef: Any
    request: Any
    world: Optional[World] = None
    entry: Optional[Entry] = None

    def snapshot(self, world: World) -> None:
        """A snapshot before this fixture, restored (in stack order) when it ends."""
        fixturedef = self.fixturedef
        self.world = world
        code = getattr(fixturedef.func, "__code__", None)
        where = None if code is None else (code.co_filename, code.co_firstlineno)
        self.entry = entry = world.push(
            f"{fixturedef.scope} fixture {fixturedef.argname}", fixturedef.scope, where
        )
        fixturedef.addfinalizer(lambda: world.finish(entry))


STATE = pytest.StashKey[PluginState]()

# This project's top-level packages the plugin imports only when it is used; a folder or a
# module of the user's project with one of these names, put on sys.path ahead of them, would
# hide them (precompile, imported when pytest loads the plugin, only under python -m).
LATE_PACKAGES = ("contracts", "l1", "precompile", "prover", "rollup")
PROJECT_ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def own_packages_in_reach(in_a_fixture: bool = False) -> Iterator[None]:
    """Around the plugin's own late imports: an ImportError that a user's folder named like one
    of this project's packages caused is said as such (a usage error, or in a fixture a
    failure without the plugin's traceback)."""
    try:
        yield
        return
    except ImportError:
        hidden = hiding_folder()
        if hidden is None:
            raise
    name, where = hidden
    what = "the folder" if Path(where).is_dir() else "the module"
    message = (
        f"native-rollups: {what} {where} has the name of native-rollups' own package"
        f" `{name}` and hides it (pytest put its parent on sys.path, or python -m put the"
        " working directory there); rename it (examples/ keeps its Vyper sources in"
        " sources/), or run plain `pytest --import-mode=importlib`"
    )
    if in_a_fixture:
        raise pytest.fail.Exception(message, pytrace=False) from None
    raise pytest.UsageError(message) from None


def hiding_folder() -> Optional[tuple]:
    """(name, where) of the first of ``LATE_PACKAGES`` that resolves elsewhere than here: a
    folder, or a module file."""
    import importlib.util
    import sys

    for name in LATE_PACKAGES:
        module = sys.modules.get(name)
        if module is not None:
            found = list(getattr(module, "__path__", None) or [getattr(module, "__file__", "")])
        else:
            spec = importlib.util.find_spec(name)
            found = [] if spec is None else list(
                spec.submodule_search_locations or [spec.origin or ""]
            )
        elsewhere = [
            path for path in found if path and Path(path).resolve() != PROJECT_ROOT / name
        ]
        if elsewhere:
            return name, elsewhere[0]
    return None


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
        "--native-rollups-execute", choices=EXECUTE_MODES, default=None,
        help="how the embedded L1 verifies L2 blocks: reexecute (default) or proofs (k of n "
        "execution proofs in its pool; the prover fixture makes them); a node given by "
        "--native-rollups-l1 verifies them as it was started to",
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
    workers = xdist_workers(config)
    if config.getoption("native_rollups_l1") is not None and workers:
        raise pytest.UsageError(
            f"--native-rollups-l1 with {workers}: every pytest-xdist worker would snapshot"
            " and revert the same node under the others; run with -n 0"
        )
    gas = None
    if config.getoption("gas"):
        with own_packages_in_reach():
            from .testing.gas import GasTable
        gas = GasTable()
    config.stash[STATE] = PluginState(gas=gas)


def xdist_workers(config) -> Optional[str]:
    """The pytest-xdist workers asked for (``-n N``, ``--tx ...``), as given; None for none."""
    numprocesses = getattr(config.option, "numprocesses", None)
    if numprocesses:
        return f"-n {numprocesses}"
    gateways = getattr(config.option, "tx", None)
    return f"--tx {' '.join(gateways)}" if gateways else None


def pytest_sessionstart(session) -> None:
    url = session.config.getoption("native_rollups_l1")
    if url is not None:
        check_external_url(url, session.config.getoption("native_rollups_allow_remote"))
        mode = session.config.getoption("native_rollups_execute")
        if mode is not None:
            raise pytest.UsageError(
                f"--native-rollups-execute {mode}: that is the embedded L1's mode; the node at"
                f" --native-rollups-l1 verifies L2 blocks as it was started to (nr devnet"
                f" --execute-mode {mode})"
            )
        with own_packages_in_reach():
            from .testing.network import connect_external
        session.config.stash[STATE].external = connect_external(
            url, session.config.getoption("native_rollups_chain_id")
        )


def check_external_url(url: str, allow_remote: bool) -> None:
    """pytest.UsageError unless ``url`` is an http(s) URL on this machine (or remote allowed),
    said before the node's client is even imported."""
    where = f"--native-rollups-l1 {url}"
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise pytest.UsageError(f"{where}: give an http:// or https:// URL of the L1 node")
    try:
        parsed.port
    except ValueError:
        raise pytest.UsageError(f"{where}: the port is no number from 1 to 65535") from None
    if not allow_remote and not is_loopback(parsed.hostname):
        raise pytest.UsageError(
            f"{where}: {parsed.hostname} is not this machine; every test snapshots and reverts "
            "that chain, so pass --native-rollups-allow-remote if you mean it"
        )


def is_loopback(host: str) -> bool:
    """Whether a client reaching ``host`` reaches this machine (0.0.0.0 and :: do too)."""
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def stage_of(node) -> Any:
    """
    The stage a test's rollup has: its (or its module's) ``stage`` marker,
    else 1. A stage number (``"1"`` is 1), or a preset file's path: relative
    to the test's file if there is one there, else to the working directory.
    """
    marker = node.get_closest_marker("stage")
    if marker is None:
        return DEFAULT_STAGE
    if len(marker.args) != 1 or marker.kwargs:
        raise pytest.UsageError(
            f"{node.nodeid}: the stage marker takes one stage (0, 1, 2) or a preset path"
        )
    stage = marker.args[0]
    number = stage_number(stage)
    if number is not None:
        return number
    if isinstance(stage, (str, os.PathLike)) and str(stage).strip():
        return preset_path(node, Path(stage))
    raise pytest.UsageError(
        f"{node.nodeid}: the stage marker takes a stage (0, 1, 2) or a preset file's path,"
        f" not {stage!r}"
    )


def preset_path(node, given: Path) -> str:
    """A preset's path beside the test's file if it is there, else as given; absolute."""
    beside_the_test = Path(getattr(node, "path", ".")).parent / given
    return str((beside_the_test if beside_the_test.exists() else given).absolute())


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
    chain_ids: Dict[int, Any] = {}
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
                # Imported only for a stage to check: a run without rollups never pays for it.
                with own_packages_in_reach():
                    from rollup.stages import InvalidPreset, load_preset

                try:
                    preset = load_preset(stage)
                except InvalidPreset as invalid:
                    raise pytest.UsageError(f"{item.nodeid}: stage marker: {invalid}") from None
                if stages is state.stages:
                    check_own_chain_id(item, stage, preset.l2_chain_id, chain_ids)
                stages.append(stage)
    if state.external is not None and state.stages:
        with own_packages_in_reach():
            from .testing.network import missing_execute
        missing = missing_execute(state.external)
        if missing:
            raise pytest.UsageError(
                f"--native-rollups-l1: {missing}; the rollups the selected tests ask for settle"
                " through it: run them against nr devnet or nr up"
            )


def check_own_chain_id(item, stage: Any, chain_id: int, chain_ids: Dict[int, Any]) -> None:
    """UsageError for a second rollup of the session with an L2 chain id another one has."""
    other = chain_ids.setdefault(chain_id, stage)
    if other != stage:
        raise pytest.UsageError(
            f"{item.nodeid}: stage marker: the rollup of {stage!r} would have L2 chain id"
            f" {chain_id}, as the rollup of {other!r} in this session has; give the preset"
            " an l2_chain_id of its own (transactions of one L2 are valid on the other)"
        )


def check_no_isolation_markers(item) -> None:
    """UsageError for a ``no_isolation`` marker naming a scope there is not (a typo)."""
    for marker in item.iter_markers("no_isolation"):
        if marker.kwargs:
            raise pytest.UsageError(
                f"{item.nodeid}: no_isolation marker: it takes scopes as arguments"
                f" (no_isolation(\"test\", \"function\")), not {', '.join(marker.kwargs)}="
            )
        if not all(isinstance(scope, str) for scope in marker.args):
            raise pytest.UsageError(
                f"{item.nodeid}: no_isolation marker: give scopes as separate arguments"
                f" (no_isolation(\"test\", \"function\")), not {marker.args!r}"
            )
        unknown = [scope for scope in marker.args if scope not in SCOPES]
        if unknown:
            raise pytest.UsageError(
                f"{item.nodeid}: no_isolation marker: no scope {', '.join(map(repr, unknown))};"
                f" the scopes are {', '.join(SCOPES)}"
            )


# -- the session --


@pytest.fixture(scope="session")
def _native_rollups(request):
    with own_packages_in_reach(in_a_fixture=True):
        from .testing.network import session_network

    state = request.config.stash[STATE]
    with session_network(
        state.external, request.config.getoption("native_rollups_execute") or REEXECUTE_MODE,
        state.stages,
        state.composable_stages, state.gas,
    ) as session:
        state.session, state.cost = session, session.world.cost
        start_isolating(state, session)
        try:
            yield session
        finally:
            state.session = None


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
    """
    Whether a fixture may change a chain: not the plugin's own (a project's
    fixture of the same name is snapshotted like any other), nor a parametrize
    value.
    """
    function = fixturedef.func
    direct_parameter = getattr(function, "__name__", "") == "get_direct_param_fixture_func"
    plugins_own = fixturedef.argname in PLUGIN_FIXTURES and function.__module__ == __name__
    return not plugins_own and not direct_parameter


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef, request):
    """
    A snapshot before each fixture's setup, restored (in stack order) at its
    teardown, or at once if the setup fails (nobody has its value); with
    ``--gas``, the transactions its setup sent are counted.
    """
    state = request.config.stash[STATE]
    if not changes_state(fixturedef):
        return (yield)
    session = state.session
    setup = FixtureSetup(fixturedef, request)
    if session is None:
        # The session may start inside this setup (a fixture reaching w3 through
        # request.getfixturevalue): it then snapshots this fixture before anything else.
        state.waiting.append(setup)
    elif isolating(request.config, request.node, fixturedef.scope):
        setup.snapshot(session.world)
    try:
        with gas_counted(state.gas, session):
            result = yield
    except BaseException:
        if setup.entry is not None:
            setup.world.finish(setup.entry)
        raise
    finally:
        if session is None:
            state.waiting.remove(setup)
    if setup.entry is not None:
        setup.world.settled(setup.entry)
        # Finalizers run last first: this one before the fixture's own teardown.
        entry, world = setup.entry, setup.world
        fixturedef.addfinalizer(lambda: world.tearing_down(entry))
    return result


def start_isolating(state: PluginState, session: Network) -> None:
    """A new session's first snapshots: one before each fixture whose setup started it."""
    for setup in state.waiting:  # outermost first
        if isolating(setup.request.config, setup.request.node, setup.fixturedef.scope):
            setup.snapshot(session.world)


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
        with gas_counted(state.gas, session):
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
        with gas_counted(state.gas, session), each_example_isolated(item, session.world):
            yield
    finally:
        session.world.finish(entry, strict=True)


def gas_counted(gas: Optional[GasTable], session: Optional[Network]):
    """``nr.testing.network.gas_counted``: the session has imported it, as it is running."""
    if session is None:
        return nullcontext()
    from .testing.network import gas_counted as counted

    return counted(gas, session)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failure while writes of finished tests or fixtures are still on the chains says so."""
    report = yield
    session = item.config.stash[STATE].session
    if report.failed and session is not None:
        own = f"test {item.nodeid}"
        earlier = [label for label in session.world.leftovers() if label != own]
        if earlier:
            report.sections.append((
                "native-rollups isolation",
                "still on the chains, from before this test: the writes of "
                + ", ".join(earlier)
                + " (each ended while a fixture set up after it, with writes of its own, was"
                " still in use; see the warning or error it ended with)",
            ))
    return report


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


def pytest_sessionfinish(session) -> None:
    """Under pytest-xdist, a worker hands its isolation cost and gas to the controller."""
    workeroutput = getattr(session.config, "workeroutput", None)
    state = session.config.stash[STATE]
    if workeroutput is None:
        return
    cost = state.cost
    workeroutput["native_rollups"] = {
        "cost": None if cost is None else [
            cost.snapshots, cost.restores, cost.snapshot_seconds, cost.restore_seconds
        ],
        "isolated_tests": state.isolated_tests,
        "gas": [] if state.gas is None else [
            [*key, list(used)] for key, used in state.gas.used.items()
        ],
    }


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """pytest-xdist's controller: a finished worker's isolation cost and gas, added up."""
    handed = getattr(node, "workeroutput", {}).get("native_rollups")
    if handed is None:
        return
    state = node.config.stash[STATE]
    if handed["cost"] is not None:
        from .testing.isolation import Cost

        snapshots, restores, snapshot_seconds, restore_seconds = handed["cost"]
        total = state.cost = state.cost or Cost()
        total.snapshots += snapshots
        total.restores += restores
        total.snapshot_seconds += snapshot_seconds
        total.restore_seconds += restore_seconds
    state.isolated_tests += handed["isolated_tests"]
    if state.gas is not None:
        for chain, contract, function, used in handed["gas"]:
            state.gas.used[(chain, contract, function)].extend(used)


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
    from l1.accounts import derive_accounts

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
    from .testing.network import session_prover
    from .testing.proving import ProverUnavailable

    try:
        return session_prover(_native_rollups)
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
    from .testing.network import deployer

    return deployer(
        _native_rollups, accounts[0].checksum_address, request.config.stash[STATE].gas
    )


@pytest.fixture
def chain(request, _native_rollups) -> Chains:
    """``chain.l1`` and ``chain.l2``: mine, warp and run until a condition holds."""
    from .testing.network import chain_controls

    wants_l2 = {"rollup", "l2"} & set(request.fixturenames)
    rollup_ = _rollup_for(request, _native_rollups) if wants_l2 else None
    return chain_controls(_native_rollups, rollup_)
