"""
``nr compare``: deploy each configuration on fresh devnets, run every drill
on each, derive its stage and risk rosette from what the drills showed, and
report: a terminal table, ``report.json`` (schema ``nr-compare/1``, below),
``report.md`` and PNG charts (``nr.compare_charts``).

report.json: ``schema``; ``generated`` (UTC, ISO 8601); ``command``;
``wall_seconds``; ``failure_model`` (``member_failure``, ``proof_failure``);
``requirements`` (id -> ``stage``, ``text``); ``drills`` (``name``,
``title``, ``requirements``); ``configurations``, each: ``name``,
``source``, ``rollup`` (the preset's fields), ``exit_window_s`` (declared),
``proofs``, ``derived_stage`` (0, 1, 2, or null when even Stage 0's items
broke), ``broken`` (``requirement``, ``stage``, ``text``, ``drill``,
``detail``), ``rosette`` (five axes: ``value``, ``sentiment``, ``drills``,
``detail``), ``measured`` (see MEASURES; null: never happened),
``failure_probability``, ``drills`` (per drill: ``drill``, ``title``,
``passed`` (null: did not apply), ``summary``, ``checks``, ``metrics``,
``evidence`` (``at_s`` L1 seconds into the drill, ``what``, and where an L1
transaction did it ``l1_transaction``, ``l1_block``, ``l1_gas``),
``wall_seconds``, ``error``), ``wall_seconds``; ``flips`` (per configuration
after the first: ``configuration``, ``against``, the ``checks`` that turned
(``drill``, ``requirement``, ``from``, ``to``), ``stage`` (``from``, ``to``)).
"""

import datetime
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

from rollup.drills.catalog import BY_NAME, DRILLS, Drill, DrillResult, run_drill
from rollup.drills.configuration import (
    Configuration,
    InvalidConfiguration,
    load_configuration,
    preset_configuration,
)
from rollup.drills.scenario import DAY, ETHER
from rollup.drills.verdict import REQUIREMENTS, FailureModel, derive_stage, rosette

SCHEMA = "nr-compare/1"
# The measurements a configuration's report gathers from its drills: name ->
# (label, how drills' values combine, the drills it is read from (None: any)).
MEASURES = {
    "funds_lost_wei": ("funds lost (worst drill)", max, None),
    "funds_frozen_wei": ("funds frozen (worst drill)", max, None),
    "time_to_forced_inclusion_s": ("time to forced inclusion", max, ("censorship",)),
    "forced_withdrawal_latency_s": ("forced withdrawal latency", max, ("censorship",)),
    "withdrawal_latency_s": ("withdrawal latency", max, ("workload",)),
    "exit_margin_s": ("exit margin before a malicious upgrade", min, ("upgrade-race",)),
    "proposer_failure_recovery_s": ("proposer failure recovery", max, ("sequencer-offline",)),
    "l1_gas_per_settled_block": ("L1 gas per settled L2 block", max, ("workload",)),
    "l1_gas_per_l2_transaction": ("L1 gas per L2 transaction", max, ("workload",)),
    "l1_gas_per_settled_block_proofs_mode": ("L1 gas per block, proofs mode", max, ("proofs",)),
    "forcing_net_ether_amplification": ("forcing: sequencer's ether per forcer's", max,
                                        ("forcing-amplification",)),
}


class CompareError(ValueError):
    """Bad input to nr compare, in words a user can act on."""


@dataclass
class ConfigurationReport:
    configuration: Configuration
    results: List[DrillResult]
    wall_seconds: float


def configurations(stages: Optional[str], config_files: Sequence[Path]) -> List[Configuration]:
    """The configurations to compare: ``--stages`` presets, then ``--config`` files."""
    chosen: List[Configuration] = []
    try:
        if stages is not None:
            names = [part.strip() for part in stages.split(",")]
            if not all(names):
                raise CompareError(f"--stages {stages!r}: give stage numbers like 0,1,2")
            chosen += [preset_configuration(name) for name in names]
        chosen += [load_configuration(path) for path in config_files]
    except InvalidConfiguration as error:
        raise CompareError(str(error)) from error
    if not chosen:
        chosen = [preset_configuration(stage) for stage in (0, 1, 2)]
    names = [configuration.name for configuration in chosen]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise CompareError(f"two configurations are named {', '.join(twice)}: give each file"
                           " a distinct \"name\"")
    return chosen


def drills_named(text: Optional[str]) -> List[Drill]:
    if text is None:
        return list(DRILLS)
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in BY_NAME]
    if unknown or not names:
        raise CompareError(f"--drills: unknown drill {', '.join(unknown) or text!r}; the drills"
                           f" are {', '.join(BY_NAME)}")
    return [BY_NAME[name] for name in names]


