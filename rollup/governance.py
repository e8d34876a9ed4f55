"""
A rollup's governance as web3.py sees it: the owner's timelocked actions and
the Security Council's signed ones (``contracts/Governance.vy``).

Council members sign an EIP-191 "intended validator" (version 0x00) message
for the governance contract, so any wallet library can produce a signature.
"""

from dataclasses import dataclass
from typing import Iterable, List, Sequence

from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.messages import encode_intended_validator
from eth_hash.auto import keccak

from l1.accounts import DevAccount, derive_accounts

from .l1_contract import L1Contract, RollupError

# The demo presets' council: accounts 10-17 of the standard test mnemonic.
DEMO_COUNCIL_ACCOUNTS = range(10, 18)


@dataclass(frozen=True)
class ScheduledAction:
    id: int
    target: str
    data: bytes
    ready_at: int


def demo_council_keys(members: Iterable[str]) -> List[DevAccount]:
    """The keys of ``members`` among the demo council accounts (for drills and tests)."""
    wanted = {member.lower() for member in members}
    accounts = derive_accounts(count=max(DEMO_COUNCIL_ACCOUNTS) + 1)
    found = [accounts[index] for index in DEMO_COUNCIL_ACCOUNTS]
    keys = [account for account in found if account.checksum_address.lower() in wanted]
    if len(keys) != len(wanted):
        raise RollupError("the council is not the demo council: sign with the members' own keys")
    return keys


class Governance:
    def __init__(self, contract: L1Contract) -> None:
        self.contract = contract
        self.address = contract.address

    def schedule(self, target: str, data: bytes, sender: str) -> ScheduledAction:
        """The owner queues ``target.call(data)``; it may run after the upgrade delay."""
        receipt = self.contract.transact("schedule", target, data, sender=sender)
        event = self.contract.contract.events.ActionScheduled().process_receipt(receipt)[0]
        return ScheduledAction(event.args.id, target, bytes(event.args.data), event.args.ready_at)

    def execute(self, action_id: int, sender: str):
        return self.contract.transact("execute", action_id, sender=sender)

    def cancel(self, action_id: int, sender: str):
        return self.contract.transact("cancel", action_id, sender=sender)

    def council_digest(self, target: str, data: bytes, nonce: int) -> bytes:
        """The 32 bytes each member signs (EIP-191 version 0x00 for this contract)."""
        message = self._council_message(target, data, nonce)
        return keccak(b"\x19" + message.version + message.header + message.body)

    def _council_message(self, target: str, data: bytes, nonce: int):
        body = keccak(abi_encode(
            ["uint256", "uint256", "address", "bytes32"],
            [self.contract.l1.eth.chain_id, nonce, target, keccak(data)],
        ))
        return encode_intended_validator(self.address, primitive=body)

    def council_signatures(
        self, target: str, data: bytes, signers: Sequence[DevAccount], nonce: int = None
    ) -> List[bytes]:
        """Each signer's signature of the call, in the ascending signer order the contract wants."""
        nonce = self.contract.view("council_nonce") if nonce is None else nonce
        message = self._council_message(target, data, nonce)
        ordered = sorted(signers, key=lambda signer: int.from_bytes(signer.address, "big"))
        return [
            bytes(Account.sign_message(message, signer.private_key).signature)
            for signer in ordered
        ]

    def council_execute(
        self, target: str, data: bytes, signatures: Sequence[bytes], sender: str
    ):
        return self.contract.transact(
            "council_execute", target, data, list(signatures), sender=sender
        )
