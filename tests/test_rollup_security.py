"""
Attacks on the demo rollups' money paths, each reproduced against an earlier
version: deposits to recipients that burn their gas froze every later deposit;
withdrawals and unpaid deposits paid with send()'s 2300 gas could never reach
a smart-contract wallet that writes storage on receipt.
"""

import pytest
from eth_account import Account
from eth_hash.auto import keccak

from contracts import compile_contract
from l1.node import Devnet
from rollup.adversaries import (
    INVALID_CODE,
    NONCE_BUMPER,
    delegate,
    deploy_code,
    deploy_wallet,
    forced_call,
    gas_burners,
)
from rollup.l1_contract import RollupError
from rollup.l2 import L2_BRIDGE
from rollup.sequencer import MAX_MESSAGES_PER_BLOCK, relay_gas

from rollups import ACCOUNTS, ALICE, BOB, ETHER, HOUR, deploy, wait


@pytest.fixture
def l1():
    with Devnet() as node:
        yield node


def bridge(rollup):
    return rollup.l2_web3.eth.contract(L2_BRIDGE, abi=compile_contract("L2Bridge").abi)


@pytest.mark.parametrize("stage", [0, 2])
def test_deposits_to_recipients_that_burn_their_gas_never_freeze_the_queue(l1, stage):
    rollup = deploy(l1, stage)
    l2 = rollup.l2_web3
    burners, refusing_wallet = gas_burners(l2, ALICE)
    bob_before = rollup.l2_balance(BOB)
    for recipient in burners * 2:  # twice each under one anchor
        rollup.deposit(ALICE, 1, recipient)
    rollup.deposit(ALICE, ETHER, BOB)
    rollup.sequencer.step()
    queued = rollup.contract.view("message_count")
    assert bridge(rollup).functions.processed_count().call() == queued
    assert rollup.contract.view("messages_anchored") == queued
    assert rollup.l2_balance(BOB) == bob_before + ETHER
    for recipient in burners:
        assert bridge(rollup).functions.unpaid(recipient).call() == 2, recipient
    # Later deposits keep coming in.
    rollup.deposit(ALICE, ETHER, BOB)
    rollup.sequencer.step()
    assert rollup.l2_balance(BOB) == bob_before + 2 * ETHER
    assert rollup.settled_head() == rollup.l2.head().block_number

    # The wallet that refused takes what it is owed once it accepts, storage write and all.
    refusing_wallet.functions.set_accepting(True).transact({"from": ALICE})
    claim = bridge(rollup).encode_abi("claim_unpaid", [])
    refusing_wallet.functions.call(L2_BRIDGE, claim).transact({"from": ALICE, "gas": 500_000})
    assert refusing_wallet.functions.received().call() == 2
    assert bridge(rollup).functions.unpaid(refusing_wallet.address).call() == 0
    # Rejected: claiming twice, or with nothing owed.
    with pytest.raises(Exception, match="nothing owed"):
        refusing_wallet.functions.call(L2_BRIDGE, claim).call({"from": ALICE})
    with pytest.raises(Exception, match="nothing owed"):
        bridge(rollup).functions.claim_unpaid().call({"from": BOB})


def test_a_full_block_of_deposits_fits_the_relay_within_the_l2_gas_limit(l1):
    rollup = deploy(l1, 2)
    for _ in range(MAX_MESSAGES_PER_BLOCK):
        rollup.deposit(ALICE, 1, deploy_code(rollup.l2_web3, INVALID_CODE, ALICE))
    rollup.sequencer.step()
    assert rollup.contract.view("messages_anchored") == MAX_MESSAGES_PER_BLOCK
    block = rollup.l2.block(rollup.l2.head().block_number)
    (relay,) = [t for t in block.transactions if t.to == L2_BRIDGE]
    assert relay.gas <= rollup.config.l2_gas_limit
    assert block.header.gas_used <= relay.gas


def test_a_relay_given_too_little_gas_is_refused_whole_never_anchored_unpaid(l1, monkeypatch):
    """The sequencer checks the relay's outcome: a failed relay's block is undone."""
    rollup = deploy(l1, 2)
    rollup.deposit(ALICE, ETHER, BOB)
    monkeypatch.setattr("rollup.sequencer.relay_gas", lambda messages: 60_000)
    head = rollup.l2.head().block_number
    with pytest.raises(RollupError, match="relaying L1 messages 1-1 failed on L2"):
        rollup.sequencer.take_in_messages()
    assert rollup.l2.head().block_number == head
    assert rollup.sequencer.messages_taken_in == 0
    monkeypatch.setattr("rollup.sequencer.relay_gas", relay_gas)
    bob_before = rollup.l2_balance(BOB)
    rollup.sequencer.step()
    assert rollup.l2_balance(BOB) == bob_before + ETHER


@pytest.mark.parametrize("stage", [0, 2])
def test_a_withdrawal_to_a_wallet_that_writes_storage_on_receipt_can_be_claimed(l1, stage):
    rollup = deploy(l1, stage)
    w3 = l1.web3()
    wallet = deploy_wallet(w3, True, ALICE)
    rollup.deposit(ALICE, 3 * ETHER, BOB)
    rollup.sequencer.step()
    withdrawal = rollup.withdraw(BOB, ETHER, wallet.address)
    rollup.sequencer.settle()
    wait(l1, HOUR)
    rollup.claim(withdrawal, sender=ALICE)
    assert wallet.functions.received().call() == ETHER
    assert w3.eth.get_balance(wallet.address) == ETHER
    with pytest.raises(RollupError, match="already claimed"):
        rollup.claim(withdrawal, sender=ALICE)


