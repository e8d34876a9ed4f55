"""
Run blockchain-test fixtures through witness generation and the stateless guest.

For every block of every case: rebuild the parent state on a full-state chain,
record the block's witness, encode a ``StatelessInput``, run the guest on the
bytes, and compare with the fixture: valid blocks must validate and the chain
must reach the fixture's post state; blocks with ``expectException`` must be
rejected. A block the guest refuses for an internal error (not one of the
errors that mean "invalid") fails its case as an internal error, counted apart:
the right verdict for the wrong reason is not a pass. A file whose content is
not on this machine (a git-LFS pointer, an empty file) is counted unavailable,
apart too: nothing was judged.

A run over a whole release takes hours, so it can keep a report of every case
as it goes (``report``) and continue from one (``resume``).
"""

import json
import os
import shutil
import signal
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, FrozenSet, Iterator, List, Optional, Sequence, Tuple

import rlp
from eth.abc import BlockAPI, ChainAPI
from eth.chains.base import Chain
from eth.db.atomic import AtomicDB
from eth.exceptions import HeaderNotFound

from precompile.constants import FORK_NAMES
from precompile.encoding import decode, encode
from precompile.engines import REFERENCE_ENGINE, EngineDeclined, is_rust_panic
from precompile.forks import FORK_RULES, ForkRules, UnknownFork, fork_id_of_network
from precompile.genesis import accounts_from_fixture, write_accounts
from precompile.guest import INTERNAL_ERROR, VALID, verify_stateless_new_payload
from precompile.payload import block_to_new_payload_request
from precompile.ssz import ChainConfig, StatelessInput
from precompile.witness import BlockExecution, prove_block

# Blockchain tests without a ``config`` predate chain ids in fixtures: mainnet.
DEFAULT_FIXTURE_CHAIN_ID = 1

PASSED = "passed"
FAILED = "failed"
SKIPPED = "skipped"
# A file whose content is not here: counted apart, neither a pass nor a verdict.
UNAVAILABLE = "unavailable"
OUTCOMES = (PASSED, FAILED, INTERNAL_ERROR, SKIPPED, UNAVAILABLE)

# The name a result gets when the file as a whole could not be read.
WHOLE_FILE = "<file>"
# What a clone made without git-lfs holds in place of a large fixture.
LFS_POINTER = b"version https://git-lfs.github.com/spec/"

# The report's own name and layout version, checked before a run resumes from it.
REPORT_FORMAT = "nr conformance report"
REPORT_VERSION = 1
# Seconds between rewrites of the report: a killed run loses at most this much.
REPORT_EVERY_S = 10.0


class MalformedFixture(ValueError):
    """A JSON file that looks like a blockchain test but cannot be read as one."""


class FixtureUnavailable(Exception):
    """A fixture file whose content is not on this machine: nothing for the guest to judge."""


class InvalidReport(ValueError):
    """A ``resume`` file that is not a report of this run's fixtures and settings."""


class WorkerDied(RuntimeError):
    """A worker process ended without a result (killed, e.g. for memory); the run stops."""


@dataclass
class CaseResult:
    path: str
    name: str
    outcome: str  # one of OUTCOMES
    reason: str = ""
    # engine -> why it declined a block of this case (the reference engine ran instead)
    declined: Dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    # The engines asked to judge the case.
    engines: Tuple[str, ...] = ()


