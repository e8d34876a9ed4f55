"""
Which rollups an L1 holds for an L2 chain id: every NativeRollup logs its
chain id when it is deployed (``RollupCreated``). Only logs from addresses
running NativeRollup's code count, so no other contract can claim an id.
"""

from typing import List

from eth_utils import to_checksum_address
from web3 import Web3

from contracts import compile_contract


def rollups_with_chain_id(l1: Web3, l2_chain_id: int) -> List[str]:
    """The NativeRollup contracts on ``l1`` deployed for ``l2_chain_id``, oldest first."""
    compiled = compile_contract("NativeRollup")
    event = l1.eth.contract(abi=compiled.abi).events.RollupCreated()
    logs = l1.eth.get_logs({
        "fromBlock": 0,
        "toBlock": "latest",
        "topics": [event.topic, "0x" + l2_chain_id.to_bytes(32, "big").hex()],
    })
    found = []
    for log in logs:
        address = to_checksum_address(log["address"])
        if address not in found and bytes(l1.eth.get_code(address)) == compiled.runtime:
            found.append(address)
    return found
