"""
Drills of the sequencer failing users: it censors one user (how long until
the forced transaction is in), or it goes silent (who can settle the next
block, after how long).
"""

from ..governance import demo_council_keys
from .exits import EXIT_AMOUNT
from .scenario import ALICE, BOB, CAROL, DAY, ETHER, PATIENCE, Check, Outcome, Scenario


def censorship(scenario: Scenario) -> Outcome:
    """The sequencer ignores Bob, who forces a withdrawal through L1: when is it included?"""
    scenario.fund_users(ALICE, BOB)
    exit_ = scenario.exit_through_forced_inclusion(BOB, EXIT_AMOUNT)
    included = exit_.included_at is not None
    detail = (f"included after {exit_.time_to_inclusion / DAY:.2f} d" if included
              else f"still out after {PATIENCE // DAY} d: L1 settled the censoring blocks")
    return Outcome(detail, [Check("forced-inclusion", included, detail)], {
        "time_to_forced_inclusion_s": exit_.time_to_inclusion,
        "forced_withdrawal_latency_s": exit_.latency,
        "funds_frozen_wei": exit_.frozen,
    })


def sequencer_offline(scenario: Scenario) -> Outcome:
    """
    The sequencer goes silent with an L2 block unsettled. A user tries to
    propose it at once and after the proposer timeout (or PATIENCE); where
    none could, the Security Council (at its threshold) names a new sequencer.
    """
    rollup, config = scenario.rollup, scenario.configuration.stage
    scenario.fund_users(ALICE, BOB)
    rollup.l2_web3.eth.send_transaction(
        {"from": BOB.checksum_address, "to": ALICE.checksum_address, "value": ETHER}
    )
    number = rollup.settled_head() + 1
    block_input = scenario.sequencer.stateless_input(number)
    stopped = scenario.now()
    scenario.note("the sequencer went silent with L2 block %d unsettled" % number)

    def propose(who: str) -> bool:
        return scenario.attempt(
            f"{who} proposes the waiting block",
            lambda: scenario.sequencer.submit(number, block_input, CAROL.checksum_address),
        ) is not None

    recovered_by = None
    if propose("a user, at once"):
        recovered_by = "anyone"
    else:
        silence = config.proposer_timeout if config.proposer_timeout > 0 else PATIENCE
        scenario.wait(silence)
        if propose(f"a user, after {silence / DAY:.1f} d of silence"):
            recovered_by = "anyone"
        elif config.security_council and _council_names_sequencer(scenario):
            recovered_by = "council" if propose("the sequencer the council named") else None
    recovery = None if recovered_by is None else scenario.now() - stopped
    if recovered_by == "council":
        recovery = 0  # the council acts at once; the drill first waited out the user's probe
    detail = {
        "anyone": f"a user proposed after {(recovery or 0) / DAY:.1f} d of silence",
        "council": "no user could propose; the Security Council named a new sequencer at once",
        None: "no user and no council could settle a block",
    }[recovered_by]
    return Outcome(detail, [Check("permissionless-proposing", recovered_by == "anyone", detail)],
                   {"recovered_by": recovered_by, "proposer_failure_recovery_s": recovery})


def _council_names_sequencer(scenario: Scenario) -> bool:
    """The council's threshold of members make Carol the sequencer; whether L1 took it."""
    rollup, config = scenario.rollup, scenario.configuration.stage
    signers = demo_council_keys(config.security_council)[:config.council_threshold]
    data = rollup.contract.compiled.encode_call("set_sequencer", CAROL.checksum_address)
    signatures = rollup.governance.council_signatures(rollup.address, data, signers)
    return scenario.attempt(
        f"{len(signers)} council members name a new sequencer",
        lambda: rollup.governance.council_execute(
            rollup.address, data, signatures, CAROL.checksum_address),
    ) is not None
