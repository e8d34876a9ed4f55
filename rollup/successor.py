"""
A retired rollup's wind-down successor (contracts/WindDown.vy): deployed for
a rollup, named by the rollup's upgrade, it pays out what the rollup still
owed, each once across both contracts: withdrawals from settled L2 blocks,
bonds, and the L1 messages the L2 never took in.
"""

from typing import List, Optional

from .l1_contract import L1Contract, RollupError
from .rollup import Rollup, Withdrawal


class WindDown:
    def __init__(self, rollup: Rollup, contract: L1Contract) -> None:
        self.rollup, self.contract = rollup, contract

    @classmethod
    def deploy(cls, rollup: Rollup, deployer: str) -> "WindDown":
        """A successor for ``rollup``; it pays nothing until the rollup is upgraded to it."""
        return cls(rollup, L1Contract.deploy(rollup.l1, "WindDown", deployer, rollup.address))

    @property
    def address(self) -> str:
        return self.contract.address

    def claim(self, withdrawal: Withdrawal, sender: Optional[str] = None, l2_block=None):
        """Claim a withdrawal from a settled L2 block, as from the rollup before it retired."""
        return self.contract.transact(
            "claim_withdrawal", *self.rollup.claim_call(withdrawal, l2_block),
            sender=sender or withdrawal.recipient,
        )

    def withdraw_bonds(self, sender: str):
        """Take the bonds the rollup owed ``sender`` and had not paid."""
        return self.contract.transact("withdraw_bonds", sender=sender)

    def unanchored_messages(self) -> List[int]:
        """Queue positions of the L1 messages the L2 never took in."""
        anchored = self.rollup.contract.view("messages_anchored")
        return list(range(anchored + 1, self.rollup.contract.view("message_count") + 1))

    def refund(self, index: int, sender: Optional[str] = None):
        """Give back the L1 message at ``index`` (a deposit, or a forcing bond) to who sent it."""
        queued = [
            event.args for event in self.rollup.contract.events("MessageQueued")
            if event.args.index == index
        ]
        if not queued:
            raise RollupError(f"refund: the rollup queued no message at index {index}")
        message = queued[0]
        return self.contract.transact(
            "refund_message", index, message.kind, message.sender, message.recipient,
            message.amount, bytes(message.data_hash), sender=sender or message.sender,
        )
