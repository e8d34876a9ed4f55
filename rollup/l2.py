"""
The L2 node: a devnet running plain Prague under the L2's own chain id, with
the rollup's predeploys in its genesis and the same funded test accounts as
the L1 devnet (so the printed keys work on every chain). anvil's state edits
are off: a block built on an edited state could never settle on L1.
"""

from typing import Dict, List, Optional

from contracts import compile_contract
from l1.accounts import derive_accounts
from l1.node import Devnet, DevnetConfig
from l1.state_proofs import prove_account
from precompile.forks import Prague
from precompile.genesis import GenesisAccount

from .stages import StageConfig

# Predeploy addresses (OP Stack style, so they are easy to spot).
L2_BRIDGE = bytes.fromhex("4200000000000000000000000000000000000010")
L2_MESSAGE_PASSER = bytes.fromhex("4200000000000000000000000000000000000016")
# Where a council freeze lives: a Governance contract whose Security Council
# (the rollup's members and threshold) may call the message passer's set_frozen.
L2_COUNCIL = bytes.fromhex("4200000000000000000000000000000000000020")
# The L2 end of synchronous calls between L1 and L2 (runs calls from L1, serves calls to it).
L2_CROSS_CALLS = bytes.fromhex("4200000000000000000000000000000000000030")
# What the bridge holds at genesis to pay deposits out: L1 holds the matching
# deposits, so L2 ether in circulation never exceeds what L1 locked.
BRIDGE_PREMINT = 10**9 * 10**18
# The demo rollups' operator key (the admin key on L1; on L2 it holds an operator freeze).
OPERATOR_ACCOUNT = 9


def predeploys(config: StageConfig) -> Dict[bytes, GenesisAccount]:
    """
    The bridge, the message passer, the cross-call end and, where a council
    may freeze, its council.
    """
    passer = compile_contract("L2MessagePasser")
    accounts = {
        L2_BRIDGE: GenesisAccount(
            balance=BRIDGE_PREMINT, code=compile_contract("L2Bridge").runtime
        ),
        L2_MESSAGE_PASSER: GenesisAccount(
            code=passer.runtime, storage={passer.slots["freezer"]: freezer_address(config)}
        ),
        L2_CROSS_CALLS: GenesisAccount(code=compile_contract("L2CrossCalls").runtime),
    }
    if config.freezer == "council":
        accounts[L2_COUNCIL] = council_account(config)
    return accounts


def freezer_address(config: StageConfig) -> int:
    """Who may freeze withdrawals on L2, as a storage word (0: no one)."""
    if config.freezer == "operator":
        return int.from_bytes(derive_accounts()[OPERATOR_ACCOUNT].address, "big")
    if config.freezer == "council":
        return int.from_bytes(L2_COUNCIL, "big")
    return 0


def council_account(config: StageConfig) -> GenesisAccount:
    """
    A ``Governance`` predeploy with the rollup's Security Council and no owner
    (nothing can be scheduled): only a threshold of members acts, at once.
    """
    governance = compile_contract("Governance")
    slots = governance.slots
    members = sorted(int(member, 16) for member in config.security_council)
    storage = {slots["council"]: len(members), slots["council_threshold"]: config.council_threshold}
    storage.update({slots["council"] + 1 + index: member for index, member in enumerate(members)})
    return GenesisAccount(code=governance.runtime, storage=storage)


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
            predeploys=predeploys(config),
            state_edits=False,
            unprotected_transactions=False,
        )
    )


def account_proof(l2: Devnet, address: bytes) -> List[bytes]:
    """A proof of ``address``'s account (or its absence) in the L2 head's state."""
    return list(prove_account(l2.chain.chaindb.db, l2.head().state_root, address, []).proof)