@dataclass
class Summary:
    results: List[CaseResult] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for result in self.results if result.outcome == outcome)

    def skip_reasons(self) -> Counter:
        """Why cases were skipped, each reason with its count (a release skips thousands)."""
        return Counter(result.reason for result in self.results if result.outcome == SKIPPED)

    def by_area(self, root: Path) -> Dict[str, Counter]:
        """Directory under ``root`` -> its cases' outcomes counted, and their ``seconds``."""
        areas: Dict[str, Counter] = {}
        for result in self.results:
            tally = areas.setdefault(area_of(result.path, root), Counter())
            tally[result.outcome] += 1
            tally["seconds"] += result.seconds
        return dict(sorted(areas.items()))

    def declines(self) -> Dict[str, Dict[str, List[str]]]:
        """engine -> decline reason -> the cases it declined for that reason."""
        by_engine: Dict[str, Dict[str, List[str]]] = {}
        for result in self.results:
            for engine, reason in result.declined.items():
                by_engine.setdefault(engine, {}).setdefault(reason, []).append(
                    f"{result.path}::{result.name}"
                )
        return by_engine

    @property
    def line(self) -> str:
        return (
            f"{self.count(PASSED)} passed, {self.count(FAILED)} failed, "
            f"{self.count(INTERNAL_ERROR)} internal errors, {self.count(SKIPPED)} skipped, "
            f"{self.count(UNAVAILABLE)} unavailable"
        )


def find_fixture_files(root: Path) -> List[Path]:
    """
    Every ``.json`` file under ``root`` (or ``root`` itself), sorted; linked
    directories are followed (a selection of a release made of symlinks).
    """
    if root.is_file():
        return [root]
    return sorted(
        Path(directory) / name
        for directory, _, names in os.walk(root, followlinks=True)
        for name in names
        if name.endswith(".json") and (Path(directory) / name).is_file()
    )


def relative_path(path: str, root: Path) -> str:
    """A fixture file's path as a report names it: under ``root``, or its name if ``root`` is it."""
    if root.is_file():
        return root.name
    return Path(path).relative_to(root).as_posix()


def area_of(path: str, root: Path) -> str:
    """The directory under ``root`` holding a fixture file (``.`` for ``root`` itself)."""
    return Path(relative_path(path, root)).parent.as_posix()


def read_fixture(path: Path) -> bytes:
    """A fixture file's bytes; ``FixtureUnavailable`` where its content is not here."""
    try:
        content = path.read_bytes()
    except OSError as error:
        raise FixtureUnavailable(f"cannot be read: {error.strerror}") from None
    if not content:
        raise FixtureUnavailable("empty file: its content is not in this copy of the fixtures")
    if content.startswith(LFS_POINTER):
        raise FixtureUnavailable("a git-LFS pointer: the fixture's content was not fetched")
    return content


def load_cases(path: Path) -> Iterator[Tuple[str, Optional[Dict[str, Any]], str]]:
    """
    Yield ``(name, case, problem)`` for each case in a fixture file. Files that
    are not blockchain tests yield nothing; malformed cases come with a problem;
    a file whose content is not here raises ``FixtureUnavailable``.
    """
    raw = read_fixture(path)
    try:
        content = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        yield WHOLE_FILE, None, f"not valid JSON: {error}"
        return
    if not isinstance(content, dict):
        return
    for name, case in sorted(content.items()):
        if not isinstance(case, dict) or "blocks" not in case:
            continue
        missing = [key for key in ("network", "pre", "genesisRLP") if key not in case]
        if missing:
            yield name, None, f"missing {', '.join(missing)}"
        else:
            yield name, case, ""


def run_case(
    case: Dict[str, Any],
    engines: Sequence[str] = (REFERENCE_ENGINE,),
    rules: ForkRules = FORK_RULES,
) -> CaseResult:
    """Run one case under each of ``engines``; path and name are the caller's to fill."""
    try:
        chain, vm_class, chain_config = fixture_chain(case, rules)
    except UnknownFork as error:
        return CaseResult("", "", SKIPPED, str(error))
    declined: Dict[str, str] = {}

    for number, block_fixture in enumerate(case["blocks"], start=1):
        verdict = check_block(chain, vm_class, chain_config, block_fixture, engines, rules)
        for engine, reason in verdict.declined.items():
            declined.setdefault(engine, reason)
        if verdict.internal_error:
            reason = f"block {number}: {verdict.internal_error}"
            return CaseResult("", "", INTERNAL_ERROR, reason, declined)
        problem = block_problem(verdict, block_fixture.get("expectException"))
        if problem:
            return CaseResult("", "", FAILED, f"block {number}: {problem}", declined)
        if verdict.accepted:
            verdict.execution.persist(chain)

    outcome, reason = compare_post_state(chain, case)
    return CaseResult("", "", outcome, reason, declined)


