"""
A synchronously composable rollup: a demo rollup whose sequencer is the
``Sequencing`` contract (slots, certificates, based blocks) and whose L2 node
is run by a ``SlotSequencer``; what L1 and the L2 share is the slot clock.
"""

import dataclasses
from typing import Any, Dict, List, Optional, Union

from web3 import Web3

from l1.accounts import DevAccount
from l1.node import InvalidArgument, InvalidState
from l1.node.slots import DEFAULT_SLOT_TIME, SlotClock
from l1.raw_transactions import decode_signed_transaction

from .based import BasedBuilder
from .certificates import Committee
from .l1_contract import L1Contract
from .l2 import l2_node
from .rollup import Rollup, deploy_contracts, parties
from .slot_sequencer import SEQUENCED_MODE, SlotNamespace, SlotSequencer
from .stages import StageConfig, load_preset

# An L2 gas limit that lets one L1 block settle several sequenced blocks and a
# based block: EXECUTE charges each block's gas limit, and L1 caps the sum per
# block (EXECUTE_CUMULATIVE_GAS_LIMIT) and its own gas.
SLOT_FRIENDLY_L2_GAS_LIMIT = 3_000_000


def slot_friendly(stage: Union[int, str, StageConfig]) -> StageConfig:
    """The stage's preset with an L2 gas limit of at most SLOT_FRIENDLY_L2_GAS_LIMIT."""
    config = stage if isinstance(stage, StageConfig) else load_preset(stage)
    return dataclasses.replace(
        config, l2_gas_limit=min(config.l2_gas_limit, SLOT_FRIENDLY_L2_GAS_LIMIT)
    )


def deploy_cross_calls(
    l1: Web3, owner: str, sequencing: L1Contract, contract: L1Contract
) -> L1Contract:
    """The L1 end of synchronous calls into L2 (CrossCalls, reading L2 state through L2State)."""
    l2_state = L1Contract.deploy(l1, "L2State", owner)
    cross_calls = L1Contract.deploy(
        l1, "CrossCalls", owner, sequencing.address, contract.address, l2_state.address
    )
    sequencing.transact("bind_cross_calls", cross_calls.address, sender=owner)
    return cross_calls


class ComposableRollup(Rollup):
    sequencer: SlotSequencer
    # The L1 end of synchronous calls into L2 (CrossCalls.vy).
    cross_calls: L1Contract

    @classmethod
    def deploy(
        cls,
        l1: Web3,
        stage: Union[int, str, StageConfig] = 1,
        operator: Optional[DevAccount] = None,
        sequencer: Optional[DevAccount] = None,
        committee: Optional[Committee] = None,
        slot_time: int = DEFAULT_SLOT_TIME,
        bond: int = 10**18,
    ) -> "ComposableRollup":
        """
        The stage's rollup with slot sequencing: ``Sequencing`` (the
        committee, by default the sequencer key alone; L1's slot clock from
        its genesis block, ``slot_time`` seconds a slot) is the sequencer
        ``NativeRollup`` knows, and ``bond`` wei from the sequencer key backs
        its certificates against equivocation.
        """
        config, operator, sequencer = parties(stage, operator, sequencer)
        committee = committee or Committee((sequencer,), 1)
        owner = operator.checksum_address
        genesis_time = l1.eth.get_block(0).timestamp
        sequencing = L1Contract.deploy(
            l1, "Sequencing", owner, committee.addresses, committee.threshold, genesis_time,
            slot_time,
        )
        l2 = l2_node(config)
        contract, governance, bug_record = deploy_contracts(
            l1, config, l2, owner, sequencing.address
        )
        sequencing.transact("bind", contract.address, sender=owner)
        cross_calls = deploy_cross_calls(l1, owner, sequencing, contract)
        if bond:
            sequencing.transact("post_bond", sender=sequencer.checksum_address, value=bond)
        slot_sequencer = SlotSequencer(
            contract, l2, sequencer, sequencing=sequencing, committee=committee
        )
        slot_sequencer.slot = slot_sequencer.latest_l1_slot()
        rollup = cls(l1, contract, governance, l2, config, slot_sequencer, operator, bug_record)
        rollup.cross_calls = cross_calls
        return rollup

    @property
    def sequencing(self) -> L1Contract:
        return self.sequencer.sequencing

    @property
    def slots(self) -> SlotClock:
        return SlotClock(self.sequencing.view("slot_genesis"), self.sequencing.view("slot_time"))

    def rpc_namespace(self) -> SlotNamespace:
        """What its L2 endpoint serves besides a node's methods."""
        return SlotNamespace(self.sequencer, self.based_block_for_rpc)

    def based_block_for_rpc(self, encoded_transactions: List[bytes]) -> Dict[str, Any]:
        """``nr_buildBasedBlock``: built by this node (its sequencer key signs any relay)."""
        builder = self.l2.vm_class.get_transaction_builder()
        transactions = []
        for position, encoded in enumerate(encoded_transactions):
            try:
                transactions.append(decode_signed_transaction(builder, encoded))
            except InvalidArgument as refused:
                raise InvalidArgument(f"transaction {position}: {refused}") from None
        sequencer = self.sequencer
        certificate = None
        if self.sequencing.view("mode") == SEQUENCED_MODE:
            slot = max(sequencer.slot_ending, default=None)
            if slot is None or sequencer.slot_ending[slot].block_hash != self.l2.head().hash:
                raise InvalidState(
                    "no slot-ending block to build on yet: the sequencer releases one near the"
                    " end of each slot (nr_slotStatus says when)"
                )
            certificate = sequencer.slot_ending[slot]
        based = BasedBuilder(self, sequencer.key).build(transactions, slot_ending=certificate)
        return {
            "sequencing": self.sequencing.address,
            "input": "0x" + based.stateless_input.hex(),
            "blockHash": "0x" + based.block.hash.hex(),
            "blockNumber": hex(based.block.number),
            "slotEnding": None if certificate is None else certificate.as_json(),
        }
