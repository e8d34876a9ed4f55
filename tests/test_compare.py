"""
nr compare: drills against real deployments decide the stage and rosette.
Each drill is shown able to fail: a configuration known weak fails it, the
preset passes it; weakening one parameter flips exactly the checks it
should (slow: the whole drill set); bad configurations are refused naming
the field; the report is written as JSON, Markdown and PNG.
"""

import json
import sys

import pytest

from nr.cli import main
from nr.compare import (
    CompareError,
    ConfigurationReport,
    build_document,
    configurations,
    run_comparison,
    verdicts,
    write_report,
)
from rollup.drills.catalog import BY_NAME, DRILLS, Drill, DrillResult, run_drill
from rollup.drills.configuration import (
    InvalidConfiguration,
    load_configuration,
    preset_configuration,
    with_changes,
)
from rollup.drills.scenario import DAY, ETHER, Check
from rollup.drills.verdict import REQUIREMENTS, FailureModel, at_least, derive_stage, rosette

STAGE0, STAGE1, STAGE2 = (preset_configuration(stage) for stage in (0, 1, 2))
# Stage 1 with one value weakened each: the exit window 7 d -> 1 d, the council
# threshold 7/8 -> 5/8, no forced inclusion.
SHORT_WINDOW = with_changes(STAGE1, "window-1d", upgrade_delay=DAY + DAY + 3600)
LOW_THRESHOLD = with_changes(STAGE1, "threshold-5of8", council_threshold=5)
NO_FORCING = with_changes(STAGE1, "no-forced-inclusion", inclusion_delay=0)
# The bundled regulated configurations: a freeze the operator holds, or only the council.
REGULATED, COUNCIL_FREEZE = (load_configuration(name) for name in ("regulated", "council-freeze"))


def drill(name, configuration):
    result = run_drill(BY_NAME[name], configuration)
    assert result.error is None, result.error
    return result


# -- drills that can fail, shown failing --

def test_invalid_state_root_drains_stage0_and_is_refused_at_stage1():
    weak, strong = drill("invalid-state-root", STAGE0), drill("invalid-state-root", STAGE1)
    assert weak.passed is False and weak.metrics["funds_lost_wei"] == 10 * ETHER
    assert any("replace_state: done" in step["what"] for step in weak.evidence)
    assert any("l1_transaction" in step for step in weak.evidence)
    assert strong.passed is True and strong.metrics["funds_lost_wei"] == 0
    assert any("EXECUTE refused the block" in step["what"] for step in strong.evidence)


def test_censorship_drill_fails_without_forced_inclusion():
    forced, ignored = drill("censorship", STAGE1), drill("censorship", NO_FORCING)
    assert forced.passed is True
    assert DAY <= forced.metrics["time_to_forced_inclusion_s"] < DAY + 60
    assert ignored.passed is False
    assert ignored.metrics["time_to_forced_inclusion_s"] is None
    assert ignored.metrics["funds_frozen_wei"] > 0


@pytest.mark.slow
def test_a_based_block_missing_its_proofs_misses_its_slot_and_is_refused_late():
    result = drill("based-proof-missing", STAGE1)
    assert result.passed is True, result.summary
    steps = [step["what"] for step in result.evidence]
    assert any("proofs are missing: it did not land" in step for step in steps)
    assert any("refused (another slot)" in step and "stays on the slot-ending" in step
               for step in steps)
    assert any("proven in time, landed" in step for step in steps)


def test_council_minority_acts_once_the_threshold_is_75_percent_or_less():
    assert drill("council-minority", STAGE1).passed is True
    weak = drill("council-minority", LOW_THRESHOLD)
    assert weak.passed is False and weak.metrics["funds_lost_wei"] == 10 * ETHER


@pytest.mark.slow
def test_upgrade_race_measures_the_exit_margin():
    result = drill("upgrade-race", SHORT_WINDOW)
    checks = {check.requirement: check.passed for check in result.checks}
    assert checks == {"exit-window-7d": False, "exit-window-30d": False}
    # The user still got out, a day before the upgrade: the window is 1 d, not 7.
    assert 0.99 * DAY < result.metrics["exit_margin_s"] <= DAY
    assert result.metrics["funds_lost_wei"] == 0


def test_an_operator_freeze_censors_and_names_the_censorable_set_a_council_freeze_does_not():
    regulated, council = drill("freeze", REGULATED), drill("freeze", COUNCIL_FREEZE)
    assert regulated.passed is False and regulated.metrics["funds_frozen_wei"] > 0
    assert "the operator's key" in regulated.metrics["freeze_power"]
    assert "initiate_withdrawal failed on L2" in regulated.evidence[-1]["what"]
    assert council.passed is True and council.metrics["funds_frozen_wei"] == 0
    assert council.metrics["freeze_power"] == "any account 7 of 8 council members freeze"
    assert any("6 council members freeze" in step["what"] and step["refused"]
               for step in council.evidence)


