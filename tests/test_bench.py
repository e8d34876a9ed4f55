"""The benchmark's workload blocks are real L2 blocks: every engine verifies them."""

import itertools
import sys
from pathlib import Path

import pytest

from nr.bench.execute import build_workloads, format_results, measure_engine
from nr.testing.mutations import STRUCTURAL_MUTATIONS
from precompile.encoding import decode
from precompile.engines import engines
from precompile.guest import verify_stateless_new_payload
from precompile.ssz import StatelessInput


def test_workload_blocks_fill_their_gas_and_every_engine_verifies_them():
    target = 400_000
    workloads = build_workloads(target)
    assert [w.label for w in workloads] == ["compute-heavy", "storage-heavy"]
    for workload in workloads:
        assert 0.9 * target <= workload.gas_used <= target / 0.97
        for engine in sorted(engines()):
            measurement = measure_engine(workload, engine)
            assert measurement.declined is None and measurement.seconds > 0
        mutated = decode(workload.encoded_input, StatelessInput)
        STRUCTURAL_MUTATIONS["post_state_root"](mutated)
        assert not verify_stateless_new_payload(mutated).result.successful_validation
    table = format_results({w.label: [w.raw_pyevm, w.raw_pyevm] for w in workloads})
    assert "compute-heavy" in table and "1.00000x" in table


def test_prove_bench_measures_every_proof_type_and_checks_its_proofs():
    from nr.bench.prove import curve_blocks, format_results, measure_signatures, run_bench
    from prover.constants import DEFAULT_PROOF_TYPES

    measurements, signatures, hashing = run_bench(
        (200_000,), DEFAULT_PROOF_TYPES, log=lambda line: None
    )
    assert [m.proof_type for m in measurements] == list(DEFAULT_PROOF_TYPES)
    ((gas_used, encoded),) = curve_blocks((200_000,), log=lambda line: None)
    for m in measurements:
        assert m.refused is None and m.verify_seconds > 0 and m.gas_used == gas_used
        assert m.proof_size == (len(encoded) if m.proof_type.startswith("reexec") else 104)
    assert measurements[0].provers_for(measurements[0].prove_seconds / 2.5) == 3
    assert signatures.verify_ms > 0 and measure_signatures(rounds=5).sign_ms > 0
    assert set(hashing.seconds) >= {"cpu", "numpy"} and hashing.nodes > 0
    table = format_results(measurements, signatures, hashing)
    assert "attested verify: worst" in table and "reexec-revm" in table
    assert f"witness hashing, {hashing.nodes} nodes" in table


def test_rpc_bench_rounds_split_the_transfers_and_every_transfer_lands(monkeypatch):
    import nr.bench.rpc as rpc_bench

    assert rpc_bench.round_sizes(300, 5) == [60] * 5
    assert rpc_bench.round_sizes(7, 3) == [3, 2, 2] and rpc_bench.round_sizes(2, 5) == [1, 1]
    # A node-signed round sends at most 100 before reading their receipts.
    assert rpc_bench.batch_sizes(250, 100) == [84, 83, 83]
    assert rpc_bench.batch_sizes(3, 1) == [1, 1, 1]
    real_transfers, after_each_turn = rpc_bench.transfers, []

    def transfers_then_read_the_chain(w3, count, workload):
        seconds = real_transfers(w3, count, workload)
        sender = w3.eth.accounts[0]
        after_each_turn.append((w3.eth.get_transaction_count(sender), w3.eth.block_number))
        return seconds

    monkeypatch.setattr(rpc_bench, "transfers", transfers_then_read_the_chain)
    results = rpc_bench.run_rpc_bench(9, ["nr devnet"], rounds=4, log=lambda line: None)
    assert list(results) == [rpc_bench.CLIENT_SIGNED, rpc_bench.NODE_SIGNED]
    for (result,) in results.values():
        assert result.transactions == 9 and len(result.round_rates) == 4
    warm_up = rpc_bench.WARM_UP_TRANSFERS
    # One block per transfer, every transfer mined, one workload after the other (the
    # same sender): warm-up, then rounds of 3, 2, 2, 2.
    turns = [warm_up, 3, 2, 2, 2] * 2
    assert [nonce for nonce, _ in after_each_turn] == list(itertools.accumulate(turns))
    assert all(nonce == block for nonce, block in after_each_turn)
    table = rpc_bench.format_rpc_results(
        [
            rpc_bench.RpcMeasurement("a", 10, 1.0, [8.0, 12.0]),
            rpc_bench.RpcMeasurement("b", 10, 2.0, [5.0]),
        ]
    )
    assert "2.00x b" in table and "0.50x a" in table and "8-12" in table
    # Each round's ratio, turns next to each other: a machine slowing down between rounds
    # moves both nodes' rates, not their ratio.
    a = rpc_bench.RpcMeasurement("a", 30, 3.0, [20.0, 10.0, 5.0])
    b = rpc_bench.RpcMeasurement("b", 30, 2.0, [40.0, 20.0, 8.0])
    assert rpc_bench.round_ratios(a, b) == [0.5, 0.5, 0.625]
    assert rpc_bench.format_ratio(a, b) == "0.67x b (rounds: median 0.50, 0.50-0.62)"


