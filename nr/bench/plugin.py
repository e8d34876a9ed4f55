"""
``nr bench plugin``: what a test costs under the pytest plugin, beside
titanoboa and ape running the same 50 tests, in one run.

The tests are ``examples/test_overhead.py``'s: 25 that touch only L1 and 25
on a rollup's L2, each sending one transaction to a counter and reading it
back, so that every snapshot has something to undo. A harness without an L2
runs the second 25 on a second L1 contract. Each harness runs in a pytest of
its own interpreter (titanoboa and ape live in environments of their own),
and the harnesses take turns, a round each, so that a host that speeds up
or slows down shifts every harness alike. A test's time is its setup, call
and teardown as pytest reports them, read by the same conftest hook in every
harness; each function's first case carries the session's setup and is
left out.
"""

import ast
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import Callable, Dict, List, Optional, Sequence, Tuple

# The suite every harness runs, as the example project has it.
OVERHEAD_SUITE = Path(__file__).resolve().parents[2] / "examples" / "test_overhead.py"
PLUGIN, TITANOBOA, APE = "native-rollups", "titanoboa", "ape"
DEFAULT_ROUNDS = 2
# The longest one harness's run of the 50 tests may take, its session's setup included.
RUN_TIMEOUT_SECONDS = 600
# The longest an interpreter may take to say whether its environment has a harness's tools.
ANSWER_TIMEOUT_SECONDS = 60
# What a Python prints first when asked about its environment: another program does not.
PYTHON_MARK = "nr-bench: a python"
# How the plugin's and titanoboa's harnesses start pytest (ape's starts it itself).
PYTEST = ["-m", "pytest", "-q", "-p", "no:cacheprovider"]
# The two halves of the suite, by test function.
L1_TESTS, L2_TESTS = "test_l1", "test_l2"

# Every harness's conftest: each test's setup + call + teardown, written out at the end.
TIMING_CONFTEST = """
import json, os

DURATIONS = {}

def pytest_runtest_logreport(report):
    DURATIONS[report.nodeid] = DURATIONS.get(report.nodeid, 0.0) + report.duration

def pytest_sessionfinish(session):
    with open(os.environ["NR_BENCH_DURATIONS"], "w") as out:
        json.dump(DURATIONS, out)
"""

# After the counter's source (``COUNTER = ...``).
TITANOBOA_SUITE = """
import boa
import pytest


@pytest.fixture(scope="module")
def l1_counter():
    return boa.loads(COUNTER)


@pytest.fixture(scope="module")
def l2_counter():
    return boa.loads(COUNTER)  # titanoboa has no L2: a second L1 contract


@pytest.mark.parametrize("by", range(1, 26))
def test_l1(l1_counter, by):
    l1_counter.bump(by)
    assert l1_counter.count() == by


@pytest.mark.parametrize("by", range(1, 26))
def test_l2(l2_counter, by):
    l2_counter.bump(by)
    assert l2_counter.count() == by
"""

APE_SUITE = """
import pytest


@pytest.fixture(scope="module")
def owner(accounts):
    return accounts[0]


@pytest.fixture(scope="module")
def l1_counter(project, owner):
    return owner.deploy(project.Counter)


@pytest.fixture(scope="module")
def l2_counter(project, owner):
    return owner.deploy(project.Counter)  # ape has no L2: a second L1 contract


@pytest.mark.parametrize("by", range(1, 26))
def test_l1(l1_counter, owner, by):
    l1_counter.bump(by, sender=owner)
    assert l1_counter.count() == by


@pytest.mark.parametrize("by", range(1, 26))
def test_l2(l2_counter, owner, by):
    l2_counter.bump(by, sender=owner)
    assert l2_counter.count() == by
"""


class HarnessUnavailable(Exception):
    """A harness asked for cannot run here: the message says what is missing."""


class HarnessFailed(Exception):
    """A harness's run of the suite did not pass: the message ends with its output."""