def test_a_drill_that_cannot_run_breaks_what_it_checks():
    def broken(scenario):
        raise RuntimeError("no L1 today")

    failing = Drill("censorship", "the sequencer censors a user", broken, ("forced-inclusion",))
    result = run_drill(failing, STAGE1)
    assert result.passed is False and "no L1 today" in result.error
    others = [held for held in all_held() if held.drill != "censorship"]
    stage, broken_items = derive_stage(others + [result])
    assert stage == 0
    assert ("forced-inclusion", "censorship") in {(b.requirement.id, b.drill) for b in broken_items}


# -- the verdict: stage, rosette, failure model --

def result(drill_name, **checks):
    return DrillResult(drill_name, drill_name, "", [
        Check(requirement.replace("_", "-"), passed, "") for requirement, passed in checks.items()
    ])


def all_held():
    return [DrillResult(d.name, d.title, "", [Check(r, True, "") for r in d.requirements])
            for d in DRILLS]


def test_the_stage_is_the_highest_whose_items_all_held_and_unchecked_items_hold_nothing():
    assert derive_stage(all_held())[0] == 2
    stage1 = all_held() + [result("compromised-council", council_on_bugs_only=False)]
    assert derive_stage(stage1)[0] == 1
    stage0 = all_held() + [result("censorship", forced_inclusion=False)]
    stage, broken = derive_stage(stage0)
    assert stage == 0 and [b.requirement.id for b in broken] == ["forced-inclusion"]
    assert derive_stage(all_held() + [result("workload", state_roots_on_l1=False)])[0] is None
    # A requirement no drill checked is not shown to hold.
    stage, broken = derive_stage([r for r in all_held() if r.drill != "walkaway"])
    assert stage == 0 and broken[0].drill == "(not drilled)"
    # Not applicable (no council) holds nothing back.
    assert derive_stage(all_held() + [result("council-minority", council_75=None)])[0] == 2


def test_rosette_axes_come_from_drills_and_say_when_none_ran():
    values = rosette([result("censorship", forced_inclusion=False)])
    assert values["sequencer_failure"]["value"] == "no mechanism"
    assert values["sequencer_failure"]["sentiment"] == "bad"
    assert values["exit_window"]["sentiment"] == "unknown"
    assert "did not run" in values["proposer_failure"]["detail"]


def test_failure_model_follows_the_math_of_stage_transitions():
    assert at_least(4, 7, 0.1) == pytest.approx(0.002728, rel=1e-3)  # the post's 0.27%
    operator = FailureModel(True, 0, 0, False, False, True)
    assert operator.probability(0.1, 0.01) == pytest.approx(1 - 0.9 * (1 - 0.01 * 0.1))
    stage1 = FailureModel(False, 8, 7, True, True, False)
    expected = 1 - (1 - at_least(7, 8, 0.1)) * (1 - 0.01 * at_least(2, 8, 0.1))
    assert stage1.probability(0.1, 0.01) == pytest.approx(expected)
    stage2 = FailureModel(False, 8, 7, False, False, False)
    assert stage2.probability(0.1, 0.01) == pytest.approx(0.01)


# -- configurations and the command line --

@pytest.mark.parametrize("document, message", [
    ({"base": 1, "council_threshold": 9}, "council_threshold must be 1..8"),
    ({"base": 1, "inclusion_delay": -5}, "inclusion_delay must not be negative"),
    ({"base": 1, "exit_window": 5}, "unknown field 'exit_window'"),
    ({"base": 4}, "base: unknown stage 4"),
    ({"base": 1, "upgrade_delay": "8d"}, "upgrade_delay must be int"),
    ({"base": 1, "proof_threshold": 5}, "proof_threshold must be 1..4"),
    ({"base": 1, "provers": 2}, "provers must be 3..5"),
    ({"upgrade_delay": 5}, "missing fields"),
    ({"base": 1, "freezer": "bank"}, "freezer must be one of none, operator, council"),
    ({"base": 0, "freezer": "council"}, "a council freeze needs a security_council"),
    ([1, 2], "a configuration is a JSON object"),
])
def test_configuration_files_with_bad_values_are_refused_naming_the_field(
    tmp_path, document, message
):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    with pytest.raises(InvalidConfiguration, match=message):
        load_configuration(path)


def test_a_configuration_file_changes_values_and_keeps_its_name(tmp_path):
    path = tmp_path / "short.json"
    path.write_text(json.dumps({"name": "short window", "base": 1, "upgrade_delay": 176400}))
    configuration = load_configuration(path)
    assert configuration.name == "short window"
    assert configuration.stage.exit_window == DAY and configuration.stage.stage == 1
    assert "upgrade_delay=176400" in configuration.source


