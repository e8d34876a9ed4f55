"""
Synchronous composability: slots, certified sequencing blocks with
preconfirmations, slot-ending blocks, based blocks that commit L1 and L2
together or not at all, the fallback to based mode, equivocation, reorgs.
Each runs against a real L1 devnet in slot mode and the real contracts.
"""

import dataclasses
import threading
import time
from contextlib import contextmanager

import pytest
from eth_account import Account
from web3 import Web3

from l1.accounts import derive_accounts
from l1.node import Devnet, DevnetConfig, InvalidArgument
from l1.rpc import Dispatcher
from rollup.based import Action, Assertion, BasedBuilder
from rollup.certificates import (
    SEQUENCED,
    SLOT_ENDING,
    Committee,
    certificate_digest,
    certify,
    preconfirmation_signer,
)
from rollup.composable import SLOT_FRIENDLY_L2_GAS_LIMIT, ComposableRollup
from rollup.cross_domain import (
    GAS_RESERVE,
    FlashLoanDesk,
    SwapDesk,
    deposit_and_withdraw,
    paid_slot,
)
from rollup.l1_contract import RollupError
from rollup.merged_reference import based_swap, merged_swap
from rollup.stages import load_preset
from rollup.status import SettlementNamespace

from rollups import BUILDER, SLOT_TIME, composable, land_and_follow, reason_of
from rpc_inputs import assert_every_method_answers_malformed_params

ACCOUNTS = derive_accounts()
ALICE, BOB, STRANGER = ACCOUNTS[0], ACCOUNTS[1], ACCOUNTS[6]
ETHER = 10**18


@pytest.fixture
def l1():
    """An L1 devnet in slot mode (blocks by ``mine_slot``), deployed on while automining."""
    return Devnet(DevnetConfig())


@pytest.fixture
def rollup(l1):
    return composable(l1)


def transfer(rollup, sender, recipient, value, nonce=None):
    """A signed L2 transfer, decoded as the L2 node holds transactions."""
    transaction = {
        "to": recipient.checksum_address if hasattr(recipient, "checksum_address") else recipient,
        "value": value,
        "gas": 21_000,
        "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 0,
        "nonce": rollup.l2.pool.next_nonce(sender.address) if nonce is None else nonce,
        "chainId": rollup.config.l2_chain_id,
    }
    raw = Account.sign_transaction(transaction, sender.private_key).raw_transaction
    return rollup.l2.vm_class.get_transaction_builder().decode(bytes(raw))


def l1_receipts(l1, block):
    web3 = l1.web3()
    return [web3.eth.get_transaction_receipt(t.hash) for t in block.transactions]


# -- the slot clock --


def test_slot_mode_mines_one_block_at_each_slot_start():
    l1 = Devnet(DevnetConfig(slot_mode=True, slot_time=SLOT_TIME))
    assert not l1.automine
    slots = l1.slots
    first = l1.mine_slot()
    assert first.header.timestamp == slots.start_of(slots.slot_of(first.header.timestamp))
    skipped = l1.mine_slot(slots.slot_of(first.header.timestamp) + 3)
    assert slots.slot_of(skipped.header.timestamp) - slots.slot_of(first.header.timestamp) == 3
    with pytest.raises(InvalidArgument, match="already has its block"):
        l1.mine_slot(slots.slot_of(first.header.timestamp))


# -- certificates and preconfirmations --


def test_the_contract_and_the_client_sign_the_same_certificate(rollup):
    digest = certificate_digest(
        rollup.config.l2_chain_id, rollup.sequencing.address, SLOT_ENDING, b"\x01" * 32, 5, 9,
        b"\x02" * 32,
    )
    assert rollup.sequencing.view(
        "certificate_digest", rollup.config.l2_chain_id, rollup.sequencing.address, SLOT_ENDING,
        b"\x01" * 32, 5, 9, b"\x02" * 32,
    ) == digest
    # Another kind, slot or parent signs something else.
    assert certificate_digest(
        rollup.config.l2_chain_id, rollup.sequencing.address, SEQUENCED, b"\x01" * 32, 5, 9,
        b"\x02" * 32,
    ) != digest


def test_a_transaction_is_preconfirmed_when_it_arrives(rollup):
    sent = rollup.l2_web3.eth.send_raw_transaction(
        bytes(Account.sign_transaction({
            "to": BOB.checksum_address, "value": 1, "gas": 21_000, "maxFeePerGas": 10**10,
            "maxPriorityFeePerGas": 0, "nonce": 0, "chainId": rollup.config.l2_chain_id,
        }, ALICE.private_key).raw_transaction)
    )
    promise = rollup.sequencer.preconfirmation(bytes(sent))
    receipt = rollup.l2_web3.eth.get_transaction_receipt(sent)
    assert (promise.block_number, promise.index) == (receipt.blockNumber, receipt.transactionIndex)
    assert promise.slot == rollup.sequencer.slot
    assert preconfirmation_signer(rollup.config.l2_chain_id, promise) == promise.signer
    assert promise.signer == rollup.sequencer.committee.signers[0].checksum_address
    # A forged promise (another index) does not recover to the signer.
    forged = dataclasses.replace(promise, index=promise.index + 1)
    assert preconfirmation_signer(rollup.config.l2_chain_id, forged) != promise.signer
    # The RPC answer, and null for a transaction never seen.
    namespace = rollup.rpc_namespace()
    assert namespace.nr_getPreconfirmation(bytes(sent))["blockNumber"] == hex(receipt.blockNumber)
    assert namespace.nr_getPreconfirmation(b"\x07" * 32) is None