def block_problem(verdict: "BlockVerdict", expected_exception: Optional[str]) -> str:
    """What is wrong with the verdict on a block, given the fixture's expectation; "" if nothing."""
    if verdict.disagreement:
        return verdict.disagreement
    if expected_exception is not None and verdict.accepted:
        return f"accepted, but fixture expects {expected_exception}"
    if expected_exception is None and not verdict.accepted:
        return f"rejected valid block: {verdict.reason}"
    return ""


@dataclass
class BlockVerdict:
    accepted: bool
    reason: str = ""
    execution: Optional[BlockExecution] = None
    # Set when engines reached different verdicts: a bug in one of them.
    disagreement: str = ""
    declined: Dict[str, str] = field(default_factory=dict)
    # Set when an engine refused the block for an internal error, not as invalid.
    internal_error: str = ""


def check_block(
    chain: ChainAPI,
    vm_class: type,
    chain_config: ChainConfig,
    block_fixture: Dict[str, Any],
    engines: Sequence[str] = (REFERENCE_ENGINE,),
    rules: ForkRules = FORK_RULES,
) -> BlockVerdict:
    """Witness one fixture block and ask the guest under each engine."""
    try:
        block = decode_fixture_block(block_fixture["rlp"], vm_class)
    except Exception as error:  # undecodable block RLP is an invalid block
        return BlockVerdict(False, f"block RLP does not decode: {error}")
    try:
        stateless_input, execution = witness_block(chain, chain_config, block)
    except Exception as error:  # e.g. extra_data longer than the payload allows
        return BlockVerdict(False, f"no StatelessInput form: {error}")
    decoded = decode(encode(stateless_input), StatelessInput)
    # A declining engine has no verdict of its own; the reference's is asked once.
    reports, declined = {}, {}
    for engine in engines:
        try:
            reports[engine] = verify_stateless_new_payload(
                decoded, engine, fallback=False, rules=rules
            )
        except EngineDeclined as declining:
            declined[engine] = declining.reason
    if not reports:
        reports[REFERENCE_ENGINE] = verify_stateless_new_payload(decoded, rules=rules)
    internal = [
        f"{engine} internal error: {report.error}"
        for engine, report in reports.items()
        if report.verdict == INTERNAL_ERROR
    ]
    if internal:
        return BlockVerdict(
            False, "", execution, declined=declined, internal_error="; ".join(internal)
        )
    verdicts = {engine: report.verdict == VALID for engine, report in reports.items()}
    if len(set(verdicts.values())) > 1:
        described = ", ".join(
            f"{engine} {'accepted' if ok else 'rejected (' + str(reports[engine].error) + ')'}"
            for engine, ok in verdicts.items()
        )
        return BlockVerdict(False, "", execution, f"engines disagree: {described}", declined)
    accepted = next(iter(verdicts.values()))
    reason = next((r.error for r in reports.values() if r.error), "") or ""
    if accepted and execution.error is not None:
        reason = (
            f"UNSOUND: guest accepted a block the full-state import rejected: {execution.error}"
        )
        return BlockVerdict(False, reason, execution, declined=declined)
    return BlockVerdict(accepted, reason, execution, declined=declined)


def witness_block(
    chain: ChainAPI, chain_config: ChainConfig, block: BlockAPI
) -> Tuple[StatelessInput, BlockExecution]:
    """
    The ``StatelessInput`` a prover builds for ``block`` on top of ``chain``.
    A block whose parent is unknown is witnessed on the chain's head, so the
    guest, not this host, is the one to reject it.
    """
    try:
        chain.get_block_header_by_hash(block.header.parent_hash)
    except HeaderNotFound:
        head = chain.get_canonical_head().hash
        stateless_input, execution = prove_block(
            chain, block.copy(header=block.header.copy(parent_hash=head)), chain_config
        )
        stateless_input.new_payload_request = block_to_new_payload_request(
            block, execution.requests
        )
        return stateless_input, execution
    return prove_block(chain, block, chain_config)


