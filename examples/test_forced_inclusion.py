"""A forced transaction gets through a sequencer that censors it (Stage 1)."""

import pytest
from eth_account import Account
from eth_hash.auto import keccak

from nr.testing.assertions import reverts

from conftest import ETHER

pytestmark = pytest.mark.stage(1)


def signed_transfer(account, chain_id, to):
    return bytes(Account.sign_transaction({
        "chainId": chain_id, "nonce": 0, "to": to, "value": ETHER, "gas": 21_000,
        "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 0,
    }, account.private_key).raw_transaction)


def test_a_censoring_sequencer_is_refused_until_it_includes_the_forced_transaction(
    rollup, accounts, chain, l2
):
    user, friend = accounts[2], accounts[4].checksum_address
    forced = signed_transfer(user, rollup.config.l2_chain_id, friend)
    rollup.force_include(user.checksum_address, forced)
    sequencer = rollup.sequencer
    sequencer.ignores_forced = True

    chain.l1.warp(rollup.config.inclusion_delay + 1)
    l2.eth.send_transaction({"from": accounts[1].checksum_address, "to": friend, "value": 1})
    with reverts("leaves overdue L1 messages out"):
        sequencer.settle()

    sequencer.ignores_forced = False
    sequencer.rebuild_from_settled_head()
    sequencer.step()
    assert l2.eth.get_transaction_receipt(keccak(forced)).status == 1
    assert rollup.contract.view("messages_anchored") == 1


def test_the_sequencer_is_honest_again_in_the_next_test(rollup):
    assert rollup.sequencer.ignores_forced is False
    assert rollup.contract.view("message_count") == 0
