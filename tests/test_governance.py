"""
Upgrades and the Security Council per stage: the operator upgrades at once
(Stage 0) or only after the exit window, in which a censored user still gets
their funds out (Stage 1, 2); the council acts at once with enough member
signatures (Stage 1) or only on an on-chain proven bug (Stage 2).
"""

import json

import pytest
from eth_hash.auto import keccak

from l1.node import Devnet
from precompile.ssz import StatelessValidationResult
from rollup.governance import demo_council_keys
from rollup.l1_contract import RollupError
from rollup.stages import InvalidPreset, load_preset

from rollups import ACCOUNTS, ALICE, BOB, DAY, ETHER, deploy, wait, with_payload_fields

ATTACKER = ACCOUNTS[7].checksum_address
# prove_bug runs EXECUTE twice, each charging the L2 gas limit (10M).
GAS = 25_000_000


@pytest.fixture
def l1():
    with Devnet() as node:
        yield node


def escrow(l1, rollup) -> int:
    return l1.web3().eth.get_balance(rollup.address)


def test_stage0_operator_upgrades_at_once(l1):
    rollup = deploy(l1, 0)
    rollup.deposit(ALICE, 5 * ETHER)
    rollup.sequencer.step()
    withdrawal = rollup.withdraw(ALICE, 2 * ETHER)
    rollup.sequencer.settle()
    attacker_before = l1.web3().eth.get_balance(ATTACKER)

    rollup.propose_upgrade(ATTACKER)

    assert rollup.contract.view("successor") == ATTACKER
    assert escrow(l1, rollup) == 0
    assert l1.web3().eth.get_balance(ATTACKER) == attacker_before + 5 * ETHER
    wait(l1, rollup.config.finality_delay)
    with pytest.raises(RollupError, match="upgraded; the successor holds the escrow"):
        rollup.claim(withdrawal)
    with pytest.raises(RollupError, match="upgraded"):
        rollup.deposit(ALICE, ETHER)


@pytest.mark.parametrize("stage", [1, 2])
def test_malicious_upgrade_waits_until_users_could_exit(l1, stage):
    rollup = deploy(l1, stage)
    config, w3 = rollup.config, l1.web3()
    bob = ACCOUNTS[1]
    rollup.deposit(BOB, 5 * ETHER)
    rollup.deposit(ALICE, 3 * ETHER)
    rollup.sequencer.step()

    action = rollup.propose_upgrade(ATTACKER)
    assert action.ready_at - l1.head().timestamp >= config.exit_window
    with pytest.raises(RollupError, match="the exit window has not passed"):
        rollup.governance.execute(action.id, sender=ATTACKER)

    # The sequencer sides with the attacker and ignores Bob; he forces his exit through L1.
    rollup.sequencer.ignores_forced = True
    forced = rollup.sign_withdrawal(bob, 4 * ETHER)
    rollup.force_include(BOB, forced)
    wait(l1, config.inclusion_delay + 1)
    rollup.sequencer.ignores_forced = False
    rollup.sequencer.step()
    withdrawal = rollup.withdrawal_in(keccak(forced))
    wait(l1, config.finality_delay)
    bob_before = w3.eth.get_balance(BOB)
    rollup.claim(withdrawal, sender=ALICE)
    assert w3.eth.get_balance(BOB) == bob_before + 4 * ETHER
    assert l1.head().timestamp < action.ready_at
    with pytest.raises(RollupError, match="the exit window has not passed"):
        rollup.governance.execute(action.id, sender=ATTACKER)

    # Those who stayed are exposed once the window is over.
    wait(l1, action.ready_at - l1.head().timestamp)
    attacker_before = w3.eth.get_balance(ATTACKER)
    rollup.governance.execute(action.id, sender=BOB)
    assert escrow(l1, rollup) == 0
    assert w3.eth.get_balance(ATTACKER) > attacker_before + 3 * ETHER