class TimedOut(Exception):
    """A harness's process ran past its time; it and every process it started were killed."""


def run_to_the_end(command: List[str], timeout: float, **options) -> subprocess.CompletedProcess:
    """
    ``command`` run to its end, its output captured as text; TimedOut past
    ``timeout`` seconds. It runs in a process group of its own, killed whole
    then: a harness's pytest (or a shell script) starts processes of its own,
    which would outlive it, and hold its output open, if only it were killed.
    """
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True, **options,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except BaseException as stopped:  # past its time, or interrupted (Ctrl-C): none of it stays
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        if isinstance(stopped, subprocess.TimeoutExpired):
            raise TimedOut(command[0]) from None
        raise
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


@dataclass
class Harness:
    name: str
    # The command that runs the suite from its directory, and what that directory holds.
    command: List[str]
    files: Dict[str, str]
    environment: Dict[str, str] = field(default_factory=dict)


@dataclass
class HarnessTimes:
    name: str
    # Per-test milliseconds of every round, by half of the suite.
    l1: List[float] = field(default_factory=list)
    l2: List[float] = field(default_factory=list)
    # Each round's medians (L1, L2), to show how much the host varied.
    rounds: List[Tuple[float, float]] = field(default_factory=list)
    # The plugin's own report of its snapshots and restores (its last round's).
    isolation: Optional[str] = None

    @property
    def l1_median(self) -> float:
        return median(self.l1)

    @property
    def l2_median(self) -> float:
        return median(self.l2)


def suite_source() -> str:
    """The example project's 50 tests (the plugin's harness runs them as they are)."""
    if not OVERHEAD_SUITE.is_file():
        raise HarnessUnavailable(
            f"{OVERHEAD_SUITE} is missing: the benchmark runs the example project's tests, so "
            "run it from a checkout of the repository"
        )
    return OVERHEAD_SUITE.read_text()


def counter_source(suite: str) -> str:
    """The Vyper counter the suite deploys (its ``COUNTER``), for the other harnesses."""
    for statement in ast.parse(suite).body:
        if isinstance(statement, ast.Assign) and [
            getattr(target, "id", None) for target in statement.targets
        ] == ["COUNTER"]:
            return ast.literal_eval(statement.value).strip() + "\n"
    raise HarnessUnavailable(f"{OVERHEAD_SUITE} no longer defines COUNTER")


def plugin_harness(suite: str) -> Harness:
    """The suite under this project's plugin, in this interpreter."""
    return Harness(PLUGIN, [sys.executable, *PYTEST], {"test_overhead.py": suite})


def titanoboa_harness(python: str, counter: str) -> Harness:
    """The suite on titanoboa (``boa.loads``, its own rollback), in ``python``'s environment."""
    interpreter = existing_interpreter(python, "--titanoboa")
    environment_output(
        interpreter, "--titanoboa", python, "import boa, pytest",
        "cannot import titanoboa and pytest", "pip install titanoboa pytest there",
    )
    suite = f"COUNTER = {counter!r}\n{TITANOBOA_SUITE}"
    return Harness(TITANOBOA, [interpreter, *PYTEST], {"test_overhead.py": suite})


def ape_harness(python: str, counter: str) -> Harness:
    """
    The suite on ape (``ape test``: eth-tester, a snapshot per test), in
    ``python``'s environment: its ``ape`` beside it, ape-vyper and a ``vyper``
    there too (ape-vyper looks for the compiler on PATH).
    """
    interpreter = existing_interpreter(python, "--ape")
    bin_directory = Path(interpreter).parent
    ape = bin_directory / "ape"
    if not ape.is_file():
        raise HarnessUnavailable(
            f"--ape {python}: no ape beside it ({ape}); pip install eth-ape ape-vyper vyper there"
        )
    version = environment_output(
        interpreter, "--ape", python, "import vyper; print(vyper.__version__)",
        "has no vyper compiler", "pip install ape-vyper vyper there",
    )
    # It printed the version, then "ok".
    pragma = f"# pragma version {version.split()[-2].split('+')[0]}\n"
    files = {
        "ape-config.yaml": "name: overhead\nplugins:\n  - name: vyper\n",
        "contracts/Counter.vy": pragma + counter,
        "tests/test_overhead.py": APE_SUITE,
    }
    path = f"{bin_directory}{os.pathsep}{os.environ.get('PATH', '')}"
    return Harness(APE, [str(ape), "test", "-q"], files, {"PATH": path})


