"""
``nr bench forcing``: what forcing transactions costs an attacker, and what it
costs the sequencer that must settle or skip them, on a demo rollup.

The attacker forces transactions that can never run (a nonce far ahead); the
sequencer takes each in its own L2 block, skips it with a proof on L1 and
settles. Both sides' L1 gas and ether are summed from their receipts; the
bond the attacker posted per forced transaction goes to the sequencer, which
is what bounds the amplification in ether.
"""

from dataclasses import dataclass
from typing import Callable

from eth_account import Account

from l1.accounts import derive_accounts
from l1.node import Devnet
from rollup.rollup import Rollup
from rollup.stages import load_preset

ATTACKER_ACCOUNT = 6


@dataclass
class ForcingCosts:
    forced: int
    attacker_gas: int
    attacker_wei: int
    sequencer_gas: int
    sequencer_wei: int
    bonds_earned: int

    @property
    def gas_amplification(self) -> float:
        return self.sequencer_gas / self.attacker_gas

    @property
    def net_wei_amplification(self) -> float:
        """The sequencer's cost net of bonds, per wei the attacker spent (bonds lost included)."""
        return (self.sequencer_wei - self.bonds_earned) / self.attacker_wei


def spent_by(l1: Devnet, address: str, since: int) -> tuple:
    """(gas, wei) the transactions ``address`` sent after block ``since`` used on L1."""
    sender = bytes.fromhex(address[2:])
    gas = wei = 0
    for number in range(since + 1, l1.head().block_number + 1):
        block = l1.block(number)
        cumulative = 0  # receipts count gas from the block's start
        for transaction, receipt in zip(block.transactions, l1.block_receipts(block)):
            used, cumulative = receipt.gas_used - cumulative, receipt.gas_used
            if transaction.sender == sender:
                price = min(
                    transaction.max_fee_per_gas,
                    block.header.base_fee_per_gas + transaction.max_priority_fee_per_gas,
                )
                gas, wei = gas + used, wei + used * price
    return gas, wei


def run_forcing_bench(forced: int = 4, log: Callable[[str], None] = print) -> ForcingCosts:
    l1 = Devnet()
    rollup = Rollup.deploy(l1.web3(), load_preset(1))
    attacker = derive_accounts()[ATTACKER_ACCOUNT]
    signer = Account.from_key(attacker.private_key)
    start = l1.head().block_number
    log(f"forcing {forced} transactions that can never run, on a Stage 1 rollup ...")
    for index in range(forced):
        transaction = signer.sign_transaction({
            "type": 2, "chainId": rollup.config.l2_chain_id, "nonce": 1000 + index,
            "to": signer.address, "value": 0, "gas": 21_000,
            "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 0,
        })
        rollup.force_include(attacker.checksum_address, bytes(transaction.raw_transaction))
    l1.increase_time(rollup.config.inclusion_delay + 1)
    while rollup.contract.view("messages_anchored") < rollup.contract.view("message_count"):
        rollup.sequencer.step()
    sequencer = rollup.sequencer.address
    bonds = rollup.contract.view("bonds_owed", sequencer)
    rollup.contract.transact("withdraw_bonds", sender=sequencer)
    attacker_gas, attacker_fees = spent_by(l1, attacker.checksum_address, start)
    sequencer_gas, sequencer_wei = spent_by(l1, sequencer, start)
    # The attacker's margins over the bond stay owed to it; the bonds are lost to the sequencer.
    return ForcingCosts(
        forced, attacker_gas, attacker_fees + bonds, sequencer_gas, sequencer_wei, bonds
    )


def format_forcing_costs(costs: ForcingCosts) -> str:
    gwei = 10**9
    return "\n".join([
        f"{'':<10} {'L1 gas':>12} {'gwei spent':>14}",
        f"{'attacker':<10} {costs.attacker_gas:>12} {costs.attacker_wei // gwei:>14}"
        f"   ({costs.forced} forced transactions, bonds lost included)",
        f"{'sequencer':<10} {costs.sequencer_gas:>12} {costs.sequencer_wei // gwei:>14}"
        f"   (settling and skipping them; earned {costs.bonds_earned // gwei} gwei of bonds)",
        f"gas amplification {costs.gas_amplification:.1f}x;"
        f" the sequencer's ether cost net of bonds per attacker's: "
        f"{costs.net_wei_amplification:.2f}x",
    ])
