"""
The ``nr conformance`` runner: fixture walking, reporting, the flags a run over
a whole release needs (forks, report, resume), and the full fixture set.
"""

import json
import shutil
import subprocess
import sys

import pytest
from eth.vm.forks import PragueVM

from l1 import accel
from nr.conformance import (
    InvalidReport,
    Progress,
    chain_from_fixture,
    decode_fixture_block,
    find_fixture_files,
    forks_named,
    run_case,
    run_conformance,
    run_file,
)
from precompile.engines import engines
from precompile.forks import Prague, UnknownFork
from precompile.guest import INTERNAL_ERROR

from conftest import FIXTURES, needs_fixtures

pytestmark = needs_fixtures

NR = [sys.executable, "-m", "nr.cli"]
SIMPLE_TX = FIXTURES / "BlockchainTests/ValidBlocks/bcValidBlockTest/SimpleTx.json"
WRONG_STATE_ROOT = (
    FIXTURES / "BlockchainTests/InvalidBlocks/bcInvalidHeaderTest/wrongStateRoot.json"
)
SYSTEM_CONTRACT_ERRORS = (
    FIXTURES / "blockchain_tests/prague/eip7251_consolidations/test_system_contract_errors.json"
)
FIXTURE_CASES = 391


def nr(*args, cwd=None):
    return subprocess.run([*NR, *args], capture_output=True, text=True, cwd=cwd)


def totals(passed=0, failed=0, internal=0, skipped=0, unavailable=0) -> str:
    """The line ``nr conformance`` ends with."""
    return (
        f"{passed} passed, {failed} failed, {internal} internal errors, {skipped} skipped, "
        f"{unavailable} unavailable"
    )


def relabelled_simple_tx() -> str:
    """SimpleTx with its valid block marked invalid: a case that fails whenever it runs."""
    case = json.loads(SIMPLE_TX.read_text())
    (name,) = case
    case[name]["blocks"][0]["expectException"] = "TransactionException.MADE_UP"
    return json.dumps(case)


def fixture_tree(root, files) -> None:
    """Write ``{relative path: content}`` under ``root``: a tiny release of our own."""
    for relative, content in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(content)


def test_valid_and_invalid_fixtures_pass(tmp_path):
    shutil.copy(SIMPLE_TX, tmp_path)
    shutil.copy(WRONG_STATE_ROOT, tmp_path)
    completed = nr("conformance", str(tmp_path), "--jobs", "1")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stdout.splitlines()[-1] == totals(passed=2)


def test_non_fixture_files_are_skipped_quietly(tmp_path):
    shutil.copy(SIMPLE_TX, tmp_path)
    (tmp_path / "README.md").write_text("# not a fixture\n")
    (tmp_path / "notes.json").write_text(json.dumps({"comment": "not a blockchain test"}))
    completed = nr("conformance", str(tmp_path), "-j", "1")
    assert completed.returncode == 0
    assert completed.stdout.splitlines()[-1] == totals(passed=1)


def test_malformed_fixture_is_reported_by_path_and_case(tmp_path):
    case = json.loads(SIMPLE_TX.read_text())
    (name,) = case
    broken = dict(case[name])
    broken["genesisRLP"] = "0x00"
    (tmp_path / "broken.json").write_text(json.dumps({"broken_case": broken}))
    (tmp_path / "missing.json").write_text(
        json.dumps({"no_pre": {"blocks": [], "network": "Prague"}})
    )
    (tmp_path / "garbled.json").write_text("{ not json")
    completed = nr("conformance", str(tmp_path), "-j", "1")
    assert completed.returncode == 1
    assert f"{tmp_path / 'broken.json'}::broken_case: malformed fixture" in completed.stdout
    assert (
        f"{tmp_path / 'missing.json'}::no_pre: malformed fixture: missing pre, genesisRLP"
        in completed.stdout
    )
    assert (
        f"{tmp_path / 'garbled.json'}::<file>: malformed fixture: not valid JSON"
        in completed.stdout
    )
    assert completed.stdout.splitlines()[-1] == totals(failed=3)


def test_unknown_network_is_skipped_with_reason(tmp_path):
    case = json.loads(SIMPLE_TX.read_text())
    (name,) = case
    case[name]["network"] = "Frontier"
    (tmp_path / "frontier.json").write_text(json.dumps(case))
    completed = nr("conformance", str(tmp_path), "-j", "1")
    assert completed.returncode == 0
    assert "skipped: 1 x network 'Frontier' has no fork rules here" in completed.stdout
    assert completed.stdout.splitlines()[-1] == totals(skipped=1)


