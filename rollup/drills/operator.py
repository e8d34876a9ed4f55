"""
Drills where the operator itself is the attacker: it posts an invalid state
root (and claims the escrow against it), or upgrades the rollup to code of
its own that takes the escrow.
"""

from ..adversaries import forged_withdrawal_state, with_state_root
from ..rollup import Withdrawal
from .scenario import ALICE, ATTACKER, BOB, CLAIM_GAS, ETHER, Check, Outcome, Scenario


def invalid_state_root(scenario: Scenario) -> Outcome:
    """
    The operator settles a block whose state root holds a withdrawal of the
    whole escrow to the attacker, through EXECUTE and, where refused, by
    replacing the root outright; then claims against it.
    """
    rollup, l1 = scenario.rollup, scenario.l1
    scenario.fund_users(ALICE, BOB)
    escrow = scenario.escrow()
    theft = Withdrawal(rollup.config.l2_chain_id, 10**9, ATTACKER.checksum_address,
                       ATTACKER.checksum_address, escrow, 0)
    forged_root, account_proof, storage_proof = forged_withdrawal_state(theft)
    rollup.l2_web3.eth.send_transaction(
        {"from": ALICE.checksum_address, "to": BOB.checksum_address, "value": ETHER}
    )
    number = rollup.settled_head() + 1
    forged_input = with_state_root(scenario.sequencer.stateless_input(number), forged_root)
    operator = rollup.operator.checksum_address
    through_execute = scenario.attempt(
        "the operator's sequencer submits its next block with a forged state root to advance",
        lambda: scenario.sequencer.submit(number, forged_input),
    )
    replaced = None
    if through_execute is None:
        replaced = scenario.attempt(
            "the operator sets the forged state root with replace_state",
            lambda: rollup.contract.transact(
                "replace_state", number, b"\x01" * 32, forged_root, sender=operator
            ),
        )
    settled = rollup.contract.view("state_root_at", number) == forged_root
    lost = 0
    if settled:
        scenario.wait(rollup.config.finality_delay)
        before = scenario.escrow()
        scenario.attempt(
            "the attacker claims the whole escrow against the forged root",
            lambda: rollup.contract.transact(
                "claim_withdrawal", *theft.claim_arguments(), number, account_proof,
                storage_proof, sender=ATTACKER.checksum_address, gas=CLAIM_GAS,
            ),
        )
        lost = before - scenario.escrow()
    l1.mine()
    detail = (
        f"the forged root settled and {lost / ETHER:g} of {escrow / ETHER:g} ether left the"
        " escrow" if settled else "EXECUTE refused the forged root and replace_state is off"
    )
    return Outcome(
        ("invalid root settled: " if settled else "invalid root refused: ") + detail,
        [Check("state-validation", not settled, detail)],
        {"funds_lost_wei": lost, "root_replaced": replaced is not None},
    )


def upgrade_theft(scenario: Scenario) -> Outcome:
    """The operator upgrades the rollup to the attacker's address, which takes the escrow."""
    rollup = scenario.rollup
    scenario.fund_users(ALICE, BOB)
    escrow = scenario.escrow()
    action = rollup.propose_upgrade(ATTACKER.checksum_address)
    delay = max(0, action.ready_at - scenario.l1.head().timestamp)
    scenario.note(f"the operator scheduled an upgrade to the attacker, runnable in {delay} s",
                  action=action.id)
    if scenario.escrow() == escrow:
        scenario.attempt("the attacker runs the upgrade at once",
                         lambda: rollup.governance.execute(action.id, ATTACKER.checksum_address))
    lost = escrow - scenario.escrow()
    detail = (f"the upgrade ran at once and took {lost / ETHER:g} ether" if lost
              else f"the upgrade waits {delay / 86400:.1f} d in the timelock")
    return Outcome(detail, [Check("no-instant-upgrade", lost == 0, detail)],
                   {"funds_lost_wei": lost, "upgrade_delay_s": delay})
