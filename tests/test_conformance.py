"""The ``nr conformance`` runner: fixture walking, reporting, and the full fixture set."""

import json
import shutil
import subprocess
import sys

import pytest
from eth.vm.forks import PragueVM

from l1 import accel
from nr.conformance import (
    chain_from_fixture,
    decode_fixture_block,
    run_case,
    run_conformance,
)
from precompile.engines import engines
from precompile.forks import Prague
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


def test_valid_and_invalid_fixtures_pass(tmp_path):
    shutil.copy(SIMPLE_TX, tmp_path)
    shutil.copy(WRONG_STATE_ROOT, tmp_path)
    completed = nr("conformance", str(tmp_path), "--jobs", "1")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stdout.splitlines()[-1] == "2 passed, 0 failed, 0 internal errors, 0 skipped"


def test_non_fixture_files_are_skipped_quietly(tmp_path):
    shutil.copy(SIMPLE_TX, tmp_path)
    (tmp_path / "README.md").write_text("# not a fixture\n")
    (tmp_path / "notes.json").write_text(json.dumps({"comment": "not a blockchain test"}))
    completed = nr("conformance", str(tmp_path), "-j", "1")
    assert completed.returncode == 0
    assert completed.stdout.splitlines()[-1] == "1 passed, 0 failed, 0 internal errors, 0 skipped"


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
    assert completed.stdout.splitlines()[-1] == "0 passed, 3 failed, 0 internal errors, 0 skipped"


def test_unknown_network_is_skipped_with_reason(tmp_path):
    case = json.loads(SIMPLE_TX.read_text())
    (name,) = case
    case[name]["network"] = "Frontier"
    (tmp_path / "frontier.json").write_text(json.dumps(case))
    completed = nr("conformance", str(tmp_path), "-j", "1")
    assert completed.returncode == 0
    assert "SKIPPED" in completed.stdout and "'Frontier' has no fork rules" in completed.stdout
    assert completed.stdout.splitlines()[-1] == "0 passed, 0 failed, 0 internal errors, 1 skipped"


def test_a_wrong_expectation_fails_the_run(tmp_path):
    """The runner can fail: a valid block marked invalid is reported and exits non-zero."""
    case = json.loads(SIMPLE_TX.read_text())
    (name,) = case
    case[name]["blocks"][0]["expectException"] = "TransactionException.MADE_UP"
    (tmp_path / "relabelled.json").write_text(json.dumps(case))
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


def fixtures_but_slow_untouched(into) -> None:
    """Link every fixture file but SLOW_UNTOUCHED under ``into``, keeping the layout."""
    for path in FIXTURES.rglob("*.json"):
        if path.name not in SLOW_UNTOUCHED:
            link = into / path.relative_to(FIXTURES)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(path)


@pytest.fixture
def speed_ups_off():
    """The rules as written, library functions included (the suite turns the speed-ups on)."""
    accel.disable()
    yield
    accel.enable()


def assert_all_pass(summary, cases: int) -> None:
    failures = [f"{r.path}::{r.name}: {r.reason}" for r in summary.results if r.outcome != "passed"]
    assert failures == []
    assert summary.line == f"{cases} passed, 0 failed, 0 internal errors, 0 skipped"


@pytest.mark.conformance
def test_every_fixture_case_passes_and_every_engine_agrees(tmp_path):
    """
    Every engine, with the guest and the witness host on the devnet's
    speed-ups, on every fixture file but SLOW_UNTOUCHED.
    """
    fixtures_but_slow_untouched(tmp_path)
    summary = run_conformance(
        tmp_path, progress=False, engines=sorted(engines()), accelerate=True
    )
    assert_all_pass(summary, FIXTURE_CASES - len(SLOW_UNTOUCHED))
    # The reference engine never declines; another engine's declines each name a reason.
    declines = summary.declines()
    assert "pyevm" not in declines
    for engine, by_reason in declines.items():
        assert all(reason.startswith(f"{engine}: ") for reason in by_reason), engine


@pytest.mark.conformance
def test_the_rules_as_written_pass_the_fixtures(speed_ups_off, tmp_path):
    """The reference engine without any speed-up, on every fixture file but SLOW_UNTOUCHED."""
    fixtures_but_slow_untouched(tmp_path)
    summary = run_conformance(tmp_path, progress=False)
    assert_all_pass(summary, FIXTURE_CASES - len(SLOW_UNTOUCHED))


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