def test_a_wrong_expectation_fails_the_run(tmp_path):
    """The runner can fail: a valid block marked invalid is reported and exits non-zero."""
    (tmp_path / "relabelled.json").write_text(relabelled_simple_tx())
    completed = nr("conformance", str(tmp_path), "-j", "1")
    assert completed.returncode == 1
    assert "accepted, but fixture expects TransactionException.MADE_UP" in completed.stdout


def test_a_wrong_post_state_fails_the_case():
    (case,) = json.loads(SIMPLE_TX.read_text()).values()
    address = next(iter(case["postState"]))
    case["postState"][address]["balance"] = hex(int(case["postState"][address]["balance"], 16) + 1)
    result = run_case(case)
    assert result.outcome == "failed" and "post-state root" in result.reason


def test_missing_directory_is_a_clear_error():
    completed = nr("conformance", "/no/such/fixtures")
    assert completed.returncode == 2
    assert "/no/such/fixtures: no such file or directory" in completed.stderr


def test_a_directory_without_fixtures_is_a_clear_error(tmp_path):
    (tmp_path / "notes.txt").write_text("no fixtures here")
    completed = nr("conformance", str(tmp_path))
    assert completed.returncode == 2
    assert f"{tmp_path}: no fixture files (*.json) in it" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_a_selection_of_linked_directories_is_walked(tmp_path):
    """A subset of a release made of symlinks runs as the directories it links."""
    (tmp_path / "real").mkdir()
    shutil.copy(SIMPLE_TX, tmp_path / "real")
    (tmp_path / "selection").mkdir()
    (tmp_path / "selection" / "linked").symlink_to(tmp_path / "real", target_is_directory=True)
    assert find_fixture_files(tmp_path / "selection") == [
        tmp_path / "selection" / "linked" / SIMPLE_TX.name
    ]


def test_fork_checks_only_the_forks_named(tmp_path):
    shutil.copy(SIMPLE_TX, tmp_path)  # a Cancun case
    completed = nr("conformance", str(tmp_path), "-j", "1", "--fork", "Prague")
    assert completed.returncode == 0, completed.stderr
    assert "skipped: 1 x network 'Cancun' is not among the forks checked (prague)" in (
        completed.stdout
    )
    assert completed.stdout.splitlines()[-1] == totals(skipped=1)
    both = run_conformance(tmp_path, jobs=1, progress=False, forks=forks_named("prague, Cancun"))
    assert both.line == totals(passed=1)


def test_a_fork_name_that_does_not_exist_is_refused(tmp_path):
    shutil.copy(SIMPLE_TX, tmp_path)
    completed = nr("conformance", str(tmp_path), "--fork", "Prague,Pragu")
    assert completed.returncode == 2 and completed.stdout == ""
    assert completed.stderr == (
        "nr conformance: --fork Prague,Pragu: "
        "'Pragu' is not a fork this project implements (cancun, prague)\n"
    )
    # A fork of Ethereum's that this project has no rules for is refused alike.
    with pytest.raises(UnknownFork, match="'Osaka' is not a fork this project implements"):
        forks_named("Osaka")


def test_report_records_every_case_and_the_areas_are_summed(tmp_path):
    fixtures = tmp_path / "release"
    fixture_tree(
        fixtures,
        {
            "valid/SimpleTx.json": SIMPLE_TX.read_text(),
            "relabelled/Tx.json": relabelled_simple_tx(),
        },
    )
    report_file = tmp_path / "report.json"
    completed = nr("conformance", str(fixtures), "-j", "2", "--report", str(report_file))
    assert completed.returncode == 1
    report = json.loads(report_file.read_text())
    assert report["totals"] == {
        "passed": 1,
        "failed": 1,
        "internal error": 0,
        "skipped": 0,
        "unavailable": 0,
    }
    assert report["files"] == ["relabelled/Tx.json", "valid/SimpleTx.json"]
    failed, passed = report["cases"]
    assert passed["path"] == "valid/SimpleTx.json" and passed["name"] == "SimpleTx_Cancun"
    assert (passed["verdict"], passed["engines"], passed["reason"]) == ("passed", ["pyevm"], "")
    assert passed["seconds"] > 0
    assert failed["verdict"] == "failed"
    assert "accepted, but fixture expects TransactionException.MADE_UP" in failed["reason"]
    areas = {line.split()[0]: line.split()[1:6] for line in completed.stdout.splitlines()}
    assert areas["area"] == ["passed", "failed", "internal", "skipped", "unavail."]
    assert areas["relabelled"] == ["0", "1", "0", "0", "0"]
    assert areas["valid"] == ["1", "0", "0", "0", "0"]