def test_sequenced_blocks_settle_each_slot_under_their_certificates(l1, rollup):
    for value in (1, 2):
        rollup.l2.send_transaction(transfer(rollup, ALICE, BOB, value))
    assert rollup.l2.head().block_number == 2
    certificate = rollup.sequencer.end_slot()
    assert certificate.block_hash == rollup.l2.head().hash
    # Sequencing waits for the slot's L1 block: a transaction now gets no block yet.
    rollup.l2.send_transaction(transfer(rollup, ALICE, BOB, 3))
    assert rollup.l2.head().block_number == 2
    block = l1.mine_slot(certificate.slot)
    assert all(receipt.status == 1 for receipt in l1_receipts(l1, block))
    assert rollup.contract.view("head_number") == 2
    rollup.sequencer.follow_l1()
    assert rollup.l2.head().block_number == 3  # the waiting transaction, in the next slot


def test_a_settlement_l1_lost_is_sent_again(l1, rollup):
    """L1 goes back past a settlement (a revert, a reorg): the next round sends it again."""
    before = l1.snapshot()
    rollup.l2.send_transaction(transfer(rollup, ALICE, BOB, 1))
    assert rollup.sequencer.settle() == [1]
    l1.mine_slot()
    assert rollup.contract.view("head_number") == 1
    assert l1.revert(before)  # the settlement is gone from L1
    assert rollup.contract.view("head_number") == 0
    rollup.l2.send_transaction(transfer(rollup, ALICE, BOB, 2))
    assert rollup.sequencer.settle() == [1, 2]
    l1.mine_slot()
    assert rollup.contract.view("head_number") == 2
    # Nothing lost now: nothing sent again.
    assert rollup.sequencer.settle() == []


def test_a_certificate_needs_the_committee_threshold_of_distinct_members(l1):
    members = tuple(ACCOUNTS[2:5])
    config = load_preset(1)
    rollup = ComposableRollup.deploy(
        l1.web3(), config, committee=Committee(members, 2), slot_time=SLOT_TIME
    )
    rollup.l2.send_transaction(transfer(rollup, ALICE, BOB, 1))
    block = rollup.l2.head()
    encoded = rollup.sequencer.stateless_input(1)
    settle = rollup.sequencing.contract.functions.settle_sequenced
    valid = rollup.sequencer.certificates[block.hash]
    assert len(valid.signatures) == 2
    l1.mine_slot()  # a later L1 block: any slot from the certificate's on settles it

    def refusal(certificate) -> str:
        with pytest.raises(Exception) as refused:
            settle(encoded, certificate.as_struct()).call({"from": STRANGER.checksum_address})
        return str(refused.value)

    one = dataclasses.replace(valid, signatures=valid.signatures[:1])
    assert "below the committee's threshold" in refusal(one)
    twice = dataclasses.replace(valid, signatures=(valid.signatures[0],) * 2)
    assert "distinct" in refusal(twice)
    outsiders = certify(
        Committee((STRANGER, BUILDER), 2), rollup.config.l2_chain_id, rollup.sequencing.address,
        SEQUENCED, block.hash, block.block_number, valid.slot,
    )
    assert "non-member" in refusal(outsiders)
    other_block = dataclasses.replace(valid, block_hash=b"\x09" * 32)
    assert "does not recover" in refusal(other_block) or "non-member" in refusal(other_block)
    # Anyone may settle with the valid one: the certificate is the committee's word.
    rollup.sequencing.transact(
        "settle_sequenced", encoded, valid.as_struct(), sender=STRANGER.checksum_address,
        gas=15_000_000,
    )
    assert rollup.contract.view("head_number") == 1


# -- based blocks --


def test_a_based_block_lands_on_the_slot_ending_block_and_the_l2_follows(l1, rollup):
    rollup.l2.send_transaction(transfer(rollup, ALICE, BOB, ETHER))
    certificate = rollup.sequencer.end_slot()
    based = BasedBuilder(rollup, BUILDER).build(
        [transfer(rollup, ALICE, BOB, 2 * ETHER)], slot_ending=certificate
    )
    before = rollup.l2_balance(BOB.checksum_address)
    receipt, _ = land_and_follow(l1, rollup, based)
    assert receipt.status == 1
    assert rollup.contract.view("head_hash") == based.block.hash
    assert rollup.l2.head().hash == based.block.hash
    assert rollup.l2_balance(BOB.checksum_address) == before + 2 * ETHER
    status = rollup.rpc_namespace().nr_slotStatus()
    assert status["lastBased"]["blockHash"] == "0x" + based.block.hash.hex()
    assert status["mode"] == "sequenced" and status["settledHead"] == hex(based.block.number)
    # Sequencing goes on from the based block.
    rollup.l2.send_transaction(transfer(rollup, ALICE, BOB, 1))
    assert rollup.l2.head().parent_hash == based.block.hash


