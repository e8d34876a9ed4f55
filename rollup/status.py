"""
Where a rollup stands (as the OP Stack's ``optimism_syncStatus`` tells): the
L2 head its node has, the last L2 block settled on L1, and the L1 message
queue's position, for ``nr_settlementStatus`` and ``nr status``.
"""

from typing import Any, Dict

from l1.rpc.params import method


def settlement_status(rollup) -> Dict[str, Any]:
    """The rollup's L2 head, settled head and queue, as JSON-RPC answers it (hex quantities)."""
    contract = rollup.contract
    head = rollup.l2.head()
    settled = contract.view("head_number")
    queued = contract.view("message_count")
    anchored = contract.view("messages_anchored")
    return {
        "chainId": hex(rollup.config.l2_chain_id),
        "stage": rollup.config.stage,
        "rollup": rollup.address,
        "l2Head": {
            "number": hex(head.block_number),
            "hash": "0x" + head.hash.hex(),
            "stateRoot": "0x" + head.state_root.hex(),
        },
        "settled": {
            "number": hex(settled),
            "hash": "0x" + bytes(contract.view("head_hash")).hex(),
            "stateRoot": "0x" + bytes(contract.view("state_root_at", settled)).hex(),
            # The L1 timestamp of the block that settled it (0 for the genesis).
            "l1Timestamp": hex(contract.view("settled_at", settled)),
        },
        "unsettledBlocks": hex(head.block_number - settled),
        "queue": {
            "messages": hex(queued),
            "anchored": hex(anchored),
            "takenIn": hex(rollup.sequencer.messages_taken_in),
        },
        "paused": contract.view("paused"),
    }


class SettlementNamespace:
    """``nr_settlementStatus`` on a rollup's L2 endpoint."""

    def __init__(self, rollup) -> None:
        self.rollup = rollup

    @method()
    def nr_settlementStatus(self) -> Dict[str, Any]:
        return settlement_status(self.rollup)
