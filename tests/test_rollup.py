"""
Demo rollups end to end on the in-process devnet: deposits, L2 transfers,
withdrawals claimed with storage proofs, and what each stage protects.
Each protection has a test that fails if the protection is removed.
"""

import dataclasses
import json

import pytest
from eth_account import Account
from eth_hash.auto import keccak

from l1.node import Devnet
from rollup.l1_contract import RollupError
from rollup.stages import InvalidPreset, load_preset

from rollups import ACCOUNTS, ALICE, BOB, CAROL, ETHER, HOUR, deploy, wait, with_state_root


@pytest.fixture
def l1():
    with Devnet() as node:
        yield node


@pytest.mark.parametrize("stage", [0, 1, 2])
def test_deposit_transfer_withdraw_and_claim(l1, stage):
    rollup = deploy(l1, stage)
    w3 = l1.web3()
    bob_l2 = rollup.l2_balance(BOB)
    rollup.deposit(ALICE, 3 * ETHER, BOB)
    rollup.sequencer.step()
    assert rollup.l2_balance(BOB) == bob_l2 + 3 * ETHER
    assert rollup.contract.view("messages_anchored") == 1

    rollup.l2_web3.eth.send_transaction({"from": BOB, "to": CAROL, "value": ETHER})
    withdrawal = rollup.withdraw(BOB, 2 * ETHER, ALICE)
    settled = rollup.sequencer.settle()
    assert rollup.settled_head() == rollup.l2.head().block_number == settled[-1]
    assert rollup.contract.view("state_root_at", settled[-1]) == rollup.l2.head().state_root

    with pytest.raises(RollupError, match="not final yet"):
        rollup.claim(withdrawal, sender=BOB)
    wait(l1, HOUR)
    alice_l1 = w3.eth.get_balance(ALICE)
    rollup.claim(withdrawal, sender=BOB)
    assert w3.eth.get_balance(ALICE) == alice_l1 + 2 * ETHER
    with pytest.raises(RollupError, match="already claimed"):
        rollup.claim(withdrawal, sender=BOB)
    assert w3.eth.get_balance(ALICE) == alice_l1 + 2 * ETHER


def test_forged_withdrawals_are_refused_and_move_nothing(l1):
    rollup = deploy(l1, 1)
    rollup.deposit(ALICE, 3 * ETHER, BOB)
    rollup.sequencer.step()
    withdrawal = rollup.withdraw(BOB, ETHER, ALICE)
    rollup.sequencer.settle()
    wait(l1, HOUR)
    held = l1.web3().eth.get_balance(rollup.address)
    head = rollup.settled_head()
    account_proof, storage_proof = rollup.withdrawal_proof(withdrawal, head)

    def claim(arguments, accounts=account_proof, storage=storage_proof, block=head):
        return rollup.contract.transact(
            "claim_withdrawal", *arguments, block, accounts, storage, sender=BOB
        )

    more = dataclasses.replace(withdrawal, amount=2 * ETHER)
    with pytest.raises(RollupError, match="proof: the key is absent|proof: a node does not hash"):
        claim(more.claim_arguments())
    flipped = bytearray(storage_proof[-1])
    flipped[-1] ^= 1
    with pytest.raises(RollupError, match="proof: a node does not hash to its reference"):
        claim(withdrawal.claim_arguments(), storage=storage_proof[:-1] + [bytes(flipped)])
    with pytest.raises(RollupError, match="proof: ends before the key"):
        claim(withdrawal.claim_arguments(), accounts=account_proof[:-1])
    other_chain = dataclasses.replace(withdrawal, chain_id=withdrawal.chain_id + 1)
    with pytest.raises(RollupError, match="message is for another chain"):
        claim(other_chain.claim_arguments())
    with pytest.raises(RollupError, match="L2 block not settled"):
        claim(withdrawal.claim_arguments(), block=head + 1)
    assert l1.web3().eth.get_balance(rollup.address) == held
    claim(withdrawal.claim_arguments())
    assert l1.web3().eth.get_balance(rollup.address) == held - ETHER


