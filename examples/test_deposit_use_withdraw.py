"""Deposit on L1, tip on L2, withdraw the tips back to L1 and claim them there."""

from nr.testing.assertions import reverts
from nr.testing.cross_domain import deposit, withdraw

from conftest import ETHER


def test_deposit_tip_and_withdraw_to_l1(rollup, tip_jar, accounts, creator, w3, l2):
    fan = accounts[1].checksum_address
    deposit(rollup, fan, 2 * ETHER, within=1)

    tip_jar.functions.tip("for the native rollups talk").transact({"from": fan, "value": ETHER})
    assert tip_jar.functions.tipped(fan).call() == ETHER
    before = l2.eth.get_balance(creator)
    receipt = l2.eth.wait_for_transaction_receipt(
        tip_jar.functions.take().transact({"from": creator})
    )
    fee = receipt.gasUsed * receipt.effectiveGasPrice
    assert l2.eth.get_balance(creator) == before + ETHER - fee

    withdrawal = withdraw(rollup, creator, ETHER)
    on_l1 = w3.eth.get_balance(creator)
    rollup.claim(withdrawal, sender=accounts[0].checksum_address)
    assert w3.eth.get_balance(creator) == on_l1 + ETHER


def test_a_tip_of_nothing_reverts_with_its_reason(tip_jar, accounts):
    with reverts("tip: nothing sent"):
        tip_jar.functions.tip("empty").transact({"from": accounts[1].checksum_address})


def test_only_the_creator_takes_the_tips(tip_jar, accounts):
    with reverts("take: only the creator"):
        tip_jar.functions.take().transact({"from": accounts[1].checksum_address})


def test_each_test_starts_from_the_same_chains(rollup, tip_jar, l2):
    # The deposit, the tips and the withdrawal of the first test are gone.
    assert rollup.l2.head().block_number == 1  # the TipJar's deployment only
    assert rollup.settled_head() == 0
    assert l2.eth.get_balance(tip_jar.address) == 0
