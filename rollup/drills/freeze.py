"""
The freeze drill, for regulated L2s: who can stop a user's withdrawals (the
message passer's ``set_frozen``), and can a frozen user still force an exit?
An operator's freeze censors whoever it lists; a freeze only a Security
Council's threshold can make is what L2BEAT's Stage 1 allows.
"""

from typing import Optional

from eth_utils import to_checksum_address

from ..governance import Governance, demo_council_keys
from ..l1_contract import L1Contract
from ..l2 import L2_COUNCIL, L2_MESSAGE_PASSER
from .exits import EXIT_AMOUNT
from .scenario import ALICE, BOB, Check, Outcome, Scenario


def freeze(scenario: Scenario) -> Outcome:
    rollup, config = scenario.rollup, scenario.configuration.stage
    scenario.fund_users(ALICE, BOB)
    passer = L1Contract(rollup.l2_web3, "L2MessagePasser", to_checksum_address(L2_MESSAGE_PASSER))
    holder = passer.view("freezer")
    scenario.note(f"the L2 message passer's freezer is {holder}")
    operator = rollup.operator.checksum_address
    scenario.attempt("the operator freezes Bob's withdrawals on L2", lambda: passer.transact(
        "set_frozen", BOB.checksum_address, True, sender=operator))
    council = _council_freezer(scenario) if config.freezer == "council" else None
    if council is not None:
        members = demo_council_keys(config.security_council)
        _council_freezes(scenario, council, passer, members[:3 * len(members) // 4], BOB)
    scenario.sequencer.settle()  # the operator's sequencer settles whatever froze
    frozen = passer.view("frozen", BOB.checksum_address)
    exit_ = scenario.exit_through_forced_inclusion(BOB, EXIT_AMOUNT)
    out = exit_.arrived_at is not None
    power = _freeze_power(scenario, council, passer, holder) or "empty: no one can freeze"
    # A user kept in by censorship alone is the censorship drill's finding, not this one's.
    held = out or not frozen
    if frozen and not out:
        detail = f"Bob was frozen and could not get out; the censorable set is {power}"
    else:
        detail = (f"Bob was {'' if frozen else 'not '}frozen and "
                  f"{'got out' if out else 'could not force an exit'}; the censorable set is"
                  f" {power}")
    return Outcome(detail, [Check("no-operator-freeze", held, detail)], {
        "frozen_by_operator": frozen and council is None,
        "freeze_power": power,
        "funds_frozen_wei": exit_.frozen,
        "forced_withdrawal_latency_s": exit_.latency,
    })


def _council_freezer(scenario: Scenario) -> Governance:
    return Governance(L1Contract(scenario.rollup.l2_web3, "Governance",
                                 to_checksum_address(L2_COUNCIL)))


def _council_freezes(scenario, council: Governance, passer: L1Contract, signers, who) -> bool:
    data = passer.compiled.encode_call("set_frozen", who.checksum_address, True)
    signatures = council.council_signatures(passer.address, data, signers)
    return scenario.attempt(
        f"{len(signers)} council members freeze {who.checksum_address[:10]} on L2",
        lambda: council.council_execute(passer.address, data, signatures,
                                        ALICE.checksum_address),
    ) is not None


def _freeze_power(scenario: Scenario, council: Optional[Governance], passer: L1Contract,
                  holder: str) -> str:
    """Who can freeze whom, as the drill showed it (a council's threshold is tried on Alice)."""
    config = scenario.configuration.stage
    if council is not None:
        members = demo_council_keys(config.security_council)
        if _council_freezes(scenario, council, passer, members[:config.council_threshold], ALICE):
            return (f"any account {config.council_threshold} of {len(members)} council members"
                    " freeze")
        return ""
    if int(holder, 16) == 0:
        return ""
    return f"any account the freezer {holder} (the operator's key) lists"