@pytest.mark.parametrize(
    "attack, reason",
    [
        ("later slot", "for another slot"),
        ("other parent", "another L1 parent"),
        ("uncertified", "non-member"),
        ("sequenced certificate", "not slot-ending"),
        ("stale parent", "not the settled head"),
    ],
)
def test_a_based_block_outside_its_slot_parent_or_certificate_is_refused(
    l1, rollup, attack, reason
):
    rollup.l2.send_transaction(transfer(rollup, ALICE, BOB, 1))
    certificate = rollup.sequencer.end_slot()
    slot = certificate.slot
    builder = BasedBuilder(rollup, BUILDER)
    if attack == "later slot":
        slot += 1
    elif attack == "other parent":
        l1.mine_slot(slot)  # the certificate's parent is no longer the latest block
        slot += 1
        certificate = dataclasses.replace(certificate, slot=slot)
        certificate = certify(
            rollup.sequencer.committee, rollup.config.l2_chain_id, rollup.sequencing.address,
            SLOT_ENDING, certificate.block_hash, certificate.block_number, slot,
            certificate.l1_parent,
        )
    elif attack == "uncertified":
        certificate = certify(
            Committee((STRANGER,), 1), rollup.config.l2_chain_id, rollup.sequencing.address,
            SLOT_ENDING, certificate.block_hash, certificate.block_number, slot,
            certificate.l1_parent,
        )
    elif attack == "sequenced certificate":
        certificate = rollup.sequencer.certificates[certificate.block_hash]
        certificate = dataclasses.replace(certificate, slot=slot)
    elif attack == "stale parent":
        # The slot-ending block is settled, then a later sequenced block too.
        l1.mine_slot(slot)
        rollup.sequencer.follow_l1()
        rollup.l2.send_transaction(transfer(rollup, ALICE, BOB, 2))
        fresh = rollup.sequencer.end_slot()
        slot = fresh.slot
        certificate = certify(
            rollup.sequencer.committee, rollup.config.l2_chain_id, rollup.sequencing.address,
            SLOT_ENDING, certificate.block_hash, certificate.block_number, slot, fresh.l1_parent,
        )
        rollup.l2.rewind(certificate.block_number)
    head_before = rollup.contract.view("head_number") if attack != "stale parent" else None
    based = builder.build([transfer(rollup, ALICE, BOB, 5)], slot_ending=certificate, slot=slot)
    sent = builder.land(based)
    block = l1.mine_slot(slot)
    receipt = l1.web3().eth.get_transaction_receipt(sent)
    assert receipt.status == 0
    assert reason in reason_of(l1, receipt)
    assert bytes(rollup.contract.view("head_hash")) != based.block.hash
    if head_before is not None:
        settled = [r for r in l1_receipts(l1, block) if r.transactionHash != sent]
        assert rollup.contract.view("head_number") == head_before + len(settled)


def test_one_based_block_per_slot(l1, rollup):
    certificate = rollup.sequencer.end_slot()
    builder = BasedBuilder(rollup, BUILDER)
    first = builder.build([transfer(rollup, ALICE, BOB, 1)], slot_ending=certificate)
    builder.land(first)
    second = builder.build([transfer(rollup, BOB, ALICE, 1)], slot_ending=certificate)
    rival = BasedBuilder(rollup, STRANGER)
    sent = rival.land(second)
    l1.mine_slot(certificate.slot)
    receipt = l1.web3().eth.get_transaction_receipt(sent)
    assert receipt.status == 0
    assert rollup.contract.view("head_hash") == first.block.hash


@pytest.mark.parametrize("broken", ["before", "after", "assertion"])
def test_a_based_block_commits_on_both_sides_or_on_neither(l1, rollup, broken):
    """A deposit before, the L2 block spending it, a check after: break any part, nothing moves."""
    certificate = rollup.sequencer.end_slot()
    builder = BasedBuilder(rollup, BUILDER)
    fresh = Account.create()
    deposit, message = builder.deposit(fresh.address, ETHER)
    spend = Account.sign_transaction({
        "to": BOB.checksum_address, "value": ETHER // 2, "gas": 21_000, "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 0, "nonce": 0, "chainId": rollup.config.l2_chain_id,
    }, fresh.key).raw_transaction
    spend = rollup.l2.vm_class.get_transaction_builder().decode(bytes(spend))
    messages_before = rollup.contract.view("message_count")
    # After the block: L1 reads the settled head (a view, as any L1 contract could).
    head = Action(rollup.address, rollup.contract.compiled.encode_call("head_number"))
    expected_head = (rollup.contract.view("head_number") + 1).to_bytes(32, "big")
    check = Assertion(rollup.address, head.data, expected_head)
    before, after, assertions = [deposit], [head], [check]
    if broken == "before":
        before = [deposit, Action(rollup.address, rollup.contract.compiled.encode_call(
            "claim_withdrawal", 1, 0, ALICE.checksum_address, ALICE.checksum_address, 1, 0, [], []
        ))]
    elif broken == "after":
        after = [Action(rollup.address, rollup.contract.compiled.encode_call("withdraw_bonds"))]
    else:
        assertions = [Assertion(rollup.address, head.data, (0).to_bytes(32, "big"))]
    based = builder.build(
        [spend], before=before, after=after, assertions=assertions, new_messages=[message],
        slot_ending=certificate,
    )
    assert all(r.state_root == b"\x01" for r in based.receipts)  # the L2 side alone is fine
    escrow = l1.web3().eth.get_balance(rollup.address)
    receipt, _ = land_and_follow(l1, rollup, based)
    assert receipt.status == 0
    assert rollup.contract.view("message_count") == messages_before
    assert rollup.contract.view("head_hash") == certificate.block_hash
    assert l1.web3().eth.get_balance(rollup.address) == escrow
    assert rollup.l2.head().hash == certificate.block_hash
    assert rollup.l2_balance(fresh.address) == 0


