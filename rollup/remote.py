"""
Withdrawals over JSON-RPC alone, against rollups a running ``nr up`` or
``nr deploy`` serves: start one on L2 (``nr withdraw``), then claim it on L1
with storage proofs from the L2 endpoint's ``eth_getProof`` (``nr claim``).
Nothing here needs the L2 node in-process: an L2 endpoint names its rollup's
L1 contract (``nr_settlementStatus``), and the rest is on the two chains.
"""

from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from eth_account import Account
from eth_utils import to_checksum_address
from web3 import Web3

from contracts import compile_contract

from .based import NO_CERTIFICATE
from .certificates import Certificate
from .l1_contract import RollupError
from .l2 import L2_MESSAGE_PASSER
from .rollup import WITHDRAWAL_GAS, Withdrawal, sent_message_slot, withdrawal_from

# Gas for claim_withdrawal (proof verification in Vyper): measured about 0.3M.
CLAIM_GAS = 1_500_000
# Gas for build_based with no actions: EXECUTE of one L2 block (up to a 10M gas limit).
BASED_BLOCK_GAS = 14_000_000


@dataclass
class RemoteRollup:
    """A rollup reached by its L1 and L2 JSON-RPC endpoints."""

    l2: Web3
    # Only claims need L1.
    l1: Optional[Web3] = None

    @classmethod
    def connect(cls, l2_url: str, l1_url: Optional[str] = None) -> "RemoteRollup":
        l1 = Web3(Web3.HTTPProvider(l1_url)) if l1_url else None
        return cls(Web3(Web3.HTTPProvider(l2_url)), l1)

    def status(self) -> Dict[str, Any]:
        """The L2 endpoint's ``nr_settlementStatus``; RollupError if it is not a rollup's."""
        answer = self.l2.provider.make_request("nr_settlementStatus", [])
        if "error" in answer:
            raise RollupError(f"not a rollup's L2 endpoint: {answer['error']['message']}")
        return answer["result"]

    @property
    def contract(self):
        if self.l1 is None:
            raise RollupError("no L1 endpoint given")
        return self.l1.eth.contract(
            to_checksum_address(self.status()["rollup"]),
            abi=compile_contract("NativeRollup").abi,
        )

    @property
    def message_passer(self):
        return self.l2.eth.contract(
            to_checksum_address(L2_MESSAGE_PASSER), abi=compile_contract("L2MessagePasser").abi
        )

    def withdraw(self, key: bytes, amount: int, recipient: str) -> bytes:
        """Sign and send ``initiate_withdrawal`` on L2 from ``key``'s account; the tx hash."""
        sender = Account.from_key(key)
        transaction = self.message_passer.functions.initiate_withdrawal(
            to_checksum_address(recipient)
        ).build_transaction({
            "from": sender.address,
            "value": amount,
            "gas": WITHDRAWAL_GAS,
            "nonce": self.l2.eth.get_transaction_count(sender.address),
            "chainId": self.l2.eth.chain_id,
        })
        signed = sender.sign_transaction(transaction)
        transaction_hash = self.l2.eth.send_raw_transaction(signed.raw_transaction)
        self.withdrawal_in(transaction_hash)  # it must have withdrawn something
        return bytes(transaction_hash)

    def withdrawal_in(self, transaction_hash: bytes) -> Withdrawal:
        """The withdrawal an L2 transaction started, from its receipt."""
        receipt = self.l2.eth.wait_for_transaction_receipt(transaction_hash, timeout=30)
        return withdrawal_from(self.message_passer, self.l2.eth.chain_id, receipt)

    def claim(self, key: bytes, transaction_hash: bytes) -> Dict[str, Any]:
        """
        Claim on L1 the withdrawal L2 transaction ``transaction_hash`` started,
        proven against the latest settled L2 block; the L1 receipt.
        """
        withdrawal = self.withdrawal_in(transaction_hash)
        contract = self.contract
        settled = contract.functions.head_number().call()
        if settled < withdrawal.l2_block:
            raise RollupError(
                f"L2 block {withdrawal.l2_block} is not settled on L1 yet (L1 has {settled});"
                " try again after the sequencer settles it"
            )
        slot = "0x" + sent_message_slot(withdrawal.message_hash).hex()
        proof = self.l2.eth.get_proof(to_checksum_address(L2_MESSAGE_PASSER), [slot], settled)
        call = contract.functions.claim_withdrawal(
            *withdrawal.claim_arguments(), settled,
            [bytes(node) for node in proof.accountProof],
            [bytes(node) for node in proof.storageProof[0].proof],
        )
        escrow = self.l1.eth.get_balance(contract.address)
        if escrow < withdrawal.amount:
            raise RollupError(
                f"the rollup's L1 escrow holds {escrow} wei, less than the {withdrawal.amount}"
                " withdrawn (ether an L2 genesis funds was never deposited on L1)"
            )
        # The contract's own reason if it refuses: not final, already claimed.
        return self._send_on_l1(call, key, CLAIM_GAS, "L1 refuses the claim")

    def _send_on_l1(self, call, key: bytes, gas: int, refusal: str) -> Dict[str, Any]:
        """Run ``call`` first (RollupError with L1's reason), then sign, send, wait; the receipt."""
        sender = Account.from_key(key)
        try:
            call.call({"from": sender.address})
        except Exception as refused:  # the contract's own words
            raise RollupError(f"{refusal}: {revert_reason(refused)}") from None
        transaction = call.build_transaction({
            "from": sender.address,
            "gas": gas,
            "nonce": self.l1.eth.get_transaction_count(sender.address),
            "chainId": self.l1.eth.chain_id,
        })
        signed = sender.sign_transaction(transaction)
        return self.l1.eth.wait_for_transaction_receipt(
            self.l1.eth.send_raw_transaction(signed.raw_transaction), timeout=60
        )


    def build_based(self, key: bytes, raw_transactions: List[bytes]) -> Dict[str, Any]:
        """
        Have the L2 node build a based block of ``raw_transactions`` on its
        latest slot-ending block and land it on L1, paid by ``key``; the L1
        receipt (L1 takes it only in the certificate's slot, on its L1 parent).
        """
        answer = self.l2.provider.make_request("nr_buildBasedBlock", [
            ["0x" + raw.hex() for raw in raw_transactions]
        ])
        if "error" in answer:
            raise RollupError(f"the L2 node builds no based block: {answer['error']['message']}")
        built = answer["result"]
        if self.l1 is None:
            raise RollupError("no L1 endpoint given")
        sequencing = self.l1.eth.contract(
            to_checksum_address(built["sequencing"]), abi=compile_contract("Sequencing").abi
        )
        certificate = (
            Certificate.from_json(built["slotEnding"]).as_struct()
            if built["slotEnding"] else NO_CERTIFICATE
        )
        stateless_input = bytes.fromhex(built["input"][2:])
        call = sequencing.functions.build_based(certificate, stateless_input, [], [], [], b"")
        # Wrong slot, wrong parent, stale: the contract's reason.
        return self._send_on_l1(call, key, BASED_BLOCK_GAS, "L1 refuses the based block")


def revert_reason(error: Exception) -> str:
    """The reason a contract gave for reverting, without the client library's wrapping."""
    message = getattr(error, "message", None) or str(error)
    return message.removeprefix("execution reverted: ") or "reverted without a reason"
