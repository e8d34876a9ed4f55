"""
Cross-domain programs inside one based block, as demos and tests use them:
an atomic swap of L1 ether for L2 ether between two users (``CrossSwap`` on
L1 reads the ``SwapLedger`` payment on L2 from the just-settled state), a
deposit spent on L2 and withdrawn again in the same L1 transaction, a
flash loan from L1 used on L2 and repaid on L1 (``FlashLender``), and a
synchronous L1 -> L2 -> L1 call (``L1Initiator`` calls ``L2Tally``, which
bumps ``L1Counter`` under try/catch) through an execution table.
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
from .execution_table import ExecutionTableBuilder
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


def deploy_on_l2(rollup, deployer: DevAccount, name: str, *arguments, value: int = 0) -> str:
    """Deploy contract ``name`` on ``rollup``'s L2 (in a sequenced block); its address."""
    compiled = compile_contract(name)
    sent = rollup.l2_web3.eth.contract(abi=compiled.abi, bytecode=compiled.bytecode).constructor(
        *arguments
    ).transact({"from": deployer.checksum_address, "value": value})
    receipt = rollup.l2_web3.eth.get_transaction_receipt(sent)
    if receipt is None or receipt.status != 1:
        raise RollupError(f"{name} did not deploy on L2 (is the sequencer waiting?)")
    return receipt.contractAddress


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
        ledger = deploy_on_l2(rollup, deployer, "SwapLedger")
        l2_state = L1Contract.deploy(rollup.l1, "L2State", deployer.checksum_address)
        swaps = L1Contract.deploy(
            rollup.l1, "CrossSwap", deployer.checksum_address, rollup.address,
            l2_state.address, ledger, False,
        )
        return cls(rollup, ledger, l2_state, swaps)

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
    deposit, message = builder.deposit(user.address, amount)
    withdraw = withdrawal_transaction(builder.rollup, user, withdrawn, user.address, nonce=0)
    based = builder.build(
        [withdraw], before=[deposit], new_messages=[message], slot_ending=slot_ending
    )
    return based, claim_after(builder, based, user.address, user.address, withdrawn)


def withdrawal_transaction(rollup, user, amount: int, recipient: str, nonce: int):
    """``user`` (an eth_account key) withdrawing ``amount`` to ``recipient`` on L1, signed."""
    withdraw = rollup.message_passer.functions.initiate_withdrawal(recipient).build_transaction({
        "from": user.address, "value": amount, "gas": WITHDRAWAL_GAS, "nonce": nonce,
        "maxFeePerGas": 2 * rollup.l2.head().base_fee_per_gas + 1, "maxPriorityFeePerGas": 0,
        "chainId": rollup.config.l2_chain_id,
    })
    signed = Account.sign_transaction(withdraw, user.key).raw_transaction
    return rollup.l2.vm_class.get_transaction_builder().decode(bytes(signed))


def claim_after(
    builder: BasedBuilder, based: BasedBlock, sender: str, recipient: str, amount: int
) -> Withdrawal:
    """
    Claim on L1, after ``based``'s L2 block, the block's one withdrawal (an
    action appended to it); the withdrawal. The rollup's finality delay must be 0.
    """
    rollup = builder.rollup
    # The message passer's next nonce at the parent: the block's only withdrawal.
    nonce = rollup.message_passer.functions.message_nonce().call()
    withdrawal = Withdrawal(
        rollup.config.l2_chain_id, nonce, sender, recipient, amount, based.block.number
    )
    slot = int.from_bytes(sent_message_slot(withdrawal.message_hash), "big")
    account_proof, storage_proof = builder.storage_proof(based, L2_MESSAGE_PASSER, slot)
    based.after.append(Action(rollup.address, rollup.contract.compiled.encode_call(
        "claim_withdrawal", *withdrawal.claim_arguments(), based.block.number, account_proof,
        storage_proof,
    )))
    return withdrawal


# The flash loan's L2 side: gas for a desk trade, and ether the borrower keeps back for gas.
TRADE_GAS = 100_000
GAS_RESERVE = 10**16
# Gas flash() adds to the based block's: its deposit (a queue entry: several fresh slots),
# the calls, the balance check. build_based gets what a direct landing would, though it is
# a call here, which passes on at most 63/64 of what is left (EIP-150).
FLASH_GAS = 400_000