def test_paused_rollup_refuses_deposits(l1):
    rollup = deploy(l1, 1)
    operator = rollup.contract.view("operator")
    with pytest.raises(RollupError, match="only the operator"):
        rollup.contract.transact("set_paused", True, sender=ALICE)
    rollup.contract.transact("set_paused", True, sender=operator)
    held = l1.web3().eth.get_balance(rollup.address)
    with pytest.raises(RollupError, match="deposit: the rollup is paused"):
        rollup.deposit(ALICE, ETHER, BOB)
    assert l1.web3().eth.get_balance(rollup.address) == held
    assert rollup.contract.view("message_count") == 0


@pytest.mark.parametrize("stage", [1, 2])
def test_invalid_state_root_is_refused_by_execute(l1, stage):
    rollup = deploy(l1, stage)
    rollup.l2_web3.eth.send_transaction({"from": ALICE, "to": BOB, "value": ETHER})
    encoded = rollup.sequencer.stateless_input(1)
    forged = with_state_root(encoded, b"\x66" * 32)
    with pytest.raises(RollupError, match="EXECUTE refused the block"):
        rollup.sequencer.submit(1, forged)
    operator = rollup.contract.view("operator")
    with pytest.raises(RollupError, match="advances only through EXECUTE"):
        rollup.contract.transact("replace_state", 1, b"\x01" * 32, b"\x66" * 32, sender=operator)
    assert rollup.settled_head() == 0
    rollup.sequencer.submit(1, encoded)
    assert rollup.settled_head() == 1


def test_stage0_operator_can_force_any_state_root(l1):
    rollup = deploy(l1, 0)
    rollup.l2_web3.eth.send_transaction({"from": ALICE, "to": BOB, "value": ETHER})
    forged = with_state_root(rollup.sequencer.stateless_input(1), b"\x66" * 32)
    with pytest.raises(RollupError, match="EXECUTE refused the block"):
        rollup.sequencer.submit(1, forged)
    operator = rollup.contract.view("operator")
    rollup.contract.transact("replace_state", 1, b"\x01" * 32, b"\x66" * 32, sender=operator)
    assert rollup.settled_head() == 1
    assert rollup.contract.view("state_root_at", 1) == b"\x66" * 32


def test_input_for_another_chain_or_parent_is_refused(l1):
    first, second = deploy(l1, 1), deploy(l1, 2)
    first.l2_web3.eth.send_transaction({"from": ALICE, "to": BOB, "value": ETHER})
    second.l2_web3.eth.send_transaction({"from": ALICE, "to": BOB, "value": ETHER})
    with pytest.raises(RollupError, match="input is for another chain"):
        second.sequencer.submit(1, first.sequencer.stateless_input(1))
    first.sequencer.settle()
    # Replaying the settled block: it no longer builds on the head.
    with pytest.raises(RollupError, match="does not build on the settled head"):
        first.sequencer.submit(1)


def signed_transfer(chain_id, nonce=0, value=ETHER):
    key = ACCOUNTS[2].private_key
    transaction = {
        "chainId": chain_id, "nonce": nonce, "to": ALICE, "value": value, "gas": 21000,
        "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 0,
    }
    return bytes(Account.sign_transaction(transaction, key).raw_transaction)