def test_a_deposit_is_spent_on_l2_and_withdrawn_within_one_l1_transaction(l1):
    rollup = composable(l1, finality_delay=0)
    certificate = rollup.sequencer.end_slot()
    fresh = Account.create()
    based, withdrawal = deposit_and_withdraw(
        BasedBuilder(rollup, BUILDER), fresh, ETHER, ETHER // 2, certificate
    )
    receipt, _ = land_and_follow(l1, rollup, based)
    assert receipt.status == 1, reason_of(l1, receipt)
    assert l1.web3().eth.get_balance(fresh.address) == ETHER // 2
    assert rollup.contract.view("claimed", withdrawal.message_hash)
    assert rollup.l2.head().hash == based.block.hash
    assert 0 < rollup.l2_balance(fresh.address) < ETHER // 2  # the rest, less L2 gas


@pytest.mark.parametrize("outcome", ["repaid", "fee-short", "desk-empty"])
def test_a_flash_loan_from_l1_is_used_on_l2_and_repaid_within_one_l1_transaction(l1, outcome):
    """
    The lender deposits 4 ether for a fresh borrower, who trades it on L2 at
    a 5% premium and withdraws loan and fee to the lender, claimed after the
    block; the lender checks it is whole. Short by the fee, or the L2 trade
    failing: the whole L1 transaction reverts, nothing moves on either chain.
    """
    rollup = composable(l1, finality_delay=0)
    l1.set_automine(True)
    reserves = 0 if outcome == "desk-empty" else 5 * ETHER
    loans = FlashLoanDesk.deploy(rollup, ALICE, liquidity=10 * ETHER, reserves=reserves)
    l1.set_automine(False)
    rollup.sequencer.slot = rollup.sequencer.latest_l1_slot()
    certificate = rollup.sequencer.end_slot()
    builder = BasedBuilder(rollup, BUILDER)
    borrower = Account.create()
    amount, fee = 4 * ETHER, ETHER // 100
    # With the trade failing the borrower has less than the loan: it repays what it can.
    repaid = {"repaid": amount + fee, "fee-short": amount, "desk-empty": amount - GAS_RESERVE}[
        outcome
    ]
    based, withdrawal = loans.borrow(builder, borrower, amount, repaid, certificate)
    w3 = l1.web3()
    lender_before, escrow_before = (
        w3.eth.get_balance(address) for address in (loans.lender.address, rollup.address)
    )
    messages_before = rollup.contract.view("message_count")
    sent = loans.land(builder, based, borrower.address, amount, fee)
    l1.mine_slot(rollup.sequencer.next_l1_slot())
    rollup.sequencer.follow_l1()
    receipt = w3.eth.get_transaction_receipt(sent)
    if outcome == "repaid":
        assert receipt.status == 1, reason_of(l1, receipt)
        # The claim runs last, on what is left; its proof's depth depends on the borrower's
        # random address, so it needs room to spare (it once ran out, 1/64 short).
        landing = next(
            call for call in l1.trace_transaction(sent, {"tracer": "callTracer"})["calls"]
            if Web3.to_checksum_address(call["to"]) == rollup.sequencing.address
        )
        claim = landing["calls"][-1]
        assert int(claim["gas"], 16) >= 1.25 * int(claim["gasUsed"], 16)
        assert w3.eth.get_balance(loans.lender.address) == lender_before + fee
        # The loan in and out again; the fee, earned on L2, leaves the escrow with it.
        assert w3.eth.get_balance(rollup.address) == escrow_before - fee
        assert rollup.contract.view("claimed", withdrawal.message_hash)
        assert rollup.l2.head().hash == based.block.hash
        premium = (amount - GAS_RESERVE) * 5 // 100
        assert rollup.l2_balance(loans.desk) == reserves - premium
        assert 0 < rollup.l2_balance(borrower.address) < premium - fee  # the profit, less L2 gas
        return
    assert receipt.status == 0
    if outcome == "fee-short":
        assert "flash: the loan and its fee did not come back" in reason_of(l1, receipt)
    assert w3.eth.get_balance(loans.lender.address) == lender_before
    assert w3.eth.get_balance(rollup.address) == escrow_before
    assert rollup.contract.view("message_count") == messages_before
    assert rollup.contract.view("head_hash") == certificate.block_hash
    assert rollup.l2.head().hash == certificate.block_hash
    assert rollup.l2_balance(borrower.address) == 0
    assert rollup.l2_balance(loans.desk) == reserves


def swap_setup(l1, rollup):
    """The swap's contracts, and Alice's offer: 1 L1 ether for Bob, against 2 L2 ether to her."""
    l1.set_automine(True)
    desk = SwapDesk.deploy(rollup, ALICE)
    swap_id = b"\x42" * 32
    deadline = l1.head().timestamp + 3600
    desk.swaps.transact(
        "offer", swap_id, BOB.checksum_address, ALICE.checksum_address, 2 * ETHER, deadline,
        sender=ALICE.checksum_address, value=ETHER,
    )
    l1.set_automine(False)
    rollup.sequencer.slot = rollup.sequencer.latest_l1_slot()
    return desk, swap_id


