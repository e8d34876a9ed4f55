"""
``nr bench forcing``: what forcing transactions costs an attacker, and what it
costs the sequencer that must settle or skip them, on a demo rollup.

The attacker forces transactions that can never run (a nonce far ahead); the
sequencer takes each in its own L2 block, skips it with a proof on L1 and
settles. Both sides' L1 gas and ether are summed from their receipts; the
bond the attacker posted per forced transaction goes to the sequencer, which
is what bounds the amplification in ether.
"""

from typing import Callable

from l1.accounts import derive_accounts
from l1.node import Devnet
from rollup.adversaries import ForcingCosts, force_unrunnable
from rollup.rollup import Rollup
from rollup.stages import load_preset

ATTACKER_ACCOUNT = 6


def run_forcing_bench(forced: int = 4, log: Callable[[str], None] = print) -> ForcingCosts:
    l1 = Devnet()
    rollup = Rollup.deploy(l1.web3(), load_preset(1))
    attacker = derive_accounts()[ATTACKER_ACCOUNT]
    log(f"forcing {forced} transactions that can never run, on a Stage 1 rollup ...")
    return force_unrunnable(l1, rollup, attacker, forced)


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