@pytest.mark.parametrize("stage", [1, 2])
def test_forced_transaction_is_included_within_the_delay(l1, stage):
    rollup = deploy(l1, stage)
    config = rollup.config
    forced = signed_transfer(config.l2_chain_id)
    rollup.force_include(CAROL, forced)
    rollup.deposit(ALICE, ETHER, BOB)
    sequencer = rollup.sequencer
    sequencer.ignores_forced = True
    # Before the deadline the censoring sequencer still settles (it takes nothing in).
    rollup.l2_web3.eth.send_transaction({"from": ALICE, "to": BOB, "value": 1})
    sequencer.settle()
    wait(l1, config.inclusion_delay + 1)
    rollup.l2_web3.eth.send_transaction({"from": ALICE, "to": BOB, "value": 1})
    with pytest.raises(RollupError, match="leaves overdue L1 messages out"):
        sequencer.settle()
    # The only way forward includes it.
    sequencer.ignores_forced = False
    dropped = sequencer.rebuild_from_settled_head()
    assert len(dropped) == 1  # Alice's transfer goes back to the mempool, not lost
    sequencer.step()
    assert rollup.l2.receipt(dropped[0].hash) is not None
    receipt = rollup.l2_web3.eth.get_transaction_receipt(keccak(forced))
    assert receipt.status == 1
    assert rollup.contract.view("messages_anchored") == 2


def test_stage0_forced_transaction_can_be_censored(l1):
    rollup = deploy(l1, 0)
    forced = signed_transfer(rollup.config.l2_chain_id)
    rollup.force_include(CAROL, forced)
    rollup.sequencer.ignores_forced = True
    wait(l1, 30 * 24 * HOUR)
    rollup.l2_web3.eth.send_transaction({"from": ALICE, "to": BOB, "value": 1})
    assert rollup.sequencer.step() == [1]
    assert rollup.contract.view("messages_anchored") == 0
    assert rollup.l2.receipt(keccak(forced)) is None


def test_anchoring_a_forced_transaction_without_it_is_refused(l1):
    rollup = deploy(l1, 0)
    rollup.force_include(CAROL, signed_transfer(rollup.config.l2_chain_id))
    queue_hash = rollup.contract.view("queue_hash", 1)
    rollup.l2.parent_beacon_block_root = queue_hash
    rollup.l2_web3.eth.send_transaction({"from": ALICE, "to": BOB, "value": 1})
    with pytest.raises(RollupError, match="anchors a forced transaction it does not include"):
        rollup.sequencer.settle()


def test_anchor_must_be_an_l1_queue_hash(l1):
    rollup = deploy(l1, 1)
    rollup.l2.parent_beacon_block_root = b"\x42" * 32
    rollup.l2_web3.eth.send_transaction({"from": ALICE, "to": BOB, "value": 1})
    with pytest.raises(RollupError, match="anchor is not an L1 queue hash"):
        rollup.sequencer.settle()


def test_stage2_anyone_proposes_once_the_sequencer_is_silent(l1):
    rollup = deploy(l1, 2)
    rollup.l2_web3.eth.send_transaction({"from": ALICE, "to": BOB, "value": 1})
    with pytest.raises(RollupError, match="the sequencer is live"):
        rollup.sequencer.submit(1, sender=CAROL)
    wait(l1, rollup.config.proposer_timeout)
    rollup.sequencer.submit(1, sender=CAROL)
    assert rollup.settled_head() == 1


def test_stage1_only_the_sequencer_proposes(l1):
    rollup = deploy(l1, 1)
    rollup.l2_web3.eth.send_transaction({"from": ALICE, "to": BOB, "value": 1})
    wait(l1, 365 * 24 * HOUR)
    with pytest.raises(RollupError, match="only the sequencer proposes"):
        rollup.sequencer.submit(1, sender=CAROL)


def test_presets_are_checked_against_their_stage(tmp_path):
    for stage in (0, 1, 2):
        assert load_preset(stage).stage == stage
    stage1 = json.loads(load_preset(1).to_json())
    cases = {
        "root": ({**stage1, "operator_can_replace_root": True}, "only through EXECUTE"),
        "inclusion": ({**stage1, "inclusion_delay": 0}, "forced inclusion"),
        "proposer": ({**stage1, "stage": 2, "proposer_timeout": 0}, "anyone may propose"),
        "type": ({**stage1, "finality_delay": "1h"}, "finality_delay must be int"),
        "unknown": ({**stage1, "council": 3}, "unknown fields"),
    }
    for name, (document, message) in cases.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(document))
        with pytest.raises(InvalidPreset, match=message):
            load_preset(path)
    (tmp_path / "broken.json").write_text("{\n")
    with pytest.raises(InvalidPreset, match="broken.json is not a JSON preset: Expecting"):
        load_preset(tmp_path / "broken.json")
    with pytest.raises(InvalidPreset, match="missing.json: no preset file there"):
        load_preset(tmp_path / "missing.json")
    for stage in (3, -1):
        with pytest.raises(InvalidPreset, match=f"no stage {stage}"):
            load_preset(stage)


