"""``nr composability --demo`` and ``nr bench composability``: they run, and say what happened."""

import json

import pytest

from nr.bench.composability import format_composability, run_composability_bench
from nr.cli import main
from nr.composability import SILENT_SLOTS, run_demo, write_demo


def test_the_demo_runs_every_kind_of_slot_and_draws_them(tmp_path):
    said = []
    records = run_demo(log=said.append)
    assert any("swap" in label for r in records for label in r.cross_domain)
    swap = next(r for r in records if any("swap" in label for label in r.cross_domain))
    assert swap.based_landed
    # Every based block built landed in its slot (the first one did not fit its L1 block
    # beside the settlements of the demo contracts' L2 blocks, once).
    assert all(r.based_landed for r in records if r.based_attempted)
    nested = next(r for r in records if "L1 -> L2 -> L1 call" in r.cross_domain)
    # The based block and the call's own L2 block settled in the slot.
    assert nested.based_landed and nested.settled_head == nested.based + 1
    missed = [r for r in records if r.slot_ending is not None and not r.based_attempted]
    assert missed, "a slot without a based block"
    modes = [r.mode for r in records]
    assert "based" in modes
    fallback = modes.index("based")
    assert any("void" in note for note in records[fallback].notes)
    assert records[fallback + 1].based_landed and records[fallback + 1].mode == "sequenced"
    assert records[-1].based_landed and records[-1].settled_head == records[-1].l2_head
    assert sum(1 for r in records if r.slot_ending is None) >= SILENT_SLOTS
    assert len(said) == len(records) + 1  # one line per slot, after the deploy's
    png, page, data = write_demo(records, tmp_path / "demo")
    assert png.read_bytes().startswith(b"\x89PNG")
    assert page.read_text().count("<tr>") == len(records) + 1
    assert [slot["slot"] for slot in json.loads(data.read_text())] == [r.slot for r in records]


def test_the_benchmark_measures_preconfirmations_and_landing():
    results = run_composability_bench(slots=3, slot_time=1, rate=4, log=lambda _: None)
    assert results.attempted == 3
    assert 0 <= results.landed <= results.attempted
    assert results.preconfirmation_ms and all(ms > 0 for ms in results.preconfirmation_ms)
    report = format_composability(results)
    assert "preconfirmation latency  p50" in report and "based blocks in their slot" in report
    # One more slot lands a synchronous call; its block settles two L2 blocks.
    assert results.synchronous_call_gas > max(results.plain_gas, default=0)
    assert f"{results.synchronous_call_gas:,} with a synchronous" in report


def test_nr_composability_without_demo_says_what_it_does(capsys):
    assert main(["composability"]) == 2
    assert "--demo runs the demo" in capsys.readouterr().err


def test_nr_composability_refuses_an_out_it_cannot_write_before_running(capsys, tmp_path):
    taken = tmp_path / "a-file"
    taken.write_text("")
    assert main(["composability", "--demo", "--out", str(taken)]) == 2
    said = capsys.readouterr().err
    assert f"cannot write the timeline to {taken}: File exists" in said
    assert "slot" not in said  # refused before any slot ran


@pytest.mark.parametrize(
    "argv, message",
    [
        (["bench", "composability", "--slot-ending-at", "1.5"], "must be between 0 and 1"),
        (["bench", "composability", "--slots", "0"], "must be positive"),
    ],
)
def test_the_benchmark_refuses_flags_it_cannot_run(capsys, argv, message):
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_a_sequencer_failure_is_logged_in_words_not_library_types():
    from web3.exceptions import TimeExhausted

    from rollup.service import in_words

    waited = in_words(TimeExhausted(
        "Transaction HexBytes('0xabcd') is not in the chain after 120 seconds"
    ))
    assert waited == (
        "no L1 receipt in time (Transaction 0xabcd is not in the chain after 120 seconds)"
    )
    refused = in_words(ConnectionRefusedError(111, "Connection refused"))
    assert refused.startswith("the L1 node does not answer") and "Error" not in refused
    assert in_words(ValueError("")) == "no reason given"