def test_resume_runs_only_the_files_the_report_lacks(tmp_path):
    fixtures = tmp_path / "release"
    fixture_tree(fixtures, {"a/SimpleTx.json": SIMPLE_TX.read_text()})
    report_file = tmp_path / "report.json"
    first = nr("conformance", str(fixtures), "-j", "1", "--report", str(report_file))
    assert first.stdout.splitlines()[-1] == totals(passed=1)
    # Were a/SimpleTx.json run again it would now fail: its recorded pass must stand.
    fixture_tree(
        fixtures,
        {
            "a/SimpleTx.json": relabelled_simple_tx(),
            "b/wrongStateRoot.json": WRONG_STATE_ROOT.read_text(),
        },
    )
    resumed = nr("conformance", str(fixtures), "-j", "1", "--resume", str(report_file))
    assert resumed.returncode == 0, resumed.stdout
    assert resumed.stdout.splitlines()[-1] == totals(passed=2)
    report = json.loads(report_file.read_text())
    assert report["files"] == ["a/SimpleTx.json", "b/wrongStateRoot.json"]
    assert [case["name"] for case in report["cases"]] == [
        "SimpleTx_Cancun",
        "wrongStateRoot_Cancun",
    ]


def test_resume_refuses_what_is_not_a_report_of_this_run(tmp_path):
    shutil.copy(SIMPLE_TX, tmp_path / "SimpleTx.json")
    garbled = tmp_path / "garbled.json"
    garbled.write_text("{ not json")
    completed = nr("conformance", str(tmp_path), "--resume", str(garbled))
    assert completed.returncode == 2
    assert completed.stderr.startswith(
        f"nr conformance: --resume {garbled}: not a conformance report: Expecting"
    )
    with pytest.raises(InvalidReport, match='not a conformance report .no "format"'):
        run_conformance(tmp_path, progress=False, resume=SIMPLE_TX)
    with pytest.raises(InvalidReport, match="no such file"):
        run_conformance(tmp_path, progress=False, resume=tmp_path / "absent.json")
    cancun_only = tmp_path / "cancun.json"
    run_conformance(tmp_path, 1, False, forks=forks_named("Cancun"), report=cancun_only)
    with pytest.raises(InvalidReport, match="made with forks cancun, this run has cancun,prague"):
        run_conformance(tmp_path, progress=False, resume=cancun_only)
    with pytest.raises(InvalidReport, match="made with engines pyevm, this run has eels"):
        run_conformance(
            tmp_path,
            progress=False,
            engines=("eels",),
            forks=forks_named("Cancun"),
            resume=cancun_only,
        )
    negative = nr("conformance", str(tmp_path), "--jobs", "-1")
    assert negative.returncode == 2 and "--jobs must be 0 or more, got -1" in negative.stderr


def test_files_whose_content_is_absent_are_counted_apart(tmp_path):
    """A git-LFS pointer or an empty file is not a fixture: never a pass, never a verdict."""
    shutil.copy(SIMPLE_TX, tmp_path)
    (tmp_path / "large.json").write_text(
        "version https://git-lfs.github.com/spec/v1\noid sha256:e8f7f477\nsize 101652718\n"
    )
    (tmp_path / "absent.json").write_text("")
    completed = nr("conformance", str(tmp_path), "-j", "1")
    assert completed.returncode == 0
    assert (
        f"UNAVAILABLE {tmp_path / 'large.json'}::<file>: a git-LFS pointer: "
        "the fixture's content was not fetched" in completed.stdout
    )
    assert f"UNAVAILABLE {tmp_path / 'absent.json'}::<file>: empty file" in completed.stdout
    assert completed.stdout.splitlines()[-1] == totals(passed=1, unavailable=2)