def test_l2_node_refuses_state_edits_that_would_make_blocks_unprovable(l1):
    rollup = deploy(l1, 1)
    balance = rollup.l2_balance(ALICE)
    edits = {
        "anvil_setBalance": [ALICE, "0x1"],
        "hardhat_setBalance": [ALICE, "0x1"],
        "anvil_setStorageAt": [ALICE, "0x0", "0x" + "11" * 32],
        "anvil_impersonateAccount": [BOB],
        "evm_revert": ["0x1"],
        "anvil_reset": [],
    }
    for method, params in edits.items():
        response = rollup.l2_web3.provider.make_request(method, params)
        assert response["error"]["code"] == -32001, method
        assert f"{method.replace('hardhat', 'anvil')} is disabled" in response["error"]["message"]
    assert rollup.l2_balance(ALICE) == balance
    # Nor may a user control the L2's clock, mining, snapshots or dumps (only its sequencer).
    controls = {
        "evm_setNextBlockTimestamp": [hex(2**64 - 1)],
        "evm_increaseTime": ["0x10"],
        "evm_setAutomine": [False],
        "evm_setIntervalMining": [1],
        "evm_mine": [],
        "anvil_mine": ["0x1"],
        "hardhat_mine": ["0x1"],
        "evm_snapshot": [],
        "anvil_dumpState": [],
    }
    for method, params in controls.items():
        response = rollup.l2_web3.provider.make_request(method, params)
        assert response["error"]["code"] == -32001, method
        assert "controls the chain" in response["error"]["message"], method
    # Reading and ordinary transactions still work, and the L1 devnet keeps its test methods.
    assert "result" in l1.web3().provider.make_request("evm_snapshot", [])
    assert "result" in l1.web3().provider.make_request("anvil_setBalance", [CAROL, "0x1"])
    rollup.l2_web3.eth.send_transaction({"from": ALICE, "to": BOB, "value": 1})
    assert rollup.sequencer.settle() == [1]


def signed(key, chain_id, **changes):
    transaction = {
        "type": 2, "chainId": chain_id, "nonce": 0, "to": ALICE, "value": ETHER, "gas": 21000,
        "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 0, **changes,
    }
    return bytes(Account.sign_transaction(transaction, key).raw_transaction)


def test_force_include_refuses_transactions_that_can_never_be_valid(l1):
    rollup = deploy(l1, 1)
    chain_id, key = rollup.config.l2_chain_id, ACCOUNTS[2].private_key
    legacy = bytes(Account.sign_transaction(
        {"chainId": chain_id, "nonce": 0, "to": ALICE, "value": 1, "gas": 21000,
         "gasPrice": 10**10}, key).raw_transaction)
    valid = signed(key, chain_id)
    r, s = int.from_bytes(valid[-65:-33], "big"), int.from_bytes(valid[-32:], "big")
    order = 115792089237316195423570985008687907852837564279074904382605163141518161494337
    high_s = valid[:-32] + (order - s).to_bytes(32, "big")
    assert r and valid[-33] == 0xA0
    cases = {
        "only EIP-1559": legacy,
        "another chain": signed(key, chain_id + 1),
        "no contract creation": signed(key, chain_id, to=b"", gas=100_000),
        "gas limit below 21000 \\+ 40 per data byte": signed(key, chain_id, data=b"\x01" * 10),
        "gas limit above 1000000": signed(key, chain_id, gas=1_000_001),
        "empty access list": signed(key, chain_id, gas=30_000, accessList=[
            {"address": ALICE, "storageKeys": []}]),
        "s high": high_s,
        "not one RLP list": valid + b"\x00",
        "empty transaction": b"",
    }
    for reason, transaction in cases.items():
        with pytest.raises(RollupError, match=reason):
            rollup.force_include(CAROL, transaction)
    assert rollup.contract.view("message_count") == 0
    rollup.force_include(CAROL, valid)
    forced = rollup.contract.view("forced", 1)
    assert forced[0] == ACCOUNTS[2].checksum_address and forced[1] == 0