@pytest.mark.parametrize("stage", [1, 2])
def test_forced_transactions_that_invalidate_each_other_cannot_stall_the_rollup(l1, stage):
    """
    S1 and S2 delegate to code that bumps their nonce; forced A (S1 calls S2)
    and B (S2 calls S1) are each valid on the settled state, but whichever
    runs first makes the other invalid. One forced transaction per block, run
    first on the settled state: A goes in, B is then provably invalid and skipped.
    """
    rollup = deploy(l1, stage)
    bumper = deploy_code(rollup.l2_web3, NONCE_BUMPER, ALICE)
    s1, s2 = (Account.from_key(ACCOUNTS[index].private_key) for index in (4, 5))
    for account in (s1, s2):
        delegate(rollup, account, bumper)
    rollup.sequencer.settle()
    a, b = forced_call(rollup, s1, s2.address), forced_call(rollup, s2, s1.address)
    rollup.force_include(ALICE, a)
    rollup.force_include(ALICE, b)
    wait(l1, rollup.config.inclusion_delay + 1)
    for _ in range(4):
        rollup.sequencer.step()
    assert rollup.contract.view("messages_anchored") == rollup.contract.view("message_count")
    assert rollup.settled_head() == rollup.l2.head().block_number
    assert rollup.l2.receipt(keccak(a)) is not None
    assert rollup.l2.receipt(keccak(b)) is None
    assert rollup.contract.view("skipped", 2)
    # The rollup goes on: a later transfer settles.
    rollup.l2_web3.eth.send_transaction({"from": ALICE, "to": BOB, "value": 1})
    rollup.sequencer.settle()
    assert rollup.settled_head() == rollup.l2.head().block_number


def test_forcing_a_transaction_bonds_the_cost_it_imposes(l1):
    """
    Forcing cost the sequencer ~35x what it cost the forcer. Now the forcer
    bonds a block's settlement: paid to whoever skips it, returned on inclusion.
    """
    rollup = deploy(l1, 1)
    w3 = l1.web3()
    chain_id = rollup.config.l2_chain_id
    forcer = ACCOUNTS[6]
    valid = bytes(Account.from_key(forcer.private_key).sign_transaction({
        "type": 2, "chainId": chain_id, "nonce": 0, "to": ALICE, "value": 1, "gas": 21_000,
        "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 0,
    }).raw_transaction)
    invalid = bytes(Account.from_key(forcer.private_key).sign_transaction({
        "type": 2, "chainId": chain_id, "nonce": 7, "to": ALICE, "value": 1, "gas": 21_000,
        "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 0,
    }).raw_transaction)
    with pytest.raises(RollupError, match="force_include"):  # no bond
        rollup.contract.transact("force_include", valid, sender=forcer.checksum_address)
    assert rollup.contract.view("message_count") == 0
    rollup.force_include(forcer.checksum_address, invalid)
    rollup.force_include(forcer.checksum_address, valid)
    bonds = [rollup.contract.view("forcing_bond", index) for index in (1, 2)]
    assert all(bond > 0 for bond in bonds)
    owed_before = rollup.contract.view("bonds_owed", forcer.checksum_address)  # the margins
    sequencer = rollup.sequencer.address
    wait(l1, rollup.config.inclusion_delay + 1)
    for _ in range(3):
        rollup.sequencer.step()
    assert rollup.contract.view("skipped", 1) and not rollup.contract.view("skipped", 2)
    assert rollup.contract.view("bonds_owed", sequencer) == bonds[0]
    assert rollup.contract.view("bonds_owed", forcer.checksum_address) == owed_before + bonds[1]
    assert [rollup.contract.view("forcing_bond", index) for index in (1, 2)] == [0, 0]
    balance = w3.eth.get_balance(sequencer)
    receipt = rollup.contract.transact("withdraw_bonds", sender=sequencer)
    fee = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert w3.eth.get_balance(sequencer) == balance + bonds[0] - fee
    with pytest.raises(RollupError, match="nothing owed"):
        rollup.contract.transact("withdraw_bonds", sender=sequencer)


def test_a_withdrawal_the_escrow_cannot_cover_is_refused_in_words(l1):
    """L2 genesis ether no deposit backs cannot leave; the claim says so, and stays claimable."""
    rollup = deploy(l1, 0)
    rollup.deposit(ALICE, ETHER)
    rollup.sequencer.step()
    withdrawal = rollup.withdraw(BOB, 2 * ETHER, BOB)  # Bob's L2 ether is genesis ether
    rollup.sequencer.settle()
    wait(l1, rollup.config.finality_delay)
    with pytest.raises(RollupError, match="the escrow holds less than the amount"):
        rollup.claim(withdrawal)
    assert not rollup.contract.view("claimed", withdrawal.message_hash)
    rollup.deposit(ALICE, ETHER)  # the escrow grows: the same claim goes through
    rollup.claim(withdrawal)
    assert rollup.contract.view("claimed", withdrawal.message_hash)