def test_progress_shows_the_tally_and_an_eta_from_the_bytes_done():
    progress = Progress(total_files=4, total_bytes=1000, started=100.0)
    assert progress.line("0 passed", now=100.0).endswith("| 0s, ETA -- | 0 passed")
    progress.advance(250)
    assert progress.line("1 passed", now=110.0) == (
        "[######..................] 1/4 files  25% | 10s, ETA 30s | 1 passed"
    )
    progress.advance(650)
    assert progress.line("2 passed", now=1090.0).endswith(
        "2/4 files  90% | 16m30s, ETA 1m50s | 2 passed"
    )


def test_failing_system_contract_call_invalidates_the_block():
    """
    EIP-7002/7251: a reverting or throwing request system contract makes the
    block invalid. Stock py-evm Prague imports these blocks; our fork refuses.
    """
    failing = [
        case
        for case in json.loads(SYSTEM_CONTRACT_ERRORS.read_text()).values()
        if "expectException" in case["blocks"][0]
    ]
    assert len(failing) >= 2
    for case in failing:
        (block_fixture,) = case["blocks"]
        assert block_fixture["expectException"] == "BlockException.SYSTEM_CONTRACT_CALL_FAILED"
        block = decode_fixture_block(block_fixture["rlp"], Prague)
        with pytest.raises(Exception, match="system contract"):
            chain_from_fixture(case, Prague, 1).import_block(block)
        assert run_case(case).outcome == "passed"
    stock_accepts = 0
    for case in failing:
        block = decode_fixture_block(case["blocks"][0]["rlp"], PragueVM)
        try:
            chain_from_fixture(case, PragueVM, 1).import_block(block)
            stock_accepts += 1
        except Exception:
            pass
    assert stock_accepts >= 1, "the stock py-evm gap this fork fixes should still be visible"


# Minutes each of py-evm's pure-Python BLS12-381 (multi-scalar multiplication
# and pairing gas tables), with or without the speed-ups, which do not touch it:
# every engine runs them in the slow test below, not in the default suite.
SLOW_UNTOUCHED = (
    "test_valid_gas_g1msm.json",
    "test_valid_gas_g2msm.json",
    "test_valid_gas_pairing.json",
)


def fixtures_but_slow_untouched(into, every: int = 1) -> int:
    """
    Link every ``every``-th fixture file (in path order) but SLOW_UNTOUCHED
    under ``into``, keeping the layout; how many cases they hold.
    """
    kept = [p for p in sorted(FIXTURES.rglob("*.json")) if p.name not in SLOW_UNTOUCHED]
    cases = 0
    for path in kept[::every]:
        link = into / path.relative_to(FIXTURES)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(path)
        cases += len(json.loads(path.read_text()))
    return cases


@pytest.fixture
def speed_ups_off():
    """The rules as written, library functions included (the suite turns the speed-ups on)."""
    accel.disable()
    yield
    accel.enable()


def assert_all_pass(summary, cases: int) -> None:
    failures = [f"{r.path}::{r.name}: {r.reason}" for r in summary.results if r.outcome != "passed"]
    assert failures == []
    assert summary.line == totals(passed=cases)


@pytest.mark.conformance
def test_every_engine_agrees_on_every_other_fixture(tmp_path):
    """
    Every engine, with the guest and the witness host on the devnet's
    speed-ups, on every other fixture file (path order) but SLOW_UNTOUCHED:
    half the files, to keep the suite's time; the reference engine runs
    them all below, and every engine all of them in the slow run.
    """
    linked = fixtures_but_slow_untouched(tmp_path, every=2)
    summary = run_conformance(
        tmp_path, progress=False, engines=sorted(engines()), accelerate=True
    )
    assert_all_pass(summary, linked)
    # The reference engine never declines; another engine's declines each name a reason.
    declines = summary.declines()
    assert "pyevm" not in declines
    for engine, by_reason in declines.items():
        assert all(reason.startswith(f"{engine}: ") for reason in by_reason), engine


@pytest.mark.conformance
def test_the_rules_as_written_pass_the_fixtures(speed_ups_off, tmp_path):
    """The reference engine without any speed-up, on every fixture file but SLOW_UNTOUCHED."""
    cases = fixtures_but_slow_untouched(tmp_path)
    assert cases == FIXTURE_CASES - len(SLOW_UNTOUCHED)
    summary = run_conformance(tmp_path, progress=False)
    assert_all_pass(summary, cases)


