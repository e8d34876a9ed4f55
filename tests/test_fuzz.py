"""
nr fuzz: a fixed-seed burst finds the engines agreeing and every mutation
refused; an engine made to compute a wrong state root is caught, and the block
it was caught on is saved as a fixture that nr conformance replays (failing
under the broken engine, passing under the real one).
"""

import dataclasses
import json

import pytest

from nr.conformance import load_cases, run_case, run_conformance
from nr.fuzz import ENGINES, FuzzReport, draw_round, judge_mutations, run_fuzz, stateless_input_of
from nr.testing.mutations import (
    account_every_engine_reads,
    mutated_encodings,
    nodes_proving_account,
)
from precompile.encoding import decode
from precompile.engines.eels import EelsEngine
from precompile.forks import FORK_RULES
from precompile.guest import INVALID, verify_stateless_new_payload
from precompile.ssz import StatelessInput

SEED = 2026
# Blocks nr fuzz found the engines disagreeing on: (seed, round) -> what it was.
FOUND = {
    # py-evm charged the initcode of a CREATE made by the origin's own
    # EIP-7702-delegated code twice (it took that message for the transaction's).
    (1, 33): "pyevm used 2 gas more than EELS",
    (1, 103): "pyevm used 2 gas more than EELS",
    # revm wrote slots it had only read into the post-state trie, needing
    # nodes the witness (what py-evm read) does not hold: it rejected the block.
    (1, 6): "revm: MissingTrieNode on a slot it only read",
    (1, 35): "revm: MissingTrieNode on a slot it only read",
}


def test_a_fixed_seed_burst_finds_every_engine_agreeing_and_every_mutation_refused():
    report = run_fuzz(SEED, rounds=3)
    assert report.findings == []
    assert report.rounds == 3 and report.transactions > 0
    # Each block and each of its mutations was judged (a dozen inputs a block).
    assert report.inputs >= 3 * 10
    assert "inputs/s" in report.line()


@pytest.mark.parametrize("seed, number", sorted(FOUND), ids=[FOUND[k] for k in sorted(FOUND)])
def test_every_engine_agrees_on_the_blocks_fuzzing_found(seed, number):
    result = run_case(draw_round(seed, number).case, ENGINES, FORK_RULES)
    assert result.outcome == "passed", result.reason


def test_the_removed_witness_node_is_one_every_engine_needs():
    """
    fuzz_1_0's witness holds accounts only revm loads (its access lists name
    them): without the middle node, one of those, pyevm and EELS rightly
    accepted. The mutation now removes the first sender's account leaf, which
    no engine judges the block without; each that does not decline refuses it.
    """
    valid = stateless_input_of(draw_round(1, 0).case)
    sender_path = nodes_proving_account(valid, account_every_engine_reads(valid))
    mutated = decode(mutated_encodings(valid)["removed_witness_node"], StatelessInput)
    assert len(mutated.witness.state) == len(valid.witness.state) - 1
    assert sender_path[-1] not in [bytes(node) for node in mutated.witness.state]
    for engine in ("pyevm", "eels"):
        report = verify_stateless_new_payload(mutated, engine)
        assert (report.engine, report.verdict) == (engine, INVALID), report
    assert judge_mutations(valid, ENGINES, FuzzReport(1)) == []


def test_the_same_seed_draws_the_same_blocks():
    assert draw_round(SEED, 1).case == draw_round(SEED, 1).case
    assert draw_round(SEED, 1).case != draw_round(SEED, 2).case


def test_an_engine_computing_another_state_root_is_caught_and_replayable(tmp_path, monkeypatch):
    honest = EelsEngine.execute

    def broken(self, *arguments):
        outcome = honest(self, *arguments)
        return dataclasses.replace(outcome, state_root=bytes(32))

    monkeypatch.setattr(EelsEngine, "execute", broken)
    report = run_fuzz(SEED, rounds=1, engines=ENGINES, out=tmp_path)
    assert any("engines disagree" in finding for finding in report.findings), report.findings
    assert not any("accepted the mutation" in finding for finding in report.findings)
    (saved,) = tmp_path.glob("*.json")
    ((name, case, _),) = list(load_cases(saved))
    assert "engines disagree" in run_case(case, ENGINES, FORK_RULES).reason
    monkeypatch.setattr(EelsEngine, "execute", honest)
    summary = run_conformance(tmp_path, jobs=1, progress=False, engines=ENGINES)
    assert summary.count("passed") == 1, json.dumps(summary.line())