def existing_interpreter(python: str, option: str) -> str:
    """``python`` as an absolute path (the harness runs in a directory of its own)."""
    if os.path.isdir(python):
        raise HarnessUnavailable(f"{option} {python}: a directory; give its python")
    if os.path.isfile(python) and not os.access(python, os.X_OK):
        raise HarnessUnavailable(
            f"{option} {python}: not executable; give the python of the harness's environment"
        )
    found = shutil.which(python)
    if found is None:
        raise HarnessUnavailable(f"{option} {python}: no such interpreter")
    return os.path.abspath(found)


def environment_answers(interpreter: str, option: str, code: str) -> subprocess.CompletedProcess:
    """
    ``code`` run by ``interpreter`` (its output after a first line of its own);
    HarnessUnavailable if that is no Python, cannot run or never answers.
    A Python prints ``PYTHON_MARK`` before running the code; another program
    (a shell, one that exits 0 on anything) does not.
    """
    said = f"{option} {interpreter}"
    command = [interpreter, "-c", f"print({PYTHON_MARK!r}, flush=True); {code}; print('ok')"]
    try:
        completed = run_to_the_end(command, ANSWER_TIMEOUT_SECONDS)
    except OSError as error:
        raise HarnessUnavailable(f"{said}: cannot be run ({error.strerror})") from None
    except TimedOut:
        raise HarnessUnavailable(
            f"{said}: did not answer within {ANSWER_TIMEOUT_SECONDS} s (stopped, with what it"
            " started); is it a Python interpreter?"
        ) from None
    first, _, rest = completed.stdout.partition("\n")
    if first != PYTHON_MARK:
        raise HarnessUnavailable(f"{said}: not a Python interpreter")
    completed.stdout = rest
    return completed