@pytest.mark.slow
def test_every_engine_passes_every_fixture_with_the_rules_as_written(speed_ups_off):
    """The whole set, SLOW_UNTOUCHED too, every engine, no speed-up (15 minutes on 2 cores)."""
    summary = run_conformance(FIXTURES, progress=False, engines=sorted(engines()))
    assert_all_pass(summary, FIXTURE_CASES)


def test_an_internal_error_is_counted_apart_never_as_a_verdict(monkeypatch):
    """A library renamed under the guest: the valid block is refused, but as an internal error."""
    from precompile import guest

    def renamed(*args):
        raise AttributeError("'PragueVM' object has no attribute 'validate_header'")

    monkeypatch.setattr(guest, "validate_header_against_parent", renamed)
    (case,) = json.loads(SIMPLE_TX.read_text()).values()
    result = run_case(case)
    assert result.outcome == INTERNAL_ERROR
    assert "pyevm internal error: AttributeError" in result.reason


def test_a_rust_panic_in_a_case_is_that_cases_failure_not_the_runs_end(monkeypatch):
    """pyo3 raises panics as a BaseException; KeyboardInterrupt still stops the run."""
    from nr import conformance

    class PanicException(BaseException):
        pass

    def panics(*args):
        raise PanicException("called `Option::unwrap()` on a `None` value")

    monkeypatch.setattr(conformance, "run_case", panics)
    (case,) = json.loads(SIMPLE_TX.read_text()).values()
    result = conformance.judge_case(case, "", ("pyevm",), None)
    assert result.outcome == "failed"
    assert result.reason == "a Rust library panicked: called `Option::unwrap()` on a `None` value"

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(conformance, "run_case", interrupted)
    with pytest.raises(KeyboardInterrupt):
        conformance.judge_case(case, "", ("pyevm",), None)


def dies_on_wrong_state_root(path, *args):
    """A worker killed while running one file (as the kernel kills one out of memory)."""
    import os

    if "wrongStateRoot" in path:
        os._exit(9)
    return run_file(path, *args)


def test_a_worker_killed_mid_run_names_the_file_and_keeps_the_report(tmp_path, monkeypatch):
    from nr import conformance

    fixtures = tmp_path / "release"
    fixture_tree(
        fixtures,
        {
            "a/SimpleTx.json": SIMPLE_TX.read_text(),
            "b/wrongStateRoot.json": WRONG_STATE_ROOT.read_text(),
        },
    )
    report_file = tmp_path / "report.json"
    monkeypatch.setattr(conformance, "run_file", dies_on_wrong_state_root)
    with pytest.raises(conformance.WorkerDied, match="while running b/wrongStateRoot.json"):
        run_conformance(fixtures, jobs=1, progress=False, report=report_file)
    report = json.loads(report_file.read_text())
    assert "b/wrongStateRoot.json" not in report["files"]


def hangs_on_wrong_state_root(path, *args):
    """A file that takes its worker far longer than any test may wait."""
    import time

    if "wrongStateRoot" in path:
        time.sleep(60)
    return run_file(path, *args)


def test_an_interrupted_run_ends_its_workers_at_once(tmp_path, monkeypatch):
    """Ctrl-C (or SIGTERM, below) mid-run: no worker goes on with its file."""
    import multiprocessing
    import time

    from nr import conformance

    fixture_tree(
        tmp_path,
        {
            "a/SimpleTx.json": SIMPLE_TX.read_text(),
            "b/wrongStateRoot.json": WRONG_STATE_ROOT.read_text(),
        },
    )
    monkeypatch.setattr(conformance, "run_file", hangs_on_wrong_state_root)

    def interrupted(*args):  # the user presses Ctrl-C once a file is done
        raise KeyboardInterrupt

    monkeypatch.setattr(conformance.Progress, "advance", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_conformance(tmp_path, jobs=2, progress=False)
    deadline = time.monotonic() + 5
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not multiprocessing.active_children(), "a worker still runs its file"


def test_sigterm_stops_a_run_as_ctrl_c_does():
    import os
    import signal

    from nr.conformance import interrupted_by_sigterm

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt):
        with interrupted_by_sigterm():
            os.kill(os.getpid(), signal.SIGTERM)
            signal.sigtimedwait([], 1)  # the handler runs here at the latest
    assert signal.getsignal(signal.SIGTERM) is before
