"""
Drills of a censored user's way out: the upgrade race (a malicious upgrade
queued while the user forces a withdrawal through L1), the walkaway test
(every council key gone, the operator censoring, pausing and upgrading), and
a pause followed by a forced withdrawal.
"""

from typing import Optional

from ..governance import ScheduledAction
from .scenario import ALICE, ATTACKER, BOB, DAY, ETHER, Check, Outcome, Scenario
from .verdict import MARGIN_TOLERANCE

# What the censored user (Bob) takes out of the 5 ether he holds on L2.
EXIT_AMOUNT = 4 * ETHER


def _malicious_upgrade(scenario: Scenario) -> Optional[ScheduledAction]:
    """
    The operator schedules an upgrade handing the escrow to the attacker;
    the action, or None where it ran at once.
    """
    action = scenario.rollup.propose_upgrade(ATTACKER.checksum_address)
    if scenario.rollup.contract.view("successor") == ATTACKER.checksum_address:
        scenario.note("the operator's upgrade to the attacker ran at once: the escrow is gone")
        return None
    scenario.note(f"the operator scheduled an upgrade to the attacker, runnable at"
                  f" {_ready(scenario, action) / DAY:.2f} d", action=action.id)
    return action


def _ready(scenario: Scenario, action: ScheduledAction) -> int:
    """The drill second ``action`` may run."""
    return action.ready_at - scenario.started_at


def _run_upgrade(scenario: Scenario, action: ScheduledAction) -> int:
    """Once it may, the attacker runs the upgrade; what it took from the escrow."""
    escrow = scenario.escrow()
    scenario.wait(action.ready_at - scenario.l1.head().timestamp)
    scenario.attempt("the attacker runs the upgrade",
                     lambda: scenario.rollup.governance.execute(
                         action.id, ATTACKER.checksum_address))
    return escrow - scenario.escrow()


def upgrade_race(scenario: Scenario) -> Outcome:
    """
    A malicious upgrade is queued; the sequencer censors Bob, who forces his
    withdrawal through L1 and claims it. Does he get out, with what margin?
    """
    scenario.fund_users(ALICE, BOB)
    action = _malicious_upgrade(scenario)
    if action is None:
        detail = "the upgrade ran before any exit could start"
        return Outcome(detail, [Check("exit-window-7d", False, detail),
                                Check("exit-window-30d", False, detail)],
                       {"funds_lost_wei": EXIT_AMOUNT, "exit_margin_s": None})
    announced, ready = scenario.now(), _ready(scenario, action)
    exit_ = scenario.exit_through_forced_inclusion(BOB, EXIT_AMOUNT, deadline=ready)
    taken = _run_upgrade(scenario, action)
    margin = None if exit_.arrived_at is None else ready - exit_.arrived_at
    if margin is None:
        detail = "the censored user was still inside when the upgrade ran"
    else:
        detail = (f"out {margin / DAY:.2f} d before the upgrade could run"
                  f" (exit took {(exit_.arrived_at - announced) / DAY:.2f} d)")
    checks = [
        Check(f"exit-window-{days}d",
              margin is not None and margin + MARGIN_TOLERANCE >= days * DAY, detail)
        for days in (7, 30)
    ]
    return Outcome(detail, checks, {
        "exit_margin_s": margin,
        "forced_withdrawal_latency_s": exit_.latency,
        "funds_lost_wei": exit_.frozen,
        "taken_from_those_who_stayed_wei": taken,
    })


def walkaway(scenario: Scenario) -> Outcome:
    """
    Every council key is gone (no one signs anything); the operator pauses
    the rollup, queues an upgrade to the attacker and its sequencer censors
    Bob. Can he still get his funds out?
    """
    scenario.fund_users(ALICE, BOB)
    scenario.note("every Security Council key is gone: no council action is possible")
    operator = scenario.rollup.operator.checksum_address
    scenario.attempt("the operator pauses the rollup",
                     lambda: scenario.rollup.contract.transact("set_paused", True, sender=operator))
    action = _malicious_upgrade(scenario)
    if action is None:
        detail = "the operator's upgrade took the escrow before any exit could start"
        return Outcome(detail, [Check("walkaway", False, detail)],
                       {"funds_lost_wei": EXIT_AMOUNT, "forced_withdrawal_latency_s": None})
    exit_ = scenario.exit_through_forced_inclusion(BOB, EXIT_AMOUNT, _ready(scenario, action))
    _run_upgrade(scenario, action)
    out = exit_.arrived_at is not None
    detail = (f"the user got out after {exit_.latency / DAY:.2f} d" if out
              else "the user could not get out")
    return Outcome(detail, [Check("walkaway", out, detail)],
                   {"funds_lost_wei": exit_.frozen, "forced_withdrawal_latency_s": exit_.latency})


def pause_then_forced(scenario: Scenario) -> Outcome:
    """The operator pauses; does the forced path still work, and does the pause expire?"""
    rollup = scenario.rollup
    scenario.fund_users(ALICE, BOB)
    operator = rollup.operator.checksum_address
    scenario.attempt("the operator pauses the rollup",
                     lambda: rollup.contract.transact("set_paused", True, sender=operator))
    scenario.attempt("a user deposits while paused",
                     lambda: rollup.contract.transact("deposit", ALICE.checksum_address,
                                                      sender=ALICE.checksum_address, value=ETHER))
    exit_ = scenario.exit_through_forced_inclusion(BOB, EXIT_AMOUNT)
    still_paused = rollup.contract.view("paused")
    scenario.note(f"after {scenario.now() / DAY:.1f} d the pause "
                  + ("still holds (deposits refused)" if still_paused else "has expired"))
    out = exit_.arrived_at is not None
    detail = ("the forced withdrawal went through the pause" if out
              else "the forced withdrawal did not get through")
    detail += "; the pause never expires by itself" if still_paused else "; the pause expired"
    return Outcome(detail, [Check("pause-bounded", out, detail)], {
        "funds_lost_wei": exit_.frozen,
        "pause_expires": not still_paused,
        "forced_withdrawal_latency_s": exit_.latency,
    })