def test_timelock_rules(l1):
    rollup = deploy(l1, 1)
    governance, operator = rollup.governance, rollup.operator.checksum_address
    data = rollup.contract.compiled.encode_call("set_sequencer", ALICE)
    with pytest.raises(RollupError, match="schedule: only the owner"):
        governance.schedule(rollup.address, data, sender=ALICE)
    with pytest.raises(RollupError, match="set_sequencer: only the admin"):
        rollup.contract.transact("set_sequencer", ALICE, sender=operator)
    with pytest.raises(RollupError, match="no such action"):
        governance.execute(7, sender=ALICE)

    cancelled = governance.schedule(rollup.address, data, sender=operator)
    kept = governance.schedule(rollup.address, data, sender=operator)
    with pytest.raises(RollupError, match="cancel: only the owner or the council"):
        governance.cancel(cancelled.id, sender=ALICE)
    governance.cancel(cancelled.id, sender=operator)
    wait(l1, rollup.config.upgrade_delay)
    with pytest.raises(RollupError, match="execute: cancelled"):
        governance.execute(cancelled.id, sender=ALICE)
    governance.execute(kept.id, sender=ALICE)
    assert rollup.contract.view("sequencer") == ALICE
    with pytest.raises(RollupError, match="already executed"):
        governance.execute(kept.id, sender=ALICE)


def council_call(rollup, signers, data=None, nonce=None):
    data = data or rollup.contract.compiled.encode_call("set_sequencer", ALICE)
    signatures = rollup.governance.council_signatures(rollup.address, data, signers, nonce)
    return data, signatures


def test_council_signs_the_standard_eip191_digest(l1):
    rollup = deploy(l1, 1)
    data = b"\x01\x02"
    ours = rollup.governance.council_digest(rollup.address, data, 5)
    assert ours == rollup.governance.contract.view("council_digest", rollup.address, data, 5)


def test_stage1_council_acts_at_once_with_enough_members(l1):
    rollup = deploy(l1, 1)
    governance = rollup.governance
    members = demo_council_keys(rollup.config.security_council)
    assert len(members) == 8 and rollup.config.council_threshold == 7

    def refused(data, signatures, reason):
        with pytest.raises(RollupError, match=reason):
            governance.council_execute(rollup.address, data, signatures, sender=BOB)
        assert rollup.contract.view("sequencer") != ALICE

    refused(*council_call(rollup, members[:6]), "not enough member signatures")
    refused(*council_call(rollup, members[:6] + ACCOUNTS[3:4]), "not a member's")
    data, signatures = council_call(rollup, members[:7])
    refused(data, signatures[:6] + signatures[5:6], "not in ascending order")
    refused(data, list(reversed(signatures)), "not in ascending order")
    refused(data, signatures[:6] + [signatures[6][:64]], "not 65 bytes")
    other = rollup.contract.compiled.encode_call("set_sequencer", BOB)
    refused(other, signatures, "not a member's")
    refused(*council_call(rollup, members[:7], nonce=1), "not a member's")

    governance.council_execute(rollup.address, data, signatures, sender=BOB)
    assert rollup.contract.view("sequencer") == ALICE
    # Each set of signatures acts once.
    with pytest.raises(RollupError, match="not a member's"):
        governance.council_execute(rollup.address, data, signatures, sender=BOB)


def test_stage1_council_cancels_a_scheduled_upgrade(l1):
    rollup = deploy(l1, 1)
    governance = rollup.governance
    action = rollup.propose_upgrade(ATTACKER)
    cancel = governance.contract.compiled.encode_call("cancel", action.id)
    members = demo_council_keys(rollup.config.security_council)
    signatures = governance.council_signatures(governance.address, cancel, members[1:])
    governance.council_execute(governance.address, cancel, signatures, sender=BOB)
    wait(l1, rollup.config.upgrade_delay)
    with pytest.raises(RollupError, match="execute: cancelled"):
        governance.execute(action.id, sender=ATTACKER)