def environment_output(
    interpreter: str, option: str, python: str, code: str, lacking: str, remedy: str
) -> str:
    """
    What ``code`` printed in ``interpreter``'s environment; HarnessUnavailable
    saying the environment ``lacking`` (with its last error line) and the
    ``remedy`` where it failed.
    """
    completed = environment_answers(interpreter, option, code)
    if completed.returncode != 0:
        raise HarnessUnavailable(
            f"{option} {python}: that environment {lacking} ({last_line(completed.stderr)});"
            f" {remedy}"
        )
    return completed.stdout


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def run_once(harness: Harness, directory: Path) -> Tuple[Dict[str, float], str]:
    """One run of the suite under ``harness`` in ``directory``: seconds per test id, and its
    terminal output."""
    for name, text in {**harness.files, "conftest.py": TIMING_CONFTEST}.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(text)
    durations = directory / "durations.json"
    environment = {
        **os.environ,
        **harness.environment,
        "NR_BENCH_DURATIONS": str(durations),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    try:
        completed = run_to_the_end(
            harness.command, RUN_TIMEOUT_SECONDS, cwd=directory, env=environment
        )
    except TimedOut:
        raise HarnessFailed(
            f"{harness.name}: the 50 tests did not finish in {RUN_TIMEOUT_SECONDS} s (its"
            f" processes were stopped): {' '.join(harness.command)}"
        ) from None
    except OSError as error:
        raise HarnessFailed(
            f"{harness.name}: {harness.command[0]} cannot be run ({error.strerror})"
        ) from None
    output = (completed.stdout + completed.stderr).strip().splitlines()[-15:]
    if completed.returncode != 0:
        raise HarnessFailed(
            f"{harness.name}: the 50 tests did not pass (exit {completed.returncode}):\n"
            + "\n".join(output)
        )
    if not durations.is_file():
        raise HarnessFailed(
            f"{harness.name}: the run wrote no test times (is {harness.command[0]} that "
            "harness's pytest?):\n" + "\n".join(output)
        )
    return json.loads(durations.read_text()), completed.stdout


def per_test_milliseconds(durations: Dict[str, float], function: str) -> List[float]:
    """
    The milliseconds of ``function``'s cases, without its first (``[1]``),
    which carries the session's and its module's setup.
    """
    return [
        seconds * 1000
        for test_id, seconds in durations.items()
        if test_id.split("::")[-1].split("[")[0] == function and not test_id.endswith("[1]")
    ]


def isolation_line(output: str) -> Optional[str]:
    """The plugin's summary of its own snapshots and restores, from its terminal output."""
    lines = output.splitlines()
    for index, line in enumerate(lines[:-1]):
        if "native-rollups isolation" in line:
            return lines[index + 1].strip()
    return None


def run_plugin_bench(
    rounds: int = DEFAULT_ROUNDS,
    titanoboa: Optional[str] = None,
    ape: Optional[str] = None,
    log: Callable[[str], None] = lambda message: None,
) -> List[HarnessTimes]:
    """
    Every harness asked for (the plugin always; titanoboa and ape in the
    environments of the interpreters given), ``rounds`` turns each: their times.
    """
    suite = suite_source()
    counter = counter_source(suite)
    harnesses = [plugin_harness(suite)]
    if titanoboa is not None:
        harnesses.append(titanoboa_harness(titanoboa, counter))
    if ape is not None:
        harnesses.append(ape_harness(ape, counter))
    times = {harness.name: HarnessTimes(harness.name) for harness in harnesses}
    for round_number in range(1, rounds + 1):
        for harness in harnesses:
            log(f"round {round_number}/{rounds}: {harness.name}")
            with tempfile.TemporaryDirectory(prefix="nr-bench-plugin-") as directory:
                durations, output = run_once(harness, Path(directory))
            measured = times[harness.name]
            l1 = per_test_milliseconds(durations, L1_TESTS)
            l2 = per_test_milliseconds(durations, L2_TESTS)
            measured.l1 += l1
            measured.l2 += l2
            measured.rounds.append((median(l1), median(l2)))
            if harness.name == PLUGIN:
                measured.isolation = isolation_line(output)
    return list(times.values())


def format_plugin_results(results: Sequence[HarnessTimes]) -> str:
    """A row per harness: per-test medians, each round's L1 median, and ratios to the plugin."""
    plugin = next(times for times in results if times.name == PLUGIN)
    rows = [
        f"{'harness':<15} {'L1-only test':>12} {'L2 test':>9} {'rounds (L1)':>17}"
        "   L1 vs the plugin"
    ]
    for times in results:
        spread = ", ".join(f"{l1:.2f}" for l1, _ in times.rounds)
        ratio = "-" if times is plugin else relative(times.l1_median, plugin.l1_median)
        rows.append(
            f"{times.name:<15} {times.l1_median:>9.2f} ms {times.l2_median:>6.2f} ms"
            f" {spread:>17}   {ratio}"
        )
    rows.append(
        "per test: setup + call + teardown, median over every round, each function's first case"
        " left out; a harness without an L2 runs the L2 tests on a second L1 contract"
    )
    if plugin.isolation:
        rows.append(f"the plugin's own isolation: {plugin.isolation}")
    return "\n".join(rows)


def relative(milliseconds: float, plugin_milliseconds: float) -> str:
    """How an L1-only test compares with the plugin's: x times faster or slower."""
    if milliseconds <= plugin_milliseconds:
        return f"{plugin_milliseconds / milliseconds:.1f}x faster"
    return f"{milliseconds / plugin_milliseconds:.1f}x slower"
