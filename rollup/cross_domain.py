"""
Cross-domain programs inside one based block, as demos and tests use them:
an atomic swap of L1 ether for L2 ether between two users (``CrossSwap`` on
L1 reads the ``SwapLedger`` payment on L2 from the just-settled state), and
a deposit spent on L2 and withdrawn again in the same L1 transaction.
"""

from dataclasses import dataclass
from typing import Tuple

from eth_abi import encode as abi_encode
from eth_account import Account
from eth_hash.auto import keccak
from eth_utils import to_canonical_address

from contracts import compile_contract
from l1.accounts import DevAccount

from .based import Action, BasedBlock, BasedBuilder
from .l1_contract import L1Contract, RollupError
from .l2 import L2_MESSAGE_PASSER
from .rollup import WITHDRAWAL_GAS, Withdrawal, sent_message_slot

# SwapLedger.paid is its first storage variable.
PAID_SLOT = 0
LEDGER_GAS = 100_000


def signed_l2_transaction(rollup, sender: DevAccount, transaction: dict):
    """``transaction`` signed by ``sender`` for ``rollup``'s L2, as its node holds it."""
    filled = {
        "maxFeePerGas": 2 * rollup.l2.head().base_fee_per_gas + 1,
        "maxPriorityFeePerGas": 0,
        "chainId": rollup.config.l2_chain_id,
        "nonce": rollup.l2.state_at().get_nonce(to_canonical_address(sender.address)),
        **transaction,
    }
    raw = Account.sign_transaction(filled, sender.private_key).raw_transaction
    return rollup.l2.vm_class.get_transaction_builder().decode(bytes(raw))


@dataclass
class SwapDesk:
    """The swap's contracts: the L2 ledger and, on L1, the L2 state reader and the swap."""

    rollup: object
    ledger: str
    l2_state: L1Contract
    swaps: L1Contract

    @classmethod
    def deploy(cls, rollup, deployer: DevAccount) -> "SwapDesk":
        """Deploy the ledger on L2 (a sequenced block) and the L1 contracts."""
        l2 = rollup.l2_web3
        ledger = compile_contract("SwapLedger")
        sent = l2.eth.contract(abi=ledger.abi, bytecode=ledger.bytecode).constructor().transact(
            {"from": deployer.checksum_address}
        )
        receipt = l2.eth.get_transaction_receipt(sent)
        if receipt is None or receipt.status != 1:
            raise RollupError("the swap ledger did not deploy on L2 (is the sequencer waiting?)")
        l2_state = L1Contract.deploy(rollup.l1, "L2State", deployer.checksum_address)
        swaps = L1Contract.deploy(
            rollup.l1, "CrossSwap", deployer.checksum_address, rollup.address,
            l2_state.address, receipt.contractAddress, False,
        )
        return cls(rollup, receipt.contractAddress, l2_state, swaps)

    def pay(self, payer: DevAccount, swap_id: bytes, recipient: str, amount: int):
        """The L2 leg: ``payer`` pays ``recipient`` ``amount`` under ``swap_id``."""
        data = compile_contract("SwapLedger").encode_call("pay", swap_id, recipient)
        return signed_l2_transaction(self.rollup, payer, {
            "to": self.ledger, "value": amount, "data": data, "gas": LEDGER_GAS,
        })

    def take(self, builder: BasedBuilder, based: BasedBlock, swap_id: bytes) -> Action:
        """The L1 leg, after ``based``'s L2 block: take the offer, proving the L2 payment."""
        slot = paid_slot(swap_id)
        account_proof, storage_proof = builder.storage_proof(
            based, to_canonical_address(self.ledger), slot
        )
        data = self.swaps.compiled.encode_call(
            "take", swap_id, based.block.number, account_proof, storage_proof
        )
        return Action(self.swaps.address, data)


def paid_slot(swap_id: bytes) -> int:
    """Where the ledger keeps ``paid[swap_id]``: keccak(slot || key), as Vyper lays out maps."""
    return int.from_bytes(keccak(PAID_SLOT.to_bytes(32, "big") + swap_id), "big")


def payment_record(payer: str, recipient: str, amount: int) -> bytes:
    """What the ledger records for a payment (and the swap expects)."""
    return keccak(abi_encode(["address", "address", "uint256"], [payer, recipient, amount]))


def deposit_and_withdraw(
    builder: BasedBuilder, user, amount: int, withdrawn: int, slot_ending
) -> Tuple[BasedBlock, Withdrawal]:
    """
    One based block in which ``amount`` deposited on L1 for ``user`` (an
    eth_account key) is partly withdrawn on L2 and claimed back on L1.
    """
    rollup = builder.rollup
    deposit, message = builder.deposit(user.address, amount)
    withdraw = rollup.message_passer.functions.initiate_withdrawal(user.address).build_transaction({
        "from": user.address, "value": withdrawn, "gas": WITHDRAWAL_GAS, "nonce": 0,
        "maxFeePerGas": 2 * rollup.l2.head().base_fee_per_gas + 1, "maxPriorityFeePerGas": 0,
        "chainId": rollup.config.l2_chain_id,
    })
    signed = Account.sign_transaction(withdraw, user.key).raw_transaction
    signed = rollup.l2.vm_class.get_transaction_builder().decode(bytes(signed))
    based = builder.build(
        [signed], before=[deposit], new_messages=[message], slot_ending=slot_ending
    )
    # The message passer's next nonce at the parent: the block's only withdrawal.
    nonce = rollup.message_passer.functions.message_nonce().call()
    withdrawal = Withdrawal(
        rollup.config.l2_chain_id, nonce, user.address, user.address, withdrawn,
        based.block.number,
    )
    slot = int.from_bytes(sent_message_slot(withdrawal.message_hash), "big")
    account_proof, storage_proof = builder.storage_proof(based, L2_MESSAGE_PASSER, slot)
    based.after.append(Action(rollup.address, rollup.contract.compiled.encode_call(
        "claim_withdrawal", *withdrawal.claim_arguments(), based.block.number, account_proof,
        storage_proof,
    )))
    return based, withdrawal