def test_an_atomic_swap_of_l1_ether_for_l2_ether(l1, rollup):
    desk, swap_id = swap_setup(l1, rollup)
    certificate = rollup.sequencer.end_slot()
    builder = BasedBuilder(rollup, BUILDER)
    based = builder.build(
        [desk.pay(BOB, swap_id, ALICE.checksum_address, 2 * ETHER)], slot_ending=certificate
    )
    based.after.append(desk.take(builder, based, swap_id))
    bob_l1 = l1.web3().eth.get_balance(BOB.checksum_address)
    alice_l2 = rollup.l2_balance(ALICE.checksum_address)
    receipt, _ = land_and_follow(l1, rollup, based)
    assert receipt.status == 1, reason_of(l1, receipt)
    assert l1.web3().eth.get_balance(BOB.checksum_address) == bob_l1 + ETHER
    assert rollup.l2_balance(ALICE.checksum_address) == alice_l2 + 2 * ETHER
    assert desk.swaps.view("closed", swap_id)


@pytest.mark.parametrize(
    "attack, reason",
    [
        ("short payment", "not paid as offered"),
        ("forged proof", "proof:"),
        ("stale block", "not paid as offered"),
        ("replay", "no open offer"),
    ],
)
def test_a_swap_whose_l2_leg_is_wrong_moves_nothing_on_either_side(l1, rollup, attack, reason):
    desk, swap_id = swap_setup(l1, rollup)
    builder = BasedBuilder(rollup, BUILDER)
    if attack == "replay":  # taken once in a based block; the same proof again later
        certificate = rollup.sequencer.end_slot()
        based = builder.build(
            [desk.pay(BOB, swap_id, ALICE.checksum_address, 2 * ETHER)], slot_ending=certificate
        )
        based.after.append(desk.take(builder, based, swap_id))
        assert land_and_follow(l1, rollup, based)[0].status == 1
        replayed = based.after[-1]
    certificate = rollup.sequencer.end_slot()
    amount = ETHER if attack == "short payment" else 2 * ETHER
    other_id = b"\x43" * 32 if attack == "replay" else swap_id
    based = builder.build(
        [desk.pay(BOB, other_id, ALICE.checksum_address, amount)], slot_ending=certificate
    )
    take = desk.take(builder, based, swap_id)
    if attack == "forged proof":  # one byte of the storage proof's last node changed
        payload = bytearray(take.data)
        payload[-40] ^= 1
        take = Action(take.target, bytes(payload))
    elif attack == "stale block":  # proven against the parent, where nothing was paid
        take = Action(take.target, desk.swaps.compiled.encode_call(
            "take", swap_id, certificate.block_number, *builder.storage_proof(
                dataclasses.replace(based, block=rollup.l2.block(certificate.block_number)),
                bytes.fromhex(desk.ledger[2:]), paid_slot(swap_id),
            )
        ))
    elif attack == "replay":
        take = replayed
    based.after.append(take)
    bob_l1 = l1.web3().eth.get_balance(BOB.checksum_address)
    alice_l2 = rollup.l2_balance(ALICE.checksum_address)
    receipt, _ = land_and_follow(l1, rollup, based)
    assert receipt.status == 0
    assert reason in reason_of(l1, receipt)
    assert l1.web3().eth.get_balance(BOB.checksum_address) == bob_l1
    assert rollup.l2_balance(ALICE.checksum_address) == alice_l2
    assert rollup.contract.view("head_hash") == certificate.block_hash
    assert rollup.l2.head().hash == certificate.block_hash
    assert desk.swaps.view("closed", swap_id) == (attack == "replay")


# -- liveness --


def test_no_based_block_in_a_slot_the_next_builds_on_the_slot_ending_block(l1, rollup):
    rollup.l2.send_transaction(transfer(rollup, ALICE, BOB, 1))
    missed = rollup.sequencer.end_slot()
    l1.mine_slot(missed.slot)  # nobody built a based block
    rollup.sequencer.follow_l1()
    rollup.l2.send_transaction(transfer(rollup, ALICE, BOB, 2))
    assert rollup.l2.head().parent_hash == missed.block_hash
    certificate = rollup.sequencer.end_slot()
    based = BasedBuilder(rollup, BUILDER).build(
        [transfer(rollup, ALICE, BOB, 3)], slot_ending=certificate
    )
    receipt, _ = land_and_follow(l1, rollup, based)
    assert receipt.status == 1


def test_after_ten_silent_slots_anyone_builds_and_preconfirmations_are_void(l1, rollup):
    rollup.sequencer.end_slot()
    l1.mine_slot()
    rollup.sequencer.follow_l1()
    settled_slot = rollup.sequencing.view("last_settled_slot")
    sent = rollup.l2.send_transaction(transfer(rollup, ALICE, BOB, 1))
    assert rollup.sequencer.preconfirmation(sent) is not None
    # The sequencer goes silent: its block is never settled.
    l1.mine_slot(settled_slot + 10)
    assert rollup.sequencing.view("mode") == 0
    l1.mine_slot(settled_slot + 11)
    assert rollup.sequencing.view("mode") == 1
    rollup.sequencer.follow_l1()
    assert rollup.rpc_namespace().nr_slotStatus()["mode"] == "based"
    assert rollup.sequencer.preconfirmation(sent) is None
    assert "based mode" in rollup.rpc_namespace().nr_getPreconfirmation(sent)["void"]
    # Certificates no longer settle anything; a stranger's based block does, no certificate.
    assert rollup.sequencer.end_slot() is None
    stranger = BasedBuilder(rollup, STRANGER)
    based = stranger.build(list(rollup.l2.pending))
    receipt, _ = land_and_follow(l1, rollup, based, stranger)
    assert receipt.status == 1, reason_of(l1, receipt)
    assert rollup.sequencing.view("mode") == 0
    assert rollup.sequencer.mode == 0
    assert rollup.l2.head().hash == based.block.hash


