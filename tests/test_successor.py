"""
A rollup retired by an upgrade to its wind-down successor: everything the
rollup owed is paid once across both contracts. A withdrawal claimed from the
rollup before the upgrade cannot be claimed again from the successor; bonds
the rollup owed (frozen before: the escrow left, the rollup could not pay)
and messages the L2 never took in go back to whoever is owed them.
"""

from dataclasses import replace

import pytest
from eth_account import Account

from l1.node import Devnet
from rollup.l1_contract import RollupError
from rollup.successor import WindDown

from rollups import ACCOUNTS, ALICE, BOB, CAROL, ETHER, deploy, wait

FORCER = ACCOUNTS[6]


@pytest.fixture(scope="module")
def retired():
    """
    A Stage 0 rollup with a withdrawal claimed, one unclaimed, a forced
    transaction and a deposit queued but never taken in, then upgraded to
    its wind-down successor.
    """
    with Devnet() as l1:
        rollup = deploy(l1, 0)
        rollup.deposit(ALICE, 5 * ETHER)
        rollup.sequencer.step()
        claimed = rollup.withdraw(ALICE, 1 * ETHER)
        unclaimed = rollup.withdraw(ALICE, 2 * ETHER, BOB)
        rollup.sequencer.settle()
        wait(l1, rollup.config.finality_delay)
        rollup.claim(claimed)
        forced = bytes(Account.from_key(FORCER.private_key).sign_transaction({
            "type": 2, "chainId": rollup.config.l2_chain_id, "nonce": 0, "to": ALICE,
            "value": 1, "gas": 21_000, "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 0,
        }).raw_transaction)
        rollup.force_include(FORCER.checksum_address, forced)
        rollup.deposit(CAROL, 3 * ETHER)
        successor = WindDown.deploy(rollup, rollup.operator.checksum_address)
        with pytest.raises(RollupError, match="not been upgraded to this contract"):
            successor.claim(unclaimed)
        rollup.propose_upgrade(successor.address)
        yield l1, rollup, successor, claimed, unclaimed


@pytest.fixture
def wound_down(retired):
    l1 = retired[0]
    snapshot = l1.snapshot()
    yield retired
    l1.revert(snapshot)


def balance(l1, address) -> int:
    return l1.web3().eth.get_balance(address)


def paid_to(l1, address, receipt, before) -> int:
    """What ``address`` received in ``receipt``'s transaction, net of the fee if it sent it."""
    fee = receipt["gasUsed"] * receipt["effectiveGasPrice"] if receipt["from"] == address else 0
    return balance(l1, address) - before + fee


def test_a_withdrawal_claimed_from_the_rollup_cannot_be_claimed_again(wound_down):
    l1, rollup, successor, claimed, _ = wound_down
    assert rollup.contract.view("claimed", claimed.message_hash)
    with pytest.raises(RollupError, match="already claimed from the rollup"):
        successor.claim(claimed)


def test_an_unclaimed_withdrawal_is_paid_once_by_the_successor(wound_down):
    l1, rollup, successor, _, unclaimed = wound_down
    with pytest.raises(RollupError, match="upgraded; the successor holds the escrow"):
        rollup.claim(unclaimed)
    forged = replace(unclaimed, amount=unclaimed.amount + 1)
    with pytest.raises(RollupError, match="proof: the key is absent"):
        successor.claim(forged, sender=ALICE)
    before = balance(l1, BOB)
    receipt = successor.claim(unclaimed, sender=ALICE)
    assert paid_to(l1, BOB, receipt, before) == 2 * ETHER
    with pytest.raises(RollupError, match="withdrawal: already claimed"):
        successor.claim(unclaimed, sender=ALICE)


def test_bonds_the_rollup_owed_are_paid_once_by_the_successor(wound_down):
    l1, rollup, successor, _, _ = wound_down
    forcer = FORCER.checksum_address
    owed = rollup.contract.view("bonds_owed", forcer)
    assert owed > 0  # force_include sends twice the bond; the margin is owed back at once
    with pytest.raises(RollupError, match="upgraded"):
        rollup.contract.transact("withdraw_bonds", sender=forcer)
    before = balance(l1, forcer)
    assert paid_to(l1, forcer, successor.withdraw_bonds(forcer), before) == owed
    with pytest.raises(RollupError, match="nothing owed"):
        successor.withdraw_bonds(forcer)


def test_messages_the_l2_never_took_in_go_back_to_their_senders(wound_down):
    l1, rollup, successor, _, _ = wound_down
    forced_index, deposit_index = successor.unanchored_messages()
    with pytest.raises(RollupError, match="the L2 took that message in"):
        successor.refund(1)  # Alice's deposit, credited on L2
    message = rollup.contract.events("MessageQueued")[deposit_index - 1].args
    with pytest.raises(RollupError, match="not the message queued at that index"):
        successor.contract.transact(
            "refund_message", deposit_index, message.kind, message.sender, message.recipient,
            message.amount * 2, bytes(message.data_hash), sender=CAROL,
        )
    before = balance(l1, CAROL)
    assert paid_to(l1, CAROL, successor.refund(deposit_index), before) == 3 * ETHER
    with pytest.raises(RollupError, match="already refunded"):
        successor.refund(deposit_index)
    bond = rollup.contract.view("forcing_bond", forced_index)
    before = balance(l1, FORCER.checksum_address)
    assert paid_to(l1, FORCER.checksum_address, successor.refund(forced_index), before) == bond


def test_after_every_claim_the_successor_holds_exactly_what_is_still_on_l2(wound_down):
    """Nothing frozen, nothing paid twice: 5 deposited, 1 + 2 withdrawn, 2 left on L2."""
    l1, rollup, successor, _, unclaimed = wound_down
    assert balance(l1, rollup.address) == 0
    successor.claim(unclaimed, sender=ALICE)
    successor.withdraw_bonds(FORCER.checksum_address)
    for index in successor.unanchored_messages():
        successor.refund(index, sender=ALICE)
    assert balance(l1, successor.address) == 2 * ETHER


def test_only_the_rollup_pays_into_the_successor(wound_down):
    l1, _, successor, _, _ = wound_down
    with pytest.raises(Exception, match="only the rollup pays in"):
        l1.web3().eth.send_transaction({"from": ALICE, "to": successor.address, "value": 1})