def run_comparison(
    chosen: Sequence[Configuration], drills: Sequence[Drill],
    progress: Callable[[str], None] = lambda line: None,
    clock: Callable[[], float] = None,
) -> List[ConfigurationReport]:
    """Every drill on every configuration, each on a fresh devnet; progress after each."""
    from time import perf_counter

    clock = clock or perf_counter
    reports = []
    for number, configuration in enumerate(chosen, 1):
        started, results = clock(), []
        for index, drill in enumerate(drills, 1):
            progress(f"[{number}/{len(chosen)} {configuration.name}] {index}/{len(drills)}"
                     f" {drill.name} ...")
            result = run_drill(drill, configuration)
            results.append(result)
            progress(f"[{number}/{len(chosen)} {configuration.name}] {index}/{len(drills)}"
                     f" {drill.name}: {verdict_word(result.passed)} ({result.wall_seconds:.1f} s)"
                     f" {result.summary}")
        reports.append(ConfigurationReport(configuration, results, round(clock() - started, 1)))
    return reports


def verdict_word(passed: Optional[bool]) -> str:
    return {True: "pass", False: "FAIL", None: "n/a"}[passed]


def measured(results: Sequence[DrillResult]) -> Dict[str, object]:
    """The configuration's measurements, each combined over the drills that report it."""
    found: Dict[str, object] = {}
    for name, (_, combine, drills) in MEASURES.items():
        ran = [result for result in results
               if (drills is None or result.drill in drills) and not result.error]
        values = [result.metrics.get(name) for result in ran]
        values = [value for value in values if value is not None]
        # None: it never happened in a drill that ran; absent: no drill here measures it.
        if values or ran:
            found[name] = combine(values) if values else None
    return found


def build_document(
    reports: Sequence[ConfigurationReport], member_failure: float, proof_failure: float,
    command: str, wall_seconds: float,
) -> dict:
    configurations_json = []
    for report in reports:
        stage, broken = derive_stage(report.results)
        model = FailureModel.from_results(report.results, report.configuration)
        configurations_json.append({
            **report.configuration.as_json(),
            "derived_stage": stage,
            "broken": [{"requirement": item.requirement.id, "stage": item.requirement.stage,
                        "text": item.requirement.text, "drill": item.drill,
                        "detail": item.detail} for item in broken],
            "rosette": rosette(report.results),
            "measured": measured(report.results),
            "failure_probability": model.probability(member_failure, proof_failure),
            "drills": [{**asdict(result), "passed": result.passed} for result in report.results],
            "wall_seconds": report.wall_seconds,
        })
    return {
        "schema": SCHEMA,
        "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": command,
        "wall_seconds": round(wall_seconds, 1),
        "failure_model": {"member_failure": member_failure, "proof_failure": proof_failure},
        "requirements": {key: {"stage": value.stage, "text": value.text}
                         for key, value in REQUIREMENTS.items()},
        "drills": [{"name": drill.name, "title": drill.title,
                    "requirements": list(drill.requirements)} for drill in DRILLS],
        "configurations": configurations_json,
        "flips": flips(configurations_json),
    }


def flips(configurations_json: Sequence[dict]) -> List[dict]:
    """
    What turned in each configuration against the first: every drill check
    (drill, requirement) whose verdict differs, and the derived stage.
    """
    if len(configurations_json) < 2:
        return []
    first = configurations_json[0]
    before = verdicts(first)
    return [{
        "configuration": other["name"],
        "against": first["name"],
        "checks": [{"drill": key[0], "requirement": key[1], "from": before[key], "to": now}
                   for key, now in verdicts(other).items()
                   if key in before and before[key] != now],
        "stage": {"from": first["derived_stage"], "to": other["derived_stage"]},
    } for other in configurations_json[1:]]


def verdicts(configuration_json: dict) -> Dict[tuple, Optional[bool]]:
    """(drill, requirement) -> the check's verdict, for one configuration's report."""
    return {(drill["drill"], check["requirement"]): check["passed"]
            for drill in configuration_json["drills"] for check in drill["checks"]}


# -- text --

def show_stage(stage: Optional[int]) -> str:
    return "none" if stage is None else str(stage)


def show_measure(name: str, measured: dict) -> str:
    if name not in measured:
        return "not drilled"
    value = measured[name]
    if value is None:
        return "-" if name.startswith(("funds", "l1_gas", "forcing")) else "never"
    if name.endswith("_wei"):
        return f"{value / ETHER:g} ETH"
    if name.endswith("_s"):
        return f"{value / DAY:.2f} d" if value >= 3600 else f"{value} s"
    if isinstance(value, float):
        return f"{value:.2f}x"
    return f"{value:,}"