def test_stage0_has_no_council(l1):
    rollup = deploy(l1, 0)
    data, _ = council_call(rollup, [])
    with pytest.raises(RollupError, match="no Security Council"):
        rollup.governance.council_execute(rollup.address, data, [], sender=BOB)


def accepts_everything(stateless_input, engine, rules):
    """An EXECUTE with a soundness bug: it never checks the block."""
    return StatelessValidationResult(
        new_payload_request_root=stateless_input.new_payload_request.hash_tree_root(),
        successful_validation=True,
        chain_config=stateless_input.chain_config,
    ).encode_bytes()


def test_stage2_council_acts_only_on_a_proven_bug(l1, monkeypatch):
    rollup = deploy(l1, 2)
    members = demo_council_keys(rollup.config.security_council)
    data, signatures = council_call(rollup, members)
    with pytest.raises(RollupError, match="acts only on a proven bug"):
        rollup.governance.council_execute(rollup.address, data, signatures, sender=BOB)

    rollup.l2_web3.eth.send_transaction({"from": ALICE, "to": BOB, "value": ETHER})
    honest = rollup.sequencer.stateless_input(1)
    conflicting = with_payload_fields(honest, state_root=b"\x66" * 32, block_hash=b"\x77" * 32)
    later = with_payload_fields(conflicting, timestamp=rollup.l2.head().timestamp + 1)

    def prove(first, second, reason=None):
        if reason is None:
            return rollup.bug_record.transact("prove_bug", first, second, sender=BOB, gas=GAS)
        with pytest.raises(RollupError, match=reason):
            rollup.bug_record.transact("prove_bug", first, second, sender=BOB, gas=GAS)
        assert not rollup.bug_record.view("bug_proven")

    # While EXECUTE is sound, no pair of inputs proves a bug.
    prove(honest, conflicting, "EXECUTE refuses the second input")
    prove(conflicting, honest, "EXECUTE refuses the first input")
    prove(honest, honest, "both inputs claim the same post-state")
    prove(honest, later, "not the same L2 block")

    monkeypatch.setattr("precompile.execute.verify_l2_block", accepts_everything)
    prove(honest, later, "not the same L2 block")
    prove(honest, conflicting)
    assert rollup.bug_record.view("bug_proven")
    rollup.governance.council_execute(rollup.address, data, signatures, sender=BOB)
    assert rollup.contract.view("sequencer") == ALICE


def test_presets_carry_governance_checked_against_their_stage(tmp_path):
    stage1 = json.loads(load_preset(1).to_json())
    stage2 = json.loads(load_preset(2).to_json())
    council = stage1["security_council"]
    short = 6 * DAY
    cases = {
        "window1": ({**stage1, "upgrade_delay": stage1["upgrade_delay"] - DAY}, "at least 7 days"),
        "window2": ({**stage2, "upgrade_delay": stage2["upgrade_delay"] - short}, "30 days"),
        "members": ({**stage1, "security_council": council[:7], "council_threshold": 6},
                    "at least 8 members"),
        "threshold": ({**stage1, "council_threshold": 6}, "above 75%"),
        "above": ({**stage1, "council_threshold": 9}, "council_threshold must be 1..8"),
        "twice": ({**stage1, "security_council": council[:7] + council[:1]}, "listed twice"),
        "checksum": ({**stage1, "security_council": [m.lower() for m in council]},
                     "checksummed"),
        "bug": ({**stage2, "council_needs_bug_proof": False}, "acts only on a proven bug"),
        "list": ({**stage1, "security_council": council[0]}, "security_council must be list"),
    }
    for name, (document, message) in cases.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(document))
        with pytest.raises(InvalidPreset, match=message):
            load_preset(path)
    # Stage 0 keeps its operator powers: no council, no delay.
    stage0 = load_preset(0)
    assert stage0.upgrade_delay == 0 and stage0.exit_window == 0