@dataclass
class FlashLoanDesk:
    """The flash loan's contracts: the lender on L1, and an L2 desk where borrowed ether earns."""

    rollup: object
    lender: L1Contract
    desk: str

    @classmethod
    def deploy(
        cls, rollup, deployer: DevAccount, liquidity: int, reserves: int, premium_bps: int = 500
    ) -> "FlashLoanDesk":
        """
        The lender on L1 with ``liquidity``, the desk on L2 with ``reserves``,
        which the deployer also escrows on L1 (a deposit to itself): the L2's
        genesis ether is backed by nothing, and what the borrower earns at the
        desk leaves through the rollup's escrow.
        """
        desk = deploy_on_l2(rollup, deployer, "ArbitrageDesk", premium_bps, value=reserves)
        if reserves:
            rollup.deposit(deployer.checksum_address, reserves)
        lender = L1Contract.deploy(
            rollup.l1, "FlashLender", deployer.checksum_address, rollup.address,
            rollup.sequencing.address,
        )
        rollup.l1.eth.send_transaction(
            {"from": deployer.checksum_address, "to": lender.address, "value": liquidity}
        )
        return cls(rollup, lender, desk)

    def borrow(
        self, builder: BasedBuilder, borrower, amount: int, repaid: int, slot_ending
    ) -> Tuple[BasedBlock, Withdrawal]:
        """
        The based block of a flash loan of ``amount`` to ``borrower`` (an
        eth_account key, with nothing on L2): the lender's deposit taken in,
        the borrower trading all but a gas reserve at the desk and withdrawing
        ``repaid`` to the lender, and the claim of that withdrawal after it.
        """
        message = builder.deposit_message(self.lender.address, borrower.address, amount)
        trade = Account.sign_transaction({
            "to": self.desk, "value": amount - GAS_RESERVE, "gas": TRADE_GAS,
            "data": compile_contract("ArbitrageDesk").encode_call("trade"),
            "maxFeePerGas": 2 * self.rollup.l2.head().base_fee_per_gas + 1,
            "maxPriorityFeePerGas": 0, "nonce": 0, "chainId": self.rollup.config.l2_chain_id,
        }, borrower.key).raw_transaction
        trade = self.rollup.l2.vm_class.get_transaction_builder().decode(bytes(trade))
        repay = withdrawal_transaction(self.rollup, borrower, repaid, self.lender.address, nonce=1)
        based = builder.build([trade, repay], new_messages=[message], slot_ending=slot_ending)
        return based, claim_after(builder, based, borrower.address, self.lender.address, repaid)

    def land(self, builder: BasedBuilder, based: BasedBlock, borrower: str, amount: int, fee: int):
        """Send the loan to L1: the lender lends, lands ``based`` and checks it is repaid."""
        return self.lender.send(
            "flash", borrower, amount, fee, *based.arguments(), sender=builder.key.checksum_address,
            value=based.value, gas=builder.landing_gas(based) * 64 // 63 + FLASH_GAS,
        )


@dataclass
class TallyDemo:
    """
    The synchronous-call demo's contracts: ``L1Initiator`` and ``L1Counter``
    on L1, ``L2Tally`` on L2. The initiator calls the tally (into L2), which
    bumps the counter (back into L1) in a subcall it catches.
    """

    rollup: object
    tally: str
    counter: L1Contract
    initiator: L1Contract

    @classmethod
    def deploy(cls, rollup, deployer: DevAccount) -> "TallyDemo":
        """Deploy the tally on L2 (a sequenced block) and the L1 contracts (L1 must mine)."""
        tally = deploy_on_l2(rollup, deployer, "L2Tally")
        counter = L1Contract.deploy(rollup.l1, "L1Counter", deployer.checksum_address)
        initiator = L1Contract.deploy(
            rollup.l1, "L1Initiator", deployer.checksum_address, rollup.cross_calls.address
        )
        return cls(rollup, tally, counter, initiator)

    def run(self, amount: int, fail_after: bool = False, initiator=None) -> Action:
        """
        The L1 action: the initiator (or ``initiator``) calls the tally, which
        bumps the counter by ``amount`` and, with ``fail_after``, fails after it.
        """
        initiator = initiator or self.initiator
        data = compile_contract("L2Tally").encode_call(
            "tally", self.counter.address, amount, fail_after
        )
        return Action(
            initiator.address, compile_contract("L1Initiator").encode_call("run", self.tally, data)
        )

    def build_call(
        self, builder: BasedBuilder, certificate, amount: int, fail_after: bool = False
    ) -> BasedBlock:
        """The based block of one such call, with its execution table."""
        tables = ExecutionTableBuilder(builder)
        return tables.build(after=[self.run(amount, fail_after)], slot_ending=certificate)
