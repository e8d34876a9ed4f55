"""
The drills ``nr compare`` runs, in order, and running one: a fresh devnet per
drill (so each is an independent scenario), its wall time, and a drill that
could not run recorded as such (holding none of its requirements).
"""

import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

from l1.node import DevnetConfig

from . import attacks, based, council, exits, freeze, liveness, operator, proofs, workload
from .configuration import Configuration
from .scenario import Check, Outcome, Scenario, wall_clock


@dataclass(frozen=True)
class Drill:
    name: str
    title: str
    run: Callable[[Scenario], Outcome]
    # The requirements it checks (a drill that cannot run breaks them all).
    requirements: tuple
    # The L1 it runs on (default: re-execution).
    l1: Optional[Callable[[Configuration], DevnetConfig]] = None


DRILLS = (
    Drill("workload", "deposits, transfers, a withdrawal claimed", workload.workload,
          ("state-roots-on-l1",)),
    Drill("data-on-l1", "a fresh node rebuilds the L2 from L1 calldata", workload.data_on_l1,
          ("data-on-l1",)),
    Drill("invalid-state-root", "the operator posts an invalid state root",
          operator.invalid_state_root, ("state-validation",)),
    Drill("upgrade-theft", "the operator upgrades to code that takes the escrow",
          operator.upgrade_theft, ("no-instant-upgrade",)),
    Drill("upgrade-race", "a censored user forces a withdrawal out before a malicious upgrade",
          exits.upgrade_race, ("exit-window-7d", "exit-window-30d")),
    Drill("censorship", "the sequencer censors a user: time to forced inclusion",
          liveness.censorship, ("forced-inclusion",)),
    Drill("sequencer-offline", "the sequencer goes silent: who can advance, after how long",
          liveness.sequencer_offline, ("permissionless-proposing",)),
    Drill("council-threshold", "the Security Council one below and at its threshold",
          council.council_threshold, ("council-threshold",)),
    Drill("council-minority", "75% of the Security Council compromised",
          council.council_minority, ("council-75",)),
    Drill("compromised-council", "a compromised Security Council at its threshold",
          council.compromised_council, ("council-on-bugs-only",)),
    Drill("walkaway", "every council key gone, a malicious operator: can users exit?",
          exits.walkaway, ("walkaway",)),
    Drill("pause-then-forced", "the operator pauses, then a forced withdrawal",
          exits.pause_then_forced, ("pause-bounded",)),
    Drill("freeze", "the operator (and a council minority) freeze a user, who forces an exit",
          freeze.freeze, ("no-operator-freeze",)),
    Drill("proofs", "proofs mode: k - 1 proofs, k proofs, forged proofs",
          proofs.proofs_mode, ("proof-soundness",), proofs.proofs_l1),
    Drill("based-proof-missing", "proofs mode: a based block whose proofs are missing",
          based.based_proof_missing, ("proof-soundness",), proofs.proofs_l1),
    Drill("griefing-deposits", "deposits to recipients that burn their gas",
          attacks.griefing_deposits, ("no-third-party-freeze",)),
    Drill("contract-wallet-withdrawal", "a withdrawal to a wallet that writes storage when paid",
          attacks.contract_wallet_withdrawal, ("no-third-party-freeze",)),
    Drill("forced-stall-7702", "forced transactions of EIP-7702 senders invalidating each other",
          attacks.forced_stall_7702, ("no-third-party-freeze",)),
    Drill("forcing-amplification", "forcing transactions that can never run",
          attacks.forcing_amplification, ("forcing-economics",)),
)
BY_NAME = {drill.name: drill for drill in DRILLS}


@dataclass
class DrillResult:
    drill: str
    title: str
    summary: str
    checks: List[Check]
    metrics: Dict[str, Any] = field(default_factory=dict)
    evidence: List[Dict[str, Any]] = field(default_factory=list)
    wall_seconds: float = 0.0
    # Why the drill could not run to its end (then every requirement it checks is broken).
    error: Optional[str] = None

    @property
    def passed(self) -> Optional[bool]:
        """All its checks held (None: none applied to this configuration)."""
        verdicts = [check.passed for check in self.checks if check.passed is not None]
        return all(verdicts) if verdicts else None


def run_drill(drill: Drill, configuration: Configuration) -> DrillResult:
    """``drill`` on a fresh devnet with ``configuration``'s rollup."""
    started = wall_clock()
    scenario = None
    try:
        scenario = Scenario.start(configuration, drill.l1(configuration) if drill.l1 else None)
        outcome = drill.run(scenario)
    except Exception as error:  # a drill that cannot finish holds nothing it checks
        where = traceback.extract_tb(error.__traceback__)[-1]
        reason = f"{error} (at {where.filename.rsplit('/', 1)[-1]}:{where.lineno})"
        outcome = Outcome(
            f"could not run: {reason}",
            [Check(requirement, False, f"the drill could not run: {reason}")
             for requirement in drill.requirements],
        )
        error_text = reason
    else:
        error_text = None
    return DrillResult(
        drill.name, drill.title, outcome.summary, outcome.checks, outcome.metrics,
        scenario.evidence if scenario else [], round(wall_clock() - started, 2), error_text,
    )
