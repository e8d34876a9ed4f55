"""
The attacks the rollup-security work fixed, kept as drills so that a
configuration bringing one back shows it: deposits to recipients that burn
their gas, withdrawals to a wallet that writes storage on receipt, forced
transactions that invalidate each other (EIP-7702), and forcing
transactions that cost the sequencer more than the forcer.
"""

from eth_account import Account
from eth_hash.auto import keccak

from ..adversaries import (
    NONCE_BUMPER,
    delegate,
    deploy_code,
    deploy_wallet,
    force_unrunnable,
    forced_call,
    gas_burners,
)
from .scenario import ACCOUNTS, ALICE, ATTACKER, BOB, ETHER, Check, Outcome, Scenario

# Forced transactions in the amplification drill.
FORCED = 2
# Rounds the sequencer gets to take in what was forced before the drill calls it stalled.
ROUNDS = 4


def griefing_deposits(scenario: Scenario) -> Outcome:
    """Deposits to recipients that burn their gas or refuse, then Bob's: does his arrive?"""
    rollup = scenario.rollup
    burners, _ = gas_burners(rollup.l2_web3, ALICE.checksum_address)
    for recipient in burners * 2:
        rollup.deposit(ALICE.checksum_address, 1, recipient)
    before = rollup.l2_balance(BOB.checksum_address)
    rollup.deposit(ALICE.checksum_address, ETHER, BOB.checksum_address)
    scenario.note(f"{len(burners) * 2} deposits to gas-burning recipients, then 1 ether to Bob")
    for _ in range(ROUNDS):
        if rollup.contract.view("messages_anchored") == rollup.contract.view("message_count"):
            break
        scenario.attempt("the sequencer takes the queue in and settles", scenario.sequencer.step)
    arrived = rollup.l2_balance(BOB.checksum_address) - before == ETHER
    settled = rollup.settled_head() == rollup.l2.head().block_number
    ok = arrived and settled
    detail = ("Bob's deposit arrived behind the griefing ones" if ok
              else "the griefing deposits froze the queue")
    return Outcome(detail, [Check("no-third-party-freeze", ok, detail)],
                   {"funds_frozen_wei": 0 if ok else ETHER})


def contract_wallet_withdrawal(scenario: Scenario) -> Outcome:
    """Bob withdraws to a smart-contract wallet that writes storage when paid: can it claim?"""
    rollup = scenario.rollup
    scenario.fund_users(BOB)
    wallet = deploy_wallet(scenario.l1.web3(), True, ALICE.checksum_address)
    withdrawal = rollup.withdraw(BOB.checksum_address, ETHER, wallet.address)
    rollup.sequencer.settle()
    scenario.note("Bob withdrew 1 ether to a wallet contract on L1")
    scenario.wait(rollup.config.finality_delay)
    scenario.attempt("the wallet's withdrawal is claimed",
                     lambda: scenario.claim(withdrawal, ALICE))
    received = wallet.functions.received().call()
    ok = received == ETHER
    detail = ("the wallet received the withdrawal" if ok
              else "the withdrawal to the wallet cannot be claimed")
    return Outcome(detail, [Check("no-third-party-freeze", ok, detail)],
                   {"funds_frozen_wei": ETHER - received})


def forced_stall_7702(scenario: Scenario) -> Outcome:
    """
    Two EIP-7702 senders whose code bumps their nonce force transactions
    that each make the other invalid: does the rollup still settle?
    """
    rollup = scenario.rollup
    bumper = deploy_code(rollup.l2_web3, NONCE_BUMPER, ALICE.checksum_address)
    first, second = (Account.from_key(ACCOUNTS[index].private_key) for index in (4, 5))
    for account in (first, second):
        delegate(rollup, account, bumper)
    rollup.sequencer.settle()
    a, b = forced_call(rollup, first, second.address), forced_call(rollup, second, first.address)
    rollup.force_include(ALICE.checksum_address, a)
    rollup.force_include(ALICE.checksum_address, b)
    scenario.note("two delegated senders forced transactions that invalidate each other")
    scenario.wait(rollup.config.inclusion_delay + 1)
    for _ in range(ROUNDS):
        scenario.attempt("the sequencer takes the queue in and settles", scenario.sequencer.step)
    taken = rollup.contract.view("messages_anchored") == rollup.contract.view("message_count")
    settled = rollup.settled_head() == rollup.l2.head().block_number
    ok = taken and settled
    included = [scenario.included(keccak(t)) for t in (a, b)]
    detail = (f"the rollup went on (included: {included.count(True)} of 2, the other skipped)"
              if ok else "the forced transactions stalled the rollup")
    return Outcome(detail, [Check("no-third-party-freeze", ok, detail)], {})


def forcing_amplification(scenario: Scenario) -> Outcome:
    """The attacker forces transactions that can never run: whose ether does it burn?"""
    costs = force_unrunnable(scenario.l1, scenario.rollup, ATTACKER, FORCED, ROUNDS)
    scenario.note(
        f"{FORCED} unrunnable forced transactions: attacker {costs.attacker_gas} L1 gas,"
        f" sequencer {costs.sequencer_gas}; bonds earned {costs.bonds_earned / 10**9:.0f} gwei"
    )
    ratio = costs.net_wei_amplification
    ok = ratio <= 1.0
    detail = (f"gas {costs.gas_amplification:.1f}x, ether net of bonds {ratio:.2f}x"
              " the attacker's")
    return Outcome(detail, [Check("forcing-economics", ok, detail)], {
        "forcing_gas_amplification": round(costs.gas_amplification, 2),
        "forcing_net_ether_amplification": round(ratio, 3),
    })