def table_rows(document: dict) -> List[List[str]]:
    """Rows of the comparison: drills, derived stage, rosette, failure model, measures."""
    configs = document["configurations"]
    rows = [["", *[c["name"] for c in configs]]]
    names = [drill["drill"] for drill in configs[0]["drills"]] if configs else []
    for index, name in enumerate(names):
        rows.append([name, *[verdict_word(c["drills"][index]["passed"]) for c in configs]])
    rows.append(["derived stage", *[show_stage(c["derived_stage"]) for c in configs]])
    for axis in ("state_validation", "data_availability", "exit_window", "sequencer_failure",
                 "proposer_failure"):
        rows.append([axis.replace("_", " "), *[
            f"{c['rosette'][axis]['value']} ({c['rosette'][axis]['sentiment']})"
            for c in configs]])
    model = document["failure_model"]
    rows.append([f"P(failure), member {model['member_failure']:g},"
                 f" proofs {model['proof_failure']:g}",
                 *[f"{c['failure_probability']:.4%}" for c in configs]])
    for name, (label, _, _) in MEASURES.items():
        rows.append([label, *[show_measure(name, c["measured"]) for c in configs]])
    return rows


def terminal_table(document: dict) -> str:
    rows = table_rows(document)
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
                     for row in rows)


def markdown(document: dict, charts: Sequence[str]) -> str:
    configs = document["configurations"]
    lines = [
        "# Trust-stage comparison by drills", "",
        f"`{document['command']}` at {document['generated']}, {document['wall_seconds']} s."
        " Each drill ran on a fresh devnet with a real deployment; every stage and rosette"
        " value below comes from the drills' outcomes, not from the configurations' declared"
        " values.", "",
        "| configuration | from | derived stage | requirements broken |", "|---|---|---|---|",
    ]
    for config in configs:
        lines.append(f"| {config['name']} | {config['source']} |"
                     f" {show_stage(config['derived_stage'])} | {len(config['broken'])} |")
    for config in configs:
        lines += ["", f"Broken in {config['name']}:" if config["broken"]
                  else f"Nothing broken in {config['name']}."]
        lines += [f"- Stage {item['stage']}: {item['text']} ({item['drill']}: {item['detail']})"
                  for item in config["broken"]]
    rows = table_rows(document)
    lines += ["", "## Drills, rosette and measurements", "",
              "| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    for flip in document["flips"]:
        turned = ", ".join(f"{item['drill']}: {item['requirement']} ({verdict_word(item['from'])}"
                           f" -> {verdict_word(item['to'])})" for item in flip["checks"]) or "none"
        lines += ["", f"Against {flip['against']}, {flip['configuration']} turned: {turned};"
                  f" stage {show_stage(flip['stage']['from'])} ->"
                  f" {show_stage(flip['stage']['to'])}."]
    if charts:
        lines += ["", "## Charts", ""] + [f"![{chart}]({chart})" for chart in charts]
    for config in configs:
        lines += ["", f"## {config['name']}", "", f"From {config['source']}; declared exit"
                  f" window {config['exit_window_s'] / DAY:.2f} d; proofs mode"
                  f" {config['proofs']['threshold']} of {config['proofs']['provers']}.", ""]
        for drill in config["drills"]:
            lines.append(f"- **{drill['drill']}** ({drill['title']}):"
                         f" {verdict_word(drill['passed'])}. {drill['summary']}")
            for check in drill["checks"]:
                lines.append(f"  - {check['requirement']}: {verdict_word(check['passed'])}")
            for step in drill["evidence"]:
                where = (f" (L1 tx {step['l1_transaction'][:18]}..., block {step['l1_block']})"
                         if "l1_transaction" in step else "")
                lines.append(f"  - {step['at_s'] / DAY:.3f} d: {step['what']}{where}")
    return "\n".join(lines) + "\n"


def write_report(document: dict, out: Path) -> List[Path]:
    """report.json, report.md and the charts in ``out``; the paths written."""
    from nr.compare_charts import draw_charts

    out.mkdir(parents=True, exist_ok=True)
    charts = draw_charts(document, out)
    json_path, md_path = out / "report.json", out / "report.md"
    json_path.write_text(json.dumps(document, indent=1, default=str) + "\n")
    md_path.write_text(markdown(document, [path.name for path in charts]))
    return [json_path, md_path, *charts]