def fixture_chain(
    case: Dict[str, Any], rules: ForkRules = FORK_RULES
) -> Tuple[ChainAPI, type, ChainConfig]:
    """
    The case's full-state chain at genesis, its fork rules (from ``rules``) and
    its ``ChainConfig``; ``UnknownFork`` for a network without rules here or
    whose fork ``rules`` leave out.
    """
    fork = fork_id_of_network(case["network"])
    if fork not in rules:
        checked = ", ".join(FORK_NAMES[checked] for checked in sorted(rules))
        raise UnknownFork(f"network {case['network']!r} is not among the forks checked ({checked})")
    vm_class = rules[fork]
    chain_id = int(case.get("config", {}).get("chainid", hex(DEFAULT_FIXTURE_CHAIN_ID)), 16)
    chain = chain_from_fixture(case, vm_class, chain_id)
    return chain, vm_class, ChainConfig(chain_id=chain_id, fork=fork)


def decode_fixture_block(encoded: str, vm_class: type) -> BlockAPI:
    """A fixture's ``0x``-prefixed block RLP as a block of ``vm_class``'s fork."""
    return rlp.decode(bytes.fromhex(encoded[2:]), sedes=vm_class.get_block_class())


def chain_from_fixture(case: Dict[str, Any], vm_class: type, chain_id: int) -> ChainAPI:
    """A full-state chain at the fixture's genesis."""
    genesis = decode_fixture_block(case["genesisRLP"], vm_class)
    db = AtomicDB()
    state_root = write_accounts(db, accounts_from_fixture(case["pre"]))
    if state_root != genesis.header.state_root:
        raise MalformedFixture("pre-state does not hash to the genesis state root")
    chain_class = Chain.configure(
        __name__="FixtureChain", vm_configuration=((0, vm_class),), chain_id=chain_id
    )
    return chain_class.from_genesis_header(db, genesis.header)


def compare_post_state(chain: ChainAPI, case: Dict[str, Any]) -> Tuple[str, str]:
    head = chain.get_canonical_head()
    if "lastblockhash" in case and head.hash.hex() != case["lastblockhash"][2:].lower():
        return FAILED, f"head {head.hash.hex()} is not lastblockhash {case['lastblockhash']}"
    if "postStateHash" in case:
        expected_root = bytes.fromhex(case["postStateHash"][2:])
    elif "postState" in case:
        expected_root = write_accounts(AtomicDB(), accounts_from_fixture(case["postState"]))
    else:
        return PASSED, ""
    if head.state_root != expected_root:
        return FAILED, "post-state root differs from the fixture's post state"
    return PASSED, ""


# This process's accelerated fork rules, made on first use (each worker its own).
_accelerated_rules: Optional[ForkRules] = None


def accelerated_rules_in_this_process() -> ForkRules:
    """The speed-ups switched on here, and the fork rules with them."""
    global _accelerated_rules
    if _accelerated_rules is None:
        from l1 import accel

        accel.enable()
        _accelerated_rules = accel.accelerated_rules() if accel.enabled() else FORK_RULES
    return _accelerated_rules


def forks_named(names: str) -> FrozenSet[int]:
    """The fork ids of comma-separated fork names (``Prague,Cancun``); ``UnknownFork`` else."""
    forks = set()
    for name in names.split(","):
        try:
            forks.add(fork_id_of_network(name.strip()))
        except UnknownFork:
            known = ", ".join(FORK_NAMES[fork] for fork in sorted(FORK_RULES))
            raise UnknownFork(
                f"{name.strip()!r} is not a fork this project implements ({known})"
            ) from None
    return frozenset(forks)


def rules_for(forks: FrozenSet[int], accelerate: bool = False) -> ForkRules:
    """The fork rules of ``forks`` only, with or without the devnet's speed-ups."""
    rules = accelerated_rules_in_this_process() if accelerate else FORK_RULES
    return {fork: vm_class for fork, vm_class in rules.items() if fork in forks}