def test_a_based_builder_cannot_leave_a_due_forced_transaction_out(l1):
    rollup = composable(l1, inclusion_delay=SLOT_TIME)
    forced = Account.sign_transaction({
        "to": BOB.checksum_address, "value": 1, "gas": 21_000, "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 0, "nonce": 0, "chainId": rollup.config.l2_chain_id,
    }, ALICE.private_key).raw_transaction
    l1.set_automine(True)
    rollup.force_include(ALICE.checksum_address, bytes(forced))
    l1.set_automine(False)
    l1.mine_slot(rollup.sequencer.next_l1_slot() + 2)  # past the inclusion delay
    rollup.sequencer.follow_l1()
    certificate = rollup.sequencer.end_slot()
    builder = BasedBuilder(rollup, BUILDER)
    leaving_out = builder.build([], take_in_queue=False, slot_ending=certificate)
    sent = builder.land(leaving_out)
    l1.mine_slot(certificate.slot)
    receipt = l1.web3().eth.get_transaction_receipt(sent)
    assert receipt.status == 0
    assert "overdue" in reason_of(l1, receipt)


def test_two_slot_ending_certificates_for_one_slot_are_proven_and_paid(l1, rollup):
    rollup.l2.send_transaction(transfer(rollup, ALICE, BOB, 1))
    committee, chain, sequencing = (
        rollup.sequencer.committee, rollup.config.l2_chain_id, rollup.sequencing.address
    )
    first = rollup.sequencer.end_slot()
    other = certify(committee, chain, sequencing, SLOT_ENDING, b"\x05" * 32,
                    first.block_number, first.slot, first.l1_parent)
    unrelated = certify(committee, chain, sequencing, SLOT_ENDING, first.block_hash,
                        first.block_number, first.slot + 1, first.l1_parent)
    prove = rollup.sequencing.contract.functions.prove_equivocation
    with pytest.raises(Exception, match="do not conflict"):
        prove(first.as_struct(), unrelated.as_struct()).call({"from": STRANGER.checksum_address})
    forged = dataclasses.replace(other, signatures=((27, 1, 1),))
    with pytest.raises(Exception, match="certificate"):
        prove(first.as_struct(), forged.as_struct()).call({"from": STRANGER.checksum_address})
    l1.set_automine(True)
    bond = rollup.sequencing.view("bond")
    assert bond > 0
    balance = l1.web3().eth.get_balance(STRANGER.checksum_address)
    receipt = rollup.sequencing.transact(
        "prove_equivocation", first.as_struct(), other.as_struct(),
        sender=STRANGER.checksum_address,
    )
    paid = l1.web3().eth.get_balance(STRANGER.checksum_address) - balance
    assert paid == bond - receipt.gasUsed * receipt.effectiveGasPrice
    assert rollup.sequencing.view("bond") == 0
    with pytest.raises(RollupError, match="no bond left"):
        rollup.sequencing.transact(
            "prove_equivocation", first.as_struct(), other.as_struct(),
            sender=STRANGER.checksum_address,
        )


# -- an L1 reorg --


def test_reverting_the_l1_block_of_a_based_block_reverts_the_l2_blocks_on_it(l1, rollup):
    rollup.l2.send_transaction(transfer(rollup, ALICE, BOB, 1))
    certificate = rollup.sequencer.end_slot()
    l1.mine_slot(certificate.slot)  # the slot-ending block settles
    rollup.sequencer.follow_l1()
    certificate = rollup.sequencer.end_slot()
    snapshot = l1.snapshot()
    paid = transfer(rollup, ALICE, BOB, ETHER)
    based = BasedBuilder(rollup, BUILDER).build([paid], slot_ending=certificate)
    receipt, _ = land_and_follow(l1, rollup, based)
    assert receipt.status == 1
    rollup.l2.send_transaction(transfer(rollup, BOB, ALICE, 7))  # a block on the based one
    on_top = rollup.l2.block(rollup.l2.head().block_number)
    assert on_top.header.parent_hash == based.block.hash
    l1.revert(snapshot)
    rollup.sequencer.follow_l1()
    assert rollup.l2.head().hash != based.block.hash
    assert rollup.l2.block(based.block.number).hash != based.block.hash
    assert rollup.contract.view("head_hash") == certificate.block_hash
    # What was on it went back to the pool and was sequenced again, promised anew.
    again = rollup.sequencer.preconfirmation(on_top.transactions[0].hash)
    assert again is not None
    assert rollup.l2.block(again.block_number).hash != on_top.hash
    assert rollup.l2.block(certificate.block_number).hash == certificate.block_hash