def test_nr_compare_refuses_bad_input_in_words(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"base": 1, "council_threshold": 9}))
    assert main(["compare", "--config", str(bad), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert "council_threshold must be 1..8" in error and "Error" not in error
    assert main(["compare", "--stages", "0,3"]) == 2
    assert "unknown stage '3'" in capsys.readouterr().err
    assert main(["compare", "--drills", "nope"]) == 2
    assert "unknown drill 'nope'" in capsys.readouterr().err
    (tmp_path / "notjson.json").write_text("{")
    assert main(["compare", "--config", str(tmp_path / "notjson.json")]) == 2
    assert "not JSON" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    with pytest.raises(CompareError, match="two configurations are named stage1"):
        configurations("1,1", [])


def test_the_report_is_json_markdown_and_charts_without_pyplot(tmp_path):
    import matplotlib

    # Reading rcParams["backend"] itself would resolve it through pyplot.
    backend = dict.__getitem__(matplotlib.rcParams, "backend")
    results = all_held()
    results[0].metrics.update(l1_gas_per_settled_block=10_500_000, withdrawal_latency_s=3605)
    reports = [ConfigurationReport(c, results, 1.0) for c in (STAGE1, LOW_THRESHOLD)]
    document = build_document(reports, 0.1, 0.01, "nr compare", 2.0)
    written = write_report(document, tmp_path)
    names = sorted(path.name for path in written)
    assert names == ["costs-and-latency.png", "report.json", "report.md",
                     "rosette-stage1.png", "rosette-threshold-5of8.png"]
    for path in written:
        if path.suffix == ".png":
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    loaded = json.loads((tmp_path / "report.json").read_text())
    assert loaded["schema"] == "nr-compare/1"
    assert set(loaded["requirements"]) == set(REQUIREMENTS)
    assert loaded["configurations"][0]["derived_stage"] == 2
    assert "# Trust-stage comparison by drills" in (tmp_path / "report.md").read_text()
    assert "matplotlib.pyplot" not in sys.modules
    assert dict.__getitem__(matplotlib.rcParams, "backend") == backend


# -- the whole comparison (slow) --

@pytest.fixture(scope="module")
def presets_run():
    reports = run_comparison([STAGE0, STAGE1, STAGE2], DRILLS)
    return build_document(reports, 0.1, 0.01, "nr compare", 0.0), reports


@pytest.mark.slow
def test_three_presets_stage0_fails_operator_drills_stage1_all_but_council_stage2_all(
    presets_run
):
    document, reports = presets_run
    stage0, stage1, stage2 = document["configurations"]
    assert [c["derived_stage"] for c in (stage0, stage1, stage2)] == [0, 1, 2]
    assert not any(d["error"] for c in (stage0, stage1, stage2) for d in c["drills"])
    failed0 = {d["drill"] for d in stage0["drills"] if d["passed"] is False}
    assert {"invalid-state-root", "upgrade-theft", "upgrade-race", "censorship", "walkaway",
            "pause-then-forced", "sequencer-offline"} <= failed0
    failed1 = {key for key, held in verdicts(stage1).items() if held is False}
    assert failed1 == {("compromised-council", "council-on-bugs-only"),
                       ("upgrade-race", "exit-window-30d"),
                       ("sequencer-offline", "permissionless-proposing")}
    assert all(held is not False for held in verdicts(stage2).values())
    assert stage0["measured"]["funds_lost_wei"] == 10 * ETHER
    assert stage2["rosette"]["proposer_failure"]["sentiment"] == "good"
    assert stage0["failure_probability"] > stage1["failure_probability"]
    assert sum(report.wall_seconds for report in reports) < 300


@pytest.mark.slow
@pytest.mark.parametrize("weakened, turned, stage", [
    (SHORT_WINDOW, {("upgrade-race", "exit-window-7d")}, 0),
    (LOW_THRESHOLD, {("council-minority", "council-75")}, 0),
    (NO_FORCING, {("censorship", "forced-inclusion"), ("upgrade-race", "exit-window-7d"),
                  ("walkaway", "walkaway"), ("pause-then-forced", "pause-bounded")}, 0),
    (REGULATED, {("freeze", "no-operator-freeze")}, 0),
    (COUNCIL_FREEZE, set(), 1),
], ids=["window-1d", "threshold-5of8", "no-forced-inclusion", "regulated", "council-freeze"])
def test_weakening_one_parameter_flips_exactly_its_drills_and_the_stage(
    presets_run, weakened, turned, stage
):
    document, reports = presets_run
    stage1_report = reports[1]
    (report,) = run_comparison([weakened], DRILLS)
    pair = build_document([stage1_report, report], 0.1, 0.01, "nr compare", 0.0)
    (flip,) = pair["flips"]
    assert {(c["drill"], c["requirement"]) for c in flip["checks"]} == turned
    assert all(c["from"] is True and c["to"] is False for c in flip["checks"])
    assert flip["stage"] == {"from": 1, "to": stage}
    if weakened is REGULATED:
        exit_window = pair["configurations"][1]["rosette"]["exit_window"]
        assert exit_window["value"] == "none: users can be censored"
        assert "the operator's key" in exit_window["detail"]
