"""
From drill outcomes to L2BEAT's vocabulary: the stage requirements each
drill checks, the stage a configuration earns (the highest whose items all
held in the drills), the five risk-rosette values, and the failure model of
Vitalik's "The math of when stage transitions make sense" (2025), each
derived from what the drills showed, never from the declared parameters.
"""

from dataclasses import dataclass
from math import comb
from typing import Dict, List, Optional, Sequence

from .scenario import DAY


@dataclass(frozen=True)
class Requirement:
    id: str
    # The stage this is an item of (L2BEAT stages.md); None: measured, no stage rests on it.
    stage: Optional[int]
    text: str


REQUIREMENTS: Dict[str, Requirement] = {r.id: r for r in (
    Requirement("state-roots-on-l1", 0,
                "state roots are posted to L1 and withdrawals are proven against them"),
    Requirement("data-on-l1", 0, "a node rebuilds the L2 state from L1 data alone"),
    Requirement("state-validation", 1,
                "an invalid state root the operator posts is refused (only EXECUTE moves it)"),
    Requirement("proof-soundness", 1,
                "fewer than k provers cannot make EXECUTE accept an invalid block; missing"
                " proofs stall settlement, they do not drop it"),
    Requirement("no-instant-upgrade", 1, "an operator upgrade cannot take the escrow at once"),
    Requirement("exit-window-7d", 1,
                "a censored user forces a withdrawal out at least 7 days before a malicious"
                " upgrade runs"),
    Requirement("forced-inclusion", 1,
                "users exit without the operators: a censored user's forced transaction is"
                " included"),
    Requirement("council-75", 1,
                "compromising 75% of the Security Council is not enough to act, and it has at"
                " least 8 members"),
    Requirement("council-threshold", 1, "the Security Council cannot act below its threshold"),
    Requirement("pause-bounded", 1, "an operator's pause does not stop a forced withdrawal"),
    Requirement("no-operator-freeze", 1,
                "no one but a Security Council above 75% can freeze a user's withdrawals"),
    Requirement("walkaway", 1,
                "users exit with every council key gone and a malicious operator (censoring,"
                " pausing, upgrading)"),
    Requirement("no-third-party-freeze", 1,
                "no third party can freeze deposits or withdrawals, or stall the forced path"),
    Requirement("exit-window-30d", 2,
                "a censored user forces a withdrawal out at least 30 days before a malicious"
                " upgrade runs"),
    Requirement("council-on-bugs-only", 2,
                "the Security Council (even at its threshold) acts only on a bug proven on chain"),
    Requirement("permissionless-proposing", 2,
                "anyone may propose once the sequencer is silent"),
    Requirement("forcing-economics", None,
                "forcing a transaction costs the forcer at least what it costs the sequencer,"
                " net of bonds"),
)}
# L2BEAT's rosette sentiments, and ours for an axis no drill here showed.
GOOD, WARNING, BAD, UNKNOWN = "good", "warning", "bad", "unknown"
# Drills whose outcome a rosette axis is read from.
AXIS_DRILLS = {
    "state_validation": ("invalid-state-root", "proofs"),
    "data_availability": ("data-on-l1",),
    "exit_window": ("upgrade-theft", "upgrade-race", "freeze"),
    "sequencer_failure": ("censorship",),
    "proposer_failure": ("sequencer-offline",),
}
# A measured exit margin this close below a bound meets it: the exit's own L1
# transactions take a few blocks, which L2BEAT's exit window (upgrade delay
# less the forcing and finality delays) leaves out.
MARGIN_TOLERANCE = 60


@dataclass(frozen=True)
class Broken:
    """A stage requirement a drill broke, or could not show."""

    requirement: Requirement
    drill: str
    detail: str