@pytest.mark.slow
def test_forcing_bench_shows_bonds_bound_the_attackers_leverage():
    """About 30 s; the bonds themselves are tested in test_rollup_security.py."""
    from nr.bench.forcing import format_forcing_costs, run_forcing_bench

    costs = run_forcing_bench(2, log=lambda line: None)
    assert costs.forced == 2 and costs.bonds_earned > 0
    # In gas the sequencer still pays many times the attacker's (a block per forced transaction),
    assert costs.gas_amplification > 5
    # but net of the bonds it is paid, forcing costs the attacker about as much as the sequencer.
    assert costs.net_wei_amplification < 2
    assert "gas amplification" in format_forcing_costs(costs)


# -- nr bench plugin --


def test_the_plugin_bench_times_the_example_suite_per_test_and_reports_isolation():
    from nr.bench.plugin import PLUGIN, format_plugin_results, run_plugin_bench

    (plugin,) = run_plugin_bench(rounds=1)
    assert plugin.name == PLUGIN
    # 25 cases a function, the first (the session's setup) left out.
    assert len(plugin.l1) == len(plugin.l2) == 24
    assert 0 < plugin.l1_median < 1000 and 0 < plugin.l2_median < 1000
    assert "50 isolated tests" in plugin.isolation
    table = format_plugin_results([plugin])
    assert table.splitlines()[1].startswith(PLUGIN) and "isolation: 52 snapshots" in table


def test_per_test_times_leave_out_each_functions_first_case():
    from nr.bench.plugin import per_test_milliseconds

    durations = {
        "test_overhead.py::test_l1[1]": 2.0,
        "test_overhead.py::test_l1[2]": 0.004,
        "test_overhead.py::test_l1[11]": 0.006,
        "tests/test_overhead.py::test_l2[2]": 0.008,
    }
    assert per_test_milliseconds(durations, "test_l1") == pytest.approx([4.0, 6.0])
    assert per_test_milliseconds(durations, "test_l2") == pytest.approx([8.0])


def test_a_harness_environment_without_its_tool_is_refused_saying_what_is_missing(capsys):
    from nr.bench.plugin import HarnessUnavailable, run_plugin_bench
    from nr.cli import main

    with pytest.raises(HarnessUnavailable, match="cannot import titanoboa and pytest"):
        run_plugin_bench(rounds=1, titanoboa=sys.executable)
    with pytest.raises(HarnessUnavailable, match="no ape beside it"):
        run_plugin_bench(rounds=1, ape=sys.executable)
    assert main(["bench", "plugin", "--titanoboa", "/no/such/python"]) == 2
    assert "--titanoboa /no/such/python: no such interpreter" in capsys.readouterr().err
    # A program that exits 0 on anything is not taken for a Python; a directory is not one.
    with pytest.raises(HarnessUnavailable, match="/bin/true: not a Python interpreter"):
        run_plugin_bench(rounds=1, titanoboa="/bin/true")
    with pytest.raises(HarnessUnavailable, match="a directory; give its python"):
        run_plugin_bench(rounds=1, titanoboa=str(Path(sys.executable).parent))