def test_invalid_forced_transactions_are_skipped_instead_of_stalling(l1):
    rollup = deploy(l1, 1)
    chain_id = rollup.config.l2_chain_id
    wrong_nonce = signed(ACCOUNTS[2].private_key, chain_id, nonce=5)
    unfunded = signed(Account.create().key, chain_id)
    first, twin = (signed(ACCOUNTS[3].private_key, chain_id, value=v) for v in (1, 2))
    for transaction in (wrong_nonce, unfunded, first, twin):
        rollup.force_include(CAROL, transaction)
    rollup.deposit(ALICE, ETHER, BOB)
    wait(l1, rollup.config.inclusion_delay + 1)

    # One forced transaction per block, each judged on the settled state:
    # skipped, skipped, included, then the twin (it shares a nonce with `first`,
    # now provably invalid) skipped with the deposit after it taken in.
    anchored = []
    for _ in range(4):
        rollup.sequencer.step()
        anchored.append(rollup.contract.view("messages_anchored"))
    assert anchored == [1, 2, 3, 5]
    assert [rollup.contract.view("skipped", i) for i in (1, 2, 3, 4)] == [True, True, False, True]
    assert rollup.l2.receipt(keccak(first)) is not None
    for transaction in (wrong_nonce, unfunded, twin):
        assert rollup.l2.receipt(keccak(transaction)) is None
    assert rollup.settled_head() == rollup.l2.head().block_number


def test_skip_forced_needs_a_true_proof_of_invalidity(l1):
    rollup = deploy(l1, 1)
    from rollup.l2 import account_proof

    carol = ACCOUNTS[2]
    rollup.force_include(CAROL, signed(carol.private_key, rollup.config.l2_chain_id))
    rollup.deposit(ALICE, ETHER, BOB)

    def skip(index, proof, reason):
        with pytest.raises(RollupError, match=reason):
            rollup.contract.transact("skip_forced", index, proof, sender=BOB)

    skip(1, account_proof(rollup.l2, carol.address), "valid on the settled L2 state")
    skip(1, account_proof(rollup.l2, ACCOUNTS[0].address), "does not hash to its reference")
    skip(2, account_proof(rollup.l2, carol.address), "not a forced transaction")
    rollup.sequencer.step()
    skip(1, account_proof(rollup.l2, carol.address), "no queued message awaits")
    assert not rollup.contract.view("skipped", 1)


def test_l2_refuses_transactions_without_a_chain_id_that_l1_accepts(l1):
    """The same keys sign on L1 and every L2: a pre-EIP-155 transaction replays on each."""
    rollup = deploy(l1, 0)
    key = ACCOUNTS[3].private_key
    unprotected = bytes(Account.sign_transaction(
        {"nonce": 0, "to": ALICE, "value": 1, "gas": 21000, "gasPrice": 10**10}, key
    ).raw_transaction)
    with pytest.raises(Exception, match="no chain id .* replayed"):
        rollup.l2.send_raw_transaction(unprotected)
    assert rollup.l2.pending == [] and rollup.l2.head().block_number == 0
    l1.send_raw_transaction(unprotected)  # as anvil does
    protected = bytes(Account.sign_transaction(
        {"chainId": rollup.config.l2_chain_id, "nonce": 0, "to": ALICE, "value": 1,
         "gas": 21000, "gasPrice": 10**10}, key
    ).raw_transaction)
    rollup.l2.send_raw_transaction(protected)
    assert rollup.l2.head().block_number == 1
