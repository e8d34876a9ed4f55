"""
The L2 node: a devnet running plain Prague under the L2's own chain id, with
the rollup's predeploys in its genesis and the same funded test accounts as
the L1 devnet (so the printed keys work on every chain). anvil's state edits
are off: a block built on an edited state could never settle on L1.
"""

from typing import Dict, List, Optional

from contracts import compile_contract
from l1.node import Devnet, DevnetConfig
from l1.state_proofs import prove_account
from precompile.forks import Prague
from precompile.genesis import GenesisAccount

from .stages import StageConfig

# Predeploy addresses (OP Stack style, so they are easy to spot).
L2_BRIDGE = bytes.fromhex("4200000000000000000000000000000000000010")
L2_MESSAGE_PASSER = bytes.fromhex("4200000000000000000000000000000000000016")
# What the bridge holds at genesis to pay deposits out: L1 holds the matching
# deposits, so L2 ether in circulation never exceeds what L1 locked.
BRIDGE_PREMINT = 10**9 * 10**18


def predeploys() -> Dict[bytes, GenesisAccount]:
    return {
        L2_BRIDGE: GenesisAccount(
            balance=BRIDGE_PREMINT, code=compile_contract("L2Bridge").runtime
        ),
        L2_MESSAGE_PASSER: GenesisAccount(code=compile_contract("L2MessagePasser").runtime),
    }


def l2_node(config: StageConfig, genesis_timestamp: Optional[int] = None) -> Devnet:
    """
    A fresh L2 chain for ``config``: automine, so every transaction gets a
    block to settle. Its genesis is now, or at ``genesis_timestamp`` (a node
    rebuilding an existing L2 from L1 data starts from that L2's genesis).
    """
    return Devnet(
        DevnetConfig(
            chain_id=config.l2_chain_id,
            genesis_timestamp=genesis_timestamp,
            gas_limit=config.l2_gas_limit,
            vm_class=Prague,
            predeploys=predeploys(),
            state_edits=False,
            unprotected_transactions=False,
        )
    )


def account_proof(l2: Devnet, address: bytes) -> List[bytes]:
    """A proof of ``address``'s account (or its absence) in the L2 head's state."""
    return list(prove_account(l2.chain.chaindb.db, l2.head().state_root, address, []).proof)