def derive_stage(results: Sequence) -> tuple:
    """
    The stage ``results`` earn: the highest whose items all held (0 needs
    Stage 0's; None when even those broke), and every requirement broken,
    with the drill that broke it. A drill that could not run holds nothing,
    and neither does a requirement no drill here checked.
    """
    broken = [
        Broken(REQUIREMENTS[check.requirement], result.drill, check.detail)
        for result in results for check in result.checks
        if check.passed is False and REQUIREMENTS[check.requirement].stage is not None
    ]
    checked = {check.requirement for result in results for check in result.checks}
    broken += [
        Broken(requirement, "(not drilled)", "no drill in this run checked it")
        for requirement in REQUIREMENTS.values()
        if requirement.id not in checked and requirement.stage is not None
    ]
    lowest = min((item.requirement.stage for item in broken), default=3)
    stage = None if lowest == 0 else min(lowest - 1, 2)
    return stage, broken


def rosette(results: Sequence) -> Dict[str, dict]:
    """The risk rosette's five values (riskView.ts), each from the drills that show it."""
    by_drill = {result.drill: result for result in results}
    readers = {
        "state_validation": _state_validation,
        "data_availability": _data_availability,
        "exit_window": _exit_window,
        "sequencer_failure": _sequencer_failure,
        "proposer_failure": _proposer_failure,
    }
    values = {}
    for axis, read in readers.items():
        missing = [drill for drill in AXIS_DRILLS[axis] if drill not in by_drill]
        values[axis] = (
            _value("not drilled", UNKNOWN, list(AXIS_DRILLS[axis]),
                   f"not shown: {', '.join(missing)} did not run") if missing
            else read(by_drill)
        )
    return values


def _value(value: str, sentiment: str, drills: List[str], detail: str) -> dict:
    return {"value": value, "sentiment": sentiment, "drills": drills, "detail": detail}


def _held(by_drill: dict, drill: str, requirement: str) -> Optional[bool]:
    result = by_drill.get(drill)
    if result is None:
        return None
    return next((c.passed for c in result.checks if c.requirement == requirement), None)


def _metric(by_drill: dict, drill: str, name: str):
    result = by_drill.get(drill)
    return None if result is None else result.metrics.get(name)


def _days(seconds: Optional[int]) -> str:
    return "(unmeasured)" if seconds is None else f"{seconds / DAY:.1f} d"


def _state_validation(by_drill: dict) -> dict:
    root = _held(by_drill, "invalid-state-root", "state-validation")
    proofs = _held(by_drill, "proofs", "proof-soundness")
    drills = ["invalid-state-root", "proofs"]
    if root is False:
        return _value("none", BAD, drills, "the operator settled an invalid state root")
    if proofs is False:
        return _value("proofs forgeable", BAD, drills,
                      "EXECUTE re-execution refuses invalid roots, but in proofs mode fewer"
                      " than k provers made it accept one")
    mode = _metric(by_drill, "proofs", "proofs_mode") or "k of n"
    return _value("EXECUTE", GOOD, drills,
                  "every invalid state root was refused, re-executed and in proofs mode"
                  f" ({mode})")


def _data_availability(by_drill: dict) -> dict:
    rebuilt = _held(by_drill, "data-on-l1", "data-on-l1")
    if rebuilt:
        return _value("onchain", GOOD, ["data-on-l1"],
                      "a fresh node rebuilt every settled state from L1 calldata alone")
    return _value("not rebuilt from L1", BAD, ["data-on-l1"],
                  "the L2 state could not be rebuilt from L1 data alone")