def judge_case(
    case: Optional[Dict[str, Any]], problem: str, engines: Sequence[str], rules: ForkRules
) -> CaseResult:
    """One case's result, whatever goes wrong in it; path and name are the caller's to fill."""
    if case is None:
        return CaseResult("", "", FAILED, f"malformed fixture: {problem}")
    try:
        return run_case(case, engines, rules)
    except MalformedFixture as error:
        return CaseResult("", "", FAILED, f"malformed fixture: {error}")
    except Exception as error:  # report, never abort the run
        return CaseResult(
            "", "", FAILED, f"malformed fixture or runner error: {type(error).__name__}: {error}"
        )
    except BaseException as error:  # a Rust library's panic: the same, never the run's end
        if not is_rust_panic(error):
            raise
        return CaseResult("", "", FAILED, f"a Rust library panicked: {error}")


def run_file(
    path: str,
    engines: Sequence[str] = (REFERENCE_ENGINE,),
    accelerate: bool = False,
    forks: FrozenSet[int] = frozenset(FORK_RULES),
) -> List[CaseResult]:
    """
    All cases of one file, each caught on its own so one cannot stop the rest,
    those of other forks than ``forks`` skipped; with ``accelerate``, under the
    devnet's speed-ups (guest and host alike).
    """
    rules = rules_for(forks, accelerate)
    try:
        cases = list(load_cases(Path(path)))
    except FixtureUnavailable as absent:
        return [CaseResult(path, WHOLE_FILE, UNAVAILABLE, str(absent), engines=tuple(engines))]
    results = []
    for name, case, problem in cases:
        started = time.monotonic()
        result = judge_case(case, problem, engines, rules)
        result.path, result.name = path, name
        result.seconds = time.monotonic() - started
        result.engines = tuple(engines)
        results.append(result)
    return results


@dataclass(frozen=True)
class RunSettings:
    """What a run checks: a report resumes only a run with the same settings."""

    root: str
    forks: Tuple[str, ...]
    engines: Tuple[str, ...]
    accelerate: bool

    @classmethod
    def of(
        cls, root: Path, forks: FrozenSet[int], engines: Sequence[str], accelerate: bool
    ) -> "RunSettings":
        return cls(
            str(root.resolve()),
            tuple(FORK_NAMES[fork] for fork in sorted(forks)),
            tuple(engines),
            accelerate,
        )


def write_report(
    path: Path, settings: RunSettings, root: Path, files_done: Sequence[str], summary: Summary
) -> None:
    """
    Every case so far, as JSON, and the files whose cases are all in it; written
    to a temporary file and renamed, so an interrupted write leaves the last report.
    """
    report = {
        "format": REPORT_FORMAT,
        "version": REPORT_VERSION,
        "root": settings.root,
        "forks": list(settings.forks),
        "engines": list(settings.engines),
        "accelerate": settings.accelerate,
        "totals": {outcome: summary.count(outcome) for outcome in OUTCOMES},
        "files": sorted(files_done),
        "cases": [
            {
                "path": relative_path(result.path, root),
                "name": result.name,
                "verdict": result.outcome,
                "engines": list(result.engines),
                "declined": result.declined,
                "seconds": round(result.seconds, 3),
                "reason": result.reason,
            }
            for result in sorted(summary.results, key=lambda result: (result.path, result.name))
        ],
    }
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(report, indent=1) + "\n")
    os.replace(partial, path)