def test_a_sequencer_that_starts_the_next_slot_early_loses_that_block(l1, rollup):
    """Preconfirmed before the slot ended: kept. Sequenced early on top: void, never settled."""
    kept = rollup.l2.send_transaction(transfer(rollup, ALICE, BOB, 1))
    certificate = rollup.sequencer.end_slot()
    # A based block on the slot-ending block pays Alice's next nonce to a stranger.
    based = BasedBuilder(rollup, BUILDER).build(
        [transfer(rollup, ALICE, STRANGER, ETHER)], slot_ending=certificate
    )
    # The sequencer does not wait for L1: it mines and preconfirms Alice paying Bob instead.
    early = rollup.l2.send_transaction(transfer(rollup, ALICE, BOB, ETHER))
    rollup.l2.mine()
    assert rollup.sequencer.preconfirmation(early) is not None
    bob = rollup.l2_balance(BOB.checksum_address)
    receipt, _ = land_and_follow(l1, rollup, based)
    assert receipt.status == 1
    assert rollup.sequencer.preconfirmation(kept) is not None
    assert rollup.sequencer.preconfirmation(early) is None
    assert "in its place" in rollup.sequencer.voided[early]
    assert rollup.l2.block(based.block.number).hash == based.block.hash
    # Alice's nonce is spent by the based block: Bob's payment can never be included.
    assert rollup.l2_balance(BOB.checksum_address) == bob - ETHER or (
        rollup.l2_balance(BOB.checksum_address) <= bob
    )
    assert rollup.contract.view("head_hash") == based.block.hash


# -- cadence and capacity --


def test_a_slot_has_no_more_sequencing_blocks_than_its_l1_block_can_settle(l1, rollup):
    cap = rollup.sequencer.blocks_per_slot()
    assert cap >= 2  # 3M L2 gas: several per 30M L1 block
    for value in range(cap + 2):
        rollup.l2.send_transaction(transfer(rollup, ALICE, BOB, value + 1))
    assert rollup.l2.head().block_number == cap  # the rest wait for the next slot
    assert len(rollup.l2.pending) == 2
    certificate = rollup.sequencer.end_slot()
    based = BasedBuilder(rollup, BUILDER).build([], slot_ending=certificate)
    receipt, _ = land_and_follow(l1, rollup, based)
    assert receipt.status == 1  # every sequenced block settled in time, the based one too
    assert not rollup.l2.pending
    assert rollup.l2.head().block_number == cap + 2  # the based block, then the two waiting


@contextmanager
def running_cadence(rollup, interval: float):
    """The sequencer on a cadence of ``interval`` seconds in a thread, admitting; stopped after."""
    stopped = threading.Event()
    cadence = threading.Thread(
        target=rollup.sequencer.run_cadence, args=(stopped, interval), daemon=True
    )
    cadence.start()
    try:
        deadline = time.monotonic() + 10
        while not rollup.sequencer.admitting:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        yield
    finally:
        stopped.set()
        cadence.join()


def test_on_a_cadence_a_transaction_is_promised_as_it_arrives_and_mined_as_promised(rollup):
    namespace = rollup.rpc_namespace()
    with running_cadence(rollup, 0.5):
        deadline = time.monotonic() + 10
        head = rollup.l2.head().block_number
        answers = [
            namespace.nr_sendRawTransaction(transfer(rollup, ALICE, BOB, v + 1).encode())
            for v in range(3)
        ]
        promises = [answer["preconfirmation"] for answer in answers]
        assert all(promises), "every transaction is answered with its promise"
        assert {p["blockNumber"] for p in promises} == {hex(head + 1)}
        assert [p["transactionIndex"] for p in promises] == ["0x0", "0x1", "0x2"]
        # A nonce ahead cannot run in the open block: no promise.
        gapped = transfer(rollup, ALICE, BOB, 9, nonce=rollup.l2.pool.next_nonce(ALICE.address) + 5)
        assert namespace.nr_sendRawTransaction(gapped.encode())["preconfirmation"] is None
        while rollup.l2.head().block_number == head:  # sealed within the interval
            assert time.monotonic() < deadline, "the open block was not sealed"
            time.sleep(0.01)
        for answer, promise in zip(answers, promises):
            transaction_hash = bytes.fromhex(answer["transactionHash"][2:])
            block, index, _ = rollup.l2.receipt(transaction_hash)
            assert (hex(block.number), hex(index)) == (
                promise["blockNumber"], promise["transactionIndex"]
            )
        # Ending the slot seals what is open at once.
        late = namespace.nr_sendRawTransaction(transfer(rollup, BOB, ALICE, 1).encode())
        assert late["preconfirmation"]["blockNumber"] == hex(head + 2)
        certificate = rollup.sequencer.end_slot()
        assert certificate.block_number == head + 2
        assert rollup.l2.block(head + 2).transactions[0].hash.hex() == late[
            "transactionHash"][2:]


def test_stopping_the_cadence_keeps_what_it_promised(rollup):
    namespace = rollup.rpc_namespace()
    # An interval longer than the test: only stopping can seal the open block.
    with running_cadence(rollup, 3600):
        answer = namespace.nr_sendRawTransaction(transfer(rollup, ALICE, BOB, 1).encode())
        promise = answer["preconfirmation"]
    block, index, _ = rollup.l2.receipt(bytes.fromhex(answer["transactionHash"][2:]))
    assert (hex(block.number), hex(index)) == (promise["blockNumber"], promise["transactionIndex"])