def test_an_interpreter_given_by_a_relative_path_is_found_from_the_harness_directory(
    tmp_path, monkeypatch
):
    """Each harness runs in a directory of its own: a relative path must not be kept."""
    from nr.bench.plugin import existing_interpreter

    monkeypatch.chdir(Path(sys.executable).parent.parent)
    relative = str(Path(sys.executable).relative_to(Path.cwd()))
    found = existing_interpreter(relative, "--titanoboa")
    assert Path(found).is_absolute() and Path(found).samefile(sys.executable)


def test_a_harness_whose_tests_fail_is_reported_with_its_output(tmp_path, monkeypatch):
    from nr.bench import plugin as bench

    failing = tmp_path / "test_overhead.py"
    failing.write_text(bench.OVERHEAD_SUITE.read_text().replace("== by", "== by + 1", 1))
    monkeypatch.setattr(bench, "OVERHEAD_SUITE", failing)
    with pytest.raises(bench.HarnessFailed, match=r"(?s)did not pass \(exit 1\).*failed"):
        bench.run_plugin_bench(rounds=1)


def test_a_harness_that_never_answers_is_stopped_with_what_it_started(tmp_path, monkeypatch):
    """Its shell's sleep would outlive it, and hold its output open, if only it were killed."""
    from nr.bench import plugin as bench

    started = tmp_path / "started"
    hangs = tmp_path / "hangs"
    hangs.write_text(f"#!/bin/sh\nsleep 300 &\necho $! > {started}\nwait\n")
    hangs.chmod(0o755)
    monkeypatch.setattr(bench, "ANSWER_TIMEOUT_SECONDS", 1)
    with pytest.raises(bench.HarnessUnavailable, match=f"--titanoboa {hangs}: did not answer"
                       " within 1 s"):
        bench.run_plugin_bench(rounds=1, titanoboa=str(hangs))
    assert gone(int(started.read_text()))
    monkeypatch.setattr(bench, "RUN_TIMEOUT_SECONDS", 1)
    harness = bench.Harness("hangs", [str(hangs)], {})
    with pytest.raises(bench.HarnessFailed, match="hangs: the 50 tests did not finish in 1 s"):
        bench.run_once(harness, tmp_path)
    assert gone(int(started.read_text()))


def gone(pid: int, seconds: float = 5) -> bool:
    """Whether ``pid`` ends within ``seconds``: a killed process takes a moment to exit, and an
    orphan may stay a zombie until init reaps it."""
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except FileNotFoundError:
            return True
        if "State:\tZ" in status:
            return True
        time.sleep(0.05)
    print(status)
    return False


def test_a_shell_or_a_file_that_is_no_program_is_not_taken_for_a_python(tmp_path):
    from nr.bench.plugin import HarnessUnavailable, run_plugin_bench

    with pytest.raises(HarnessUnavailable, match="/bin/sh: not a Python interpreter"):
        run_plugin_bench(rounds=1, titanoboa="/bin/sh")
    text = tmp_path / "text.txt"
    text.write_text("not a program\n")
    with pytest.raises(HarnessUnavailable, match="text.txt: not executable"):
        run_plugin_bench(rounds=1, titanoboa=str(text))
    text.chmod(0o755)  # executable, but no format the system runs
    with pytest.raises(HarnessUnavailable, match="text.txt: (not a Python|cannot be run)"):
        run_plugin_bench(rounds=1, titanoboa=str(text))