def _exit_window(by_drill: dict) -> dict:
    drills = list(AXIS_DRILLS["exit_window"])
    if _held(by_drill, "upgrade-theft", "no-instant-upgrade") is False:
        return _value("none", BAD, drills, "an operator upgrade took the escrow at once")
    if _held(by_drill, "freeze", "no-operator-freeze") is False:
        power = _metric(by_drill, "freeze", "freeze_power")
        return _value("none: users can be censored", BAD, drills,
                      f"a frozen user could not exit; the censorable set is {power}")
    margin = _metric(by_drill, "upgrade-race", "exit_margin_s")
    if margin is None:
        return _value("none", BAD, drills,
                      "a censored user could not get out before a malicious upgrade ran")
    days = (margin + MARGIN_TOLERANCE) / DAY
    sentiment = BAD if days < 7 else WARNING if days < 30 else GOOD
    return _value(f"{margin / DAY:.1f} d", sentiment, drills,
                  "measured: a censored user's forced withdrawal was claimed this long before"
                  " the malicious upgrade could run")


def _sequencer_failure(by_drill: dict) -> dict:
    drills = ["censorship"]
    if _held(by_drill, "censorship", "forced-inclusion"):
        seconds = _metric(by_drill, "censorship", "time_to_forced_inclusion_s")
        return _value("force via L1", GOOD, drills,
                      f"the censored forced transaction was included after {_days(seconds)}")
    return _value("no mechanism", BAD, drills,
                  "the censoring sequencer kept the forced transaction out and L1 settled on")


def _proposer_failure(by_drill: dict) -> dict:
    drills = ["sequencer-offline"]
    who = _metric(by_drill, "sequencer-offline", "recovered_by")
    seconds = _metric(by_drill, "sequencer-offline", "proposer_failure_recovery_s")
    if who == "anyone":
        return _value(f"self propose after {_days(seconds)}", GOOD, drills,
                      "a user proposed the next block once the sequencer had been silent that long")
    if who == "council":
        return _value("Security Council replaces the proposer", WARNING, drills,
                      "no user could propose; the council named a new sequencer at once")
    return _value("cannot withdraw", BAD, drills,
                  "with the sequencer silent, no user and no council could settle a block")


@dataclass(frozen=True)
class FailureModel:
    """What the drills showed about who can break the rollup, for the failure model."""

    operator_can_steal: bool
    council_members: int
    council_threshold: int
    council_can_steal: bool
    council_can_fix: bool
    operator_can_fix: bool

    @classmethod
    def from_results(cls, results: Sequence, configuration) -> "FailureModel":
        by_drill = {result.drill: result for result in results}
        stolen = any(
            _held(by_drill, drill, requirement) is False
            for drill, requirement in (("invalid-state-root", "state-validation"),
                                       ("upgrade-theft", "no-instant-upgrade"))
        )
        return cls(
            operator_can_steal=stolen,
            council_members=len(configuration.stage.security_council),
            council_threshold=configuration.stage.council_threshold,
            council_can_steal=_held(by_drill, "compromised-council",
                                    "council-on-bugs-only") is False,
            council_can_fix=bool(_metric(by_drill, "council-threshold", "acts_at_threshold")),
            operator_can_fix=_metric(by_drill, "invalid-state-root", "root_replaced") is True,
        )

    def probability(self, member_failure: float, proof_failure: float) -> float:
        """
        P(the rollup fails): the operator (one key) fails where it can steal;
        ``threshold`` of ``members`` council members fail together where the
        council can steal; the proof system fails (``proof_failure``) and no
        one who could fix it is able to (the council lacks a threshold of
        working members, the operator fails). Each member, and the operator,
        fails independently with ``member_failure``.
        """
        p = member_failure
        n, t = self.council_members, self.council_threshold
        operator = p if self.operator_can_steal else 0.0
        council = at_least(t, n, p) if self.council_can_steal and n else 0.0
        unfixed = 1.0
        if self.council_can_fix and n:
            unfixed *= at_least(n - t + 1, n, p)
        if self.operator_can_fix:
            unfixed *= p
        proofs = proof_failure * unfixed
        return 1 - (1 - operator) * (1 - council) * (1 - proofs)


def at_least(k: int, n: int, p: float) -> float:
    """P(at least ``k`` of ``n`` independent members fail), each with probability ``p``."""
    return sum(comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(max(k, 0), n + 1))