def test_the_l2_endpoint_answers_a_transaction_with_its_preconfirmation(rollup):
    from nr.bench.composability import serve_in_thread

    url = serve_in_thread(rollup.l2, (rollup.rpc_namespace(),))
    web3 = Web3(Web3.HTTPProvider(url))
    raw = Account.sign_transaction({
        "to": BOB.checksum_address, "value": 5, "gas": 21_000, "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 0, "nonce": 0, "chainId": rollup.config.l2_chain_id,
    }, ALICE.private_key).raw_transaction
    answer = web3.provider.make_request("nr_sendRawTransaction", ["0x" + bytes(raw).hex()])
    promise = answer["result"]["preconfirmation"]
    receipt = web3.eth.get_transaction_receipt(answer["result"]["transactionHash"])
    assert int(promise["blockNumber"], 16) == receipt.blockNumber
    assert web3.provider.make_request(
        "nr_getPreconfirmation", [answer["result"]["transactionHash"]]
    )["result"] == promise
    status = web3.provider.make_request("nr_slotStatus", [])["result"]
    assert status["mode"] == "sequenced" and status["l2Head"] == hex(receipt.blockNumber)
    # While the slot waits for L1 the answer has no preconfirmation yet, and says so.
    rollup.sequencer.end_slot()
    raw = Account.sign_transaction({
        "to": BOB.checksum_address, "value": 5, "gas": 21_000, "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 0, "nonce": 1, "chainId": rollup.config.l2_chain_id,
    }, ALICE.private_key).raw_transaction
    waiting = web3.provider.make_request("nr_sendRawTransaction", ["0x" + bytes(raw).hex()])
    assert waiting["result"]["preconfirmation"] is None
    refused = web3.provider.make_request("nr_sendRawTransaction", ["0x1234"])
    assert "invalid transaction" in refused["error"]["message"]


def test_the_l2_endpoint_answers_malformed_params_in_the_nodes_words(rollup):
    """Its node's methods, the settlement status and the slot methods, fed nonsense."""
    namespaces = (SettlementNamespace(rollup), rollup.rpc_namespace())
    assert_every_method_answers_malformed_params(Dispatcher(rollup.l2, namespaces), ALICE)
    assert rollup.rpc_namespace().nr_slotStatus()["mode"] == "sequenced"


def test_nr_build_based_lands_a_based_block_built_by_the_l2_node(capsys):
    """Against served nodes: the L1 mining a block per transaction, as nr up runs it."""
    from nr.bench.composability import serve_in_thread
    from nr.cli import main

    l1 = Devnet(DevnetConfig())
    rollup = ComposableRollup.deploy(l1.web3(), dataclasses.replace(
        load_preset(1), l2_gas_limit=SLOT_FRIENDLY_L2_GAS_LIMIT
    ), slot_time=SLOT_TIME)
    l1_url = serve_in_thread(l1, ())
    l2_url = serve_in_thread(rollup.l2, (rollup.rpc_namespace(),))
    key = "0x" + BUILDER.private_key.hex()
    paid = Account.sign_transaction({
        "to": BOB.checksum_address, "value": 3, "gas": 21_000, "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 0, "nonce": 0, "chainId": rollup.config.l2_chain_id,
    }, ALICE.private_key).raw_transaction
    arguments = ["build-based", "--l1", l1_url, "--l2", l2_url, "--key", key,
                 "--tx", "0x" + bytes(paid).hex()]
    # Before the sequencer ends a slot there is nothing to build on.
    assert main(arguments) == 1
    assert "no slot-ending block" in capsys.readouterr().err
    # The slot that the next L1 block is in (an automining L1 mines it now),
    # with time left in it to land.
    slot = l1.slots.slot_of(int(time.time()))
    if l1.slots.start_of(slot + 1) - time.time() < SLOT_TIME / 2:
        time.sleep(l1.slots.start_of(slot + 1) - time.time())
        slot += 1
    rollup.sequencer.end_slot(slot)
    bob = rollup.l2_balance(BOB.checksum_address)
    assert main(arguments) == 0, capsys.readouterr().err
    assert "landed: L1 transaction" in capsys.readouterr().out
    rollup.sequencer.follow_l1()
    assert rollup.l2.head().block_number == 1
    assert rollup.contract.view("head_hash") == rollup.l2.head().hash
    assert rollup.l2_balance(BOB.checksum_address) == bob + 3
    # The same certificate again: L1 refuses, saying why.
    assert main(arguments[:-2]) == 1
    assert "no slot-ending block" in capsys.readouterr().err


# -- the merged single-EVM reference --


@pytest.mark.parametrize("paying", [2 * ETHER, ETHER], ids=["as asked", "short"])
def test_a_based_swap_leaves_what_the_merged_single_evm_program_leaves(l1, rollup, paying):
    desk, swap_id = swap_setup(l1, rollup)
    builder = BasedBuilder(rollup, BUILDER)

    def land(based):
        return land_and_follow(l1, rollup, based, builder)[0]

    based = based_swap(desk, builder, ALICE, BOB, swap_id, paying, land)
    merged = merged_swap(ALICE, BOB, swap_id, ETHER, 2 * ETHER, paying)
    assert based == merged
    assert based.committed == (paying == 2 * ETHER)
    if based.committed:  # Alice got her 2 on L2, Bob his 1 on L1: -1 net
        assert based.ether == {ALICE.checksum_address: 2 * ETHER, BOB.checksum_address: -ETHER}