def read_report(
    path: Path, settings: RunSettings, root: Path
) -> Tuple[List[str], List[CaseResult]]:
    """A report's files done and its cases; ``InvalidReport`` unless it is one of this run."""
    try:
        report = json.loads(path.read_text())
    except FileNotFoundError:
        raise InvalidReport("no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidReport(f"not a conformance report: {error}") from None
    if not isinstance(report, dict) or report.get("format") != REPORT_FORMAT:
        raise InvalidReport(f'not a conformance report (no "format": "{REPORT_FORMAT}")')
    if report.get("version") != REPORT_VERSION:
        raise InvalidReport(f"report version {report.get('version')!r}, not {REPORT_VERSION}")
    recorded = RunSettings(
        report.get("root"),
        tuple(report.get("forks", ())),
        tuple(report.get("engines", ())),
        report.get("accelerate"),
    )
    for setting in ("root", "forks", "engines", "accelerate"):
        if getattr(recorded, setting) != getattr(settings, setting):
            raise InvalidReport(
                f"the report was made with {setting} {shown(getattr(recorded, setting))}, "
                f"this run has {shown(getattr(settings, setting))}"
            )
    if not isinstance(report.get("files"), list) or not isinstance(report.get("cases"), list):
        raise InvalidReport('no "files" and "cases" lists')
    try:
        return list(report["files"]), [case_from_report(case, root) for case in report["cases"]]
    except (KeyError, TypeError) as error:
        raise InvalidReport(f"a case or file list is malformed: {error!r}") from None


def shown(setting: Any) -> str:
    """A run setting as the command line would name it."""
    return ",".join(setting) if isinstance(setting, tuple) else str(setting)


def case_from_report(case: Dict[str, Any], root: Path) -> CaseResult:
    """A report's case as the result it records."""
    if case["verdict"] not in OUTCOMES:
        raise KeyError(f"verdict {case['verdict']!r}")
    path = root if root.is_file() else root / case["path"]
    return CaseResult(
        str(path),
        case["name"],
        case["verdict"],
        case["reason"],
        dict(case["declined"]),
        float(case["seconds"]),
        tuple(case["engines"]),
    )


def format_duration(seconds: float) -> str:
    """``45s``, ``12m03s`` or ``2h05m``."""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


@dataclass
class Progress:
    """How far a run is, in files and in bytes of fixture."""

    total_files: int
    total_bytes: int
    started: float = field(default_factory=time.monotonic)
    done_files: int = 0
    done_bytes: int = 0

    def advance(self, size: int) -> None:
        self.done_files += 1
        self.done_bytes += size

    def eta(self, now: float) -> str:
        """
        Time left, from the bytes done so far: fixture files range from a few
        kilobytes to megabytes, and their running time follows their size more
        than their count.
        """
        if self.done_bytes == 0:
            return "--"
        elapsed = now - self.started
        return format_duration(elapsed * (self.total_bytes - self.done_bytes) / self.done_bytes)

    def line(self, tally: str, now: float, width: int = 24) -> str:
        """A progress bar with the files done, the time spent, the ETA and the running tally."""
        fraction = self.done_bytes / self.total_bytes if self.total_bytes else 1.0
        filled = int(fraction * width)
        return (
            f"[{'#' * filled}{'.' * (width - filled)}] {self.done_files}/{self.total_files} files "
            f"{fraction:4.0%} | {format_duration(now - self.started)}, ETA {self.eta(now)} | "
            f"{tally}"
        )


def stop_at_once_on_sigterm() -> None:
    """In a worker: SIGTERM ends it (the parent's handler, inherited, would not)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def interrupt(signal_number: int, frame: Any) -> None:
    """SIGTERM's handler while a run goes: it stops as Ctrl-C stops it."""
    raise KeyboardInterrupt


@contextmanager
def interrupted_by_sigterm() -> Iterator[None]:
    """SIGTERM stops a run as Ctrl-C does: the report written, the workers ended."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_conformance(
    root: Path,
    jobs: int = 0,
    progress: bool = True,
    engines: Sequence[str] = (REFERENCE_ENGINE,),
    accelerate: bool = False,
    forks: FrozenSet[int] = frozenset(FORK_RULES),
    report: Optional[Path] = None,
    resume: Optional[Path] = None,
) -> Summary:
    """
    Run every fixture under ``root`` with ``engines`` on ``jobs`` processes (0: per
    core), with or without the devnet's speed-ups, cases of other forks than
    ``forks`` skipped. With ``report``, every case is written there as the run
    goes; with ``resume``, the files a report has done are not run again and its
    cases count in the totals (the report is then kept up to date in ``resume``
    unless ``report`` names another file).
    """
    settings = RunSettings.of(root, forks, engines, accelerate)
    summary, files_done = Summary(), []
    if resume is not None:
        files_done, summary.results = read_report(resume, settings, root)
        report = report or resume
    done = set(files_done)
    files = [
        path for path in find_fixture_files(root) if relative_path(str(path), root) not in done
    ]
    sizes = {str(path): path.stat().st_size for path in files}
    tracker = Progress(len(files), sum(sizes.values()))
    written = time.monotonic()
    jobs = jobs or os.cpu_count() or 1
    pool = ProcessPoolExecutor(max_workers=jobs, initializer=stop_at_once_on_sigterm)
    workers: List[Any] = []
    try:
        # The largest first, so the run does not end waiting on one big file.
        pending = {
            pool.submit(run_file, path, tuple(engines), accelerate, forks): path
            for path in sorted(sizes, key=sizes.get, reverse=True)
        }
        workers = list(pool._processes.values())  # started by the first submissions
        for future in as_completed(pending):
            path = pending[future]
            try:
                summary.results.extend(future.result())
            except BrokenProcessPool:
                raise WorkerDied(
                    f"a worker process ended while running {relative_path(path, root)}"
                    " (killed, perhaps for memory: a case can take several GiB)"
                ) from None
            files_done.append(relative_path(path, root))
            tracker.advance(sizes[path])
            if progress:
                # Cut to the terminal's width: a wrapped line would not be redrawn in place.
                line = tracker.line(summary.line, time.monotonic())
                print(
                    f"\r{line[: shutil.get_terminal_size().columns - 1]}\x1b[K",
                    end="",
                    file=sys.stderr,
                    flush=True,
                )
            if report is not None and time.monotonic() - written > REPORT_EVERY_S:
                write_report(report, settings, root, files_done, summary)
                written = time.monotonic()
    except BaseException:
        # Interrupted (Ctrl-C, SIGTERM) or a worker died: the others would finish
        # their files first, minutes for the largest, with no one to read them.
        for worker in workers:
            worker.terminate()
        raise
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        if report is not None:
            write_report(report, settings, root, files_done, summary)
        if progress:
            print(file=sys.stderr)
    summary.results.sort(key=lambda result: (result.path, result.name))
    return summary


def summary_lines(
    summary: Summary, root: Path, engines: Sequence[str], verbose: bool = False
) -> Iterator[str]:
    """
    What ``nr conformance`` prints before its totals: every case not passed or
    skipped (every case with ``verbose``), skips by reason, each engine's
    declines, and the outcomes by area.
    """
    for result in summary.results:
        if result.outcome not in (PASSED, SKIPPED) or verbose:
            reason = f": {result.reason}" if result.reason else ""
            yield f"{result.outcome.upper()} {result.path}::{result.name}{reason}"
    for reason, count in sorted(summary.skip_reasons().items()):
        yield f"skipped: {count} x {reason}"
    declines = summary.declines()
    for engine in engines:
        by_reason = declines.get(engine, {})
        count = sum(len(cases) for cases in by_reason.values())
        yield f"engine {engine}: {count} cases declined (ran on pyevm instead)"
        for reason, cases in sorted(by_reason.items()):
            yield f"  {len(cases)} x {reason}"
            if verbose:
                yield from (f"      {case}" for case in cases)
    yield from area_lines(summary.by_area(root))


def area_lines(areas: Dict[str, Counter]) -> Iterator[str]:
    """The outcomes of each area, one line each, under a header."""
    width = max([len("area"), *(len(area) for area in areas)])
    columns = ("passed", "failed", "internal", "skipped", "unavail.", "seconds")
    yield f"{'area':<{width}} " + " ".join(f"{column:>8}" for column in columns)
    for area, tally in areas.items():
        counts = " ".join(f"{tally[outcome]:>8}" for outcome in OUTCOMES)
        yield f"{area:<{width}} {counts} {tally['seconds']:>8.1f}"
