"""
Security Council drills: members below and at the threshold, a compromised
75% of the council, and a compromised council at its threshold, each trying
to act on the rollup at once.
"""

from typing import List

from l1.accounts import DevAccount

from ..governance import demo_council_keys
from ..stages import MIN_COUNCIL_MEMBERS
from .scenario import ALICE, ATTACKER, BOB, ETHER, Check, Outcome, Scenario


def _members(scenario: Scenario) -> List[DevAccount]:
    """The council's keys, in the order the governance contract lists its members."""
    governance = scenario.rollup.governance.contract
    on_chain = []
    for index in range(len(scenario.configuration.stage.security_council)):
        on_chain.append(governance.view("council", index))
    return demo_council_keys(on_chain)


def _acts(scenario: Scenario, signers: List[DevAccount], target: str, data: bytes,
          what: str) -> bool:
    governance = scenario.rollup.governance
    signatures = governance.council_signatures(target, data, signers)
    return scenario.attempt(
        f"{len(signers)} council members sign and send: {what}",
        lambda: governance.council_execute(target, data, signatures, BOB.checksum_address),
    ) is not None


def _no_council(requirement: str) -> Outcome:
    detail = "no Security Council: nothing to drill"
    return Outcome(detail, [Check(requirement, None, detail)], {"acts_at_threshold": False})


def council_threshold(scenario: Scenario) -> Outcome:
    """
    The operator schedules a sequencer change to the attacker; the council
    tries to cancel it with one signature short of its threshold, then at it.
    """
    rollup = scenario.rollup
    members = _members(scenario)
    if not members:
        return _no_council("council-threshold")
    threshold = rollup.governance.contract.view("council_threshold")
    data = rollup.contract.compiled.encode_call("set_sequencer", ATTACKER.checksum_address)
    action = rollup.governance.schedule(rollup.address, data, rollup.operator.checksum_address)
    scenario.note("the operator scheduled making the attacker the sequencer", action=action.id)
    cancel = rollup.governance.contract.compiled.encode_call("cancel", action.id)
    target = rollup.governance.address
    below = _acts(scenario, members[:threshold - 1], target, cancel, "cancel it")
    at = not below and _acts(scenario, members[:threshold], target, cancel, "cancel it")
    detail = (f"{threshold - 1} of {len(members)} acted below the threshold" if below else
              f"{threshold - 1} of {len(members)} were refused; {threshold} "
              + ("acted at once" if at else "were refused too"))
    return Outcome(detail, [Check("council-threshold", not below, detail)],
                   {"acts_at_threshold": at, "council_members": len(members),
                    "council_threshold": threshold})


def _steal(scenario: Scenario, signers: List[DevAccount]) -> int:
    """``signers`` upgrade the rollup to the attacker at once; the ether that left the escrow."""
    rollup = scenario.rollup
    escrow = scenario.escrow()
    data = rollup.contract.compiled.encode_call("upgrade_to", ATTACKER.checksum_address)
    _acts(scenario, signers, rollup.address, data, "upgrade the rollup to the attacker")
    return escrow - scenario.escrow()


def council_minority(scenario: Scenario) -> Outcome:
    """75% of the council (rounded down) is compromised and tries to take the escrow."""
    members = _members(scenario)
    if not members:
        return _no_council("council-75")
    scenario.fund_users(ALICE, BOB)
    compromised = 3 * len(members) // 4
    lost = _steal(scenario, members[:compromised])
    large = len(members) >= MIN_COUNCIL_MEMBERS
    detail = (f"{compromised} of {len(members)} members "
              + (f"took {lost / ETHER:g} ether" if lost else "could not act"))
    if not large:
        detail += f"; fewer than {MIN_COUNCIL_MEMBERS} members"
    return Outcome(detail, [Check("council-75", not lost and large, detail)],
                   {"funds_lost_wei": lost})


def compromised_council(scenario: Scenario) -> Outcome:
    """A compromised council at its full threshold tries to take the escrow at once."""
    members = _members(scenario)
    if not members:
        return _no_council("council-on-bugs-only")
    scenario.fund_users(ALICE, BOB)
    threshold = scenario.rollup.governance.contract.view("council_threshold")
    lost = _steal(scenario, members[:threshold])
    detail = (f"{threshold} of {len(members)} members took {lost / ETHER:g} ether at once"
              if lost else f"{threshold} of {len(members)} members were refused (no proven bug)")
    return Outcome(detail, [Check("council-on-bugs-only", not lost, detail)],
                   {"funds_lost_wei": lost})
