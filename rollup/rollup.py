"""
A demo rollup as one object: its L1 contract, its L2 node and its sequencer,
with the user's operations (deposit, withdraw, claim, force_include). The CLI
and the tests both go through here.
"""

from dataclasses import dataclass
from functools import cached_property
from typing import Optional, Tuple, Union

from eth_abi import encode as abi_encode
from eth_account import Account
from eth_hash.auto import keccak
from eth_utils import to_checksum_address
from web3 import Web3

from contracts import compile_contract
from l1.accounts import DevAccount, derive_accounts
from l1.node import Devnet
from l1.state_proofs import prove_account

from .governance import Governance, ScheduledAction
from .l1_contract import L1Contract, RollupError
from .l2 import L2_MESSAGE_PASSER, OPERATOR_ACCOUNT, l2_node
from .sequencer import Sequencer
from .stages import StageConfig, load_preset

# Of the standard test accounts (the same keys on L1 and every L2): the
# sequencer signs L2 relays and L1 settlements, the operator holds the
# rollup's admin key (OPERATOR_ACCOUNT). Accounts 0-7 stay free for users.
SEQUENCER_ACCOUNT = 8
# Storage slot of L2MessagePasser.sent_messages (its first variable).
SENT_MESSAGES_SLOT = 0
# initiate_withdrawal writes two fresh slots and logs: about 70k gas; room to spare.
WITHDRAWAL_GAS = 150_000


@dataclass(frozen=True)
class Withdrawal:
    """An L2 -> L1 withdrawal as the message passer recorded it."""

    chain_id: int
    nonce: int
    sender: str
    recipient: str
    amount: int
    l2_block: int

    @property
    def message_hash(self) -> bytes:
        return keccak(abi_encode(
            ["uint256", "uint256", "address", "address", "uint256"],
            [self.chain_id, self.nonce, self.sender, self.recipient, self.amount],
        ))

    def claim_arguments(self) -> tuple:
        return (self.chain_id, self.nonce, self.sender, self.recipient, self.amount)


def sent_message_slot(message_hash: bytes) -> bytes:
    """Where Vyper keeps ``sent_messages[message_hash]``: keccak(slot || key)."""
    return keccak(SENT_MESSAGES_SLOT.to_bytes(32, "big") + message_hash)


def withdrawal_from(message_passer, l2_chain_id: int, receipt) -> Withdrawal:
    """The withdrawal an L2 transaction's receipt records; RollupError if it started none."""
    if receipt.status != 1:
        raise RollupError("initiate_withdrawal failed on L2")
    events = message_passer.events.WithdrawalInitiated().process_receipt(receipt)
    if not events:
        transaction_hash = bytes(receipt.transactionHash).hex()
        raise RollupError(f"L2 transaction 0x{transaction_hash} withdrew nothing")
    event = events[0].args
    return Withdrawal(
        l2_chain_id, event.nonce, event.sender, event.recipient, event.amount,
        receipt.blockNumber,
    )


def parties(
    stage: Union[int, str, StageConfig], operator: Optional[DevAccount],
    sequencer: Optional[DevAccount],
) -> Tuple[StageConfig, DevAccount, DevAccount]:
    """The stage's config, and the operator and sequencer keys (the standard ones by default)."""
    config = stage if isinstance(stage, StageConfig) else load_preset(stage)
    accounts = derive_accounts()
    return (
        config, operator or accounts[OPERATOR_ACCOUNT], sequencer or accounts[SEQUENCER_ACCOUNT]
    )


def deploy_contracts(
    l1: Web3, config: StageConfig, l2: Devnet, owner: str, sequencer: str
) -> Tuple[L1Contract, Governance, L1Contract]:
    """
    For a new L2 chain: its ``NativeRollup`` on ``l1`` (``sequencer`` may
    propose), the ``Governance`` that is its admin (owned by ``owner``) and
    the ``BugRecord`` where a bug in EXECUTE for this chain can be proven.
    """
    genesis = l2.head()
    bug_record = L1Contract.deploy(l1, "BugRecord", owner, config.l2_chain_id)
    governance = L1Contract.deploy(
        l1, "Governance", owner, *config.governance_arguments(owner, bug_record.address)
    )
    contract = L1Contract.deploy(
        l1, "NativeRollup", owner, config.l2_chain_id, genesis.hash, genesis.state_root,
        governance.address, owner, sequencer, config.contract_parameters(),
    )
    return contract, Governance(governance), bug_record


class Rollup:
    def __init__(
        self, l1: Web3, contract: L1Contract, governance: Governance, l2: Devnet,
        config: StageConfig, sequencer: Sequencer, operator: DevAccount, bug_record: L1Contract,
    ) -> None:
        self.l1, self.contract, self.l2, self.config = l1, contract, l2, config
        self.governance, self.sequencer, self.operator = governance, sequencer, operator
        self.bug_record = bug_record
        self.l2_web3 = l2.web3()

    @classmethod
    def deploy(
        cls,
        l1: Web3,
        stage: Union[int, str, StageConfig] = 1,
        operator: Optional[DevAccount] = None,
        sequencer: Optional[DevAccount] = None,
    ) -> "Rollup":
        """
        A new L2 chain for the stage's preset, its ``NativeRollup`` on ``l1``,
        the ``Governance`` that is its admin (owned by the operator) and the
        ``BugRecord`` where a bug in EXECUTE for this chain can be proven.
        """
        config, operator, sequencer = parties(stage, operator, sequencer)
        l2 = l2_node(config)
        contract, governance, bug_record = deploy_contracts(
            l1, config, l2, operator.checksum_address, sequencer.checksum_address
        )
        return cls(
            l1, contract, governance, l2, config,
            Sequencer(contract, l2, sequencer), operator, bug_record,
        )

    @property
    def address(self) -> str:
        return self.contract.address

    # -- L1 -> L2 --

    def deposit(self, sender: str, amount: int, recipient: Optional[str] = None) -> int:
        """Lock ``amount`` wei from ``sender`` on L1 for ``recipient`` on L2; the message index."""
        self.contract.transact("deposit", recipient or sender, sender=sender, value=amount)
        return self.contract.view("message_count")

    def force_include(self, sender: str, signed_l2_transaction: bytes) -> int:
        """
        Queue a signed L2 transaction on L1, past the sequencer; the message
        index. It bonds FORCING_BOND_GAS at twice the latest base fee (it may
        rise by the block it lands in); what is over is owed back at once
        (withdraw_bonds).
        """
        base_fee = self.l1.eth.get_block("latest").baseFeePerGas
        bond = self.contract.view("FORCING_BOND_GAS") * base_fee
        self.contract.transact(
            "force_include", signed_l2_transaction, sender=sender, value=2 * bond
        )
        return self.contract.view("message_count")

    # -- L2 -> L1 --

    @cached_property
    def message_passer(self):
        return self.l2_web3.eth.contract(
            to_checksum_address(L2_MESSAGE_PASSER), abi=compile_contract("L2MessagePasser").abi
        )

    def withdraw(self, sender: str, amount: int, recipient: Optional[str] = None) -> Withdrawal:
        """Start a withdrawal on L2 (from an account the L2 node holds the key of)."""
        transaction_hash = self.message_passer.functions.initiate_withdrawal(
            recipient or sender
        ).transact({"from": sender, "value": amount})
        return self.withdrawal_in(transaction_hash)

    def withdrawal_in(self, transaction_hash: bytes) -> Withdrawal:
        """The withdrawal an L2 transaction started, from its receipt."""
        receipt = self.l2_web3.eth.get_transaction_receipt(transaction_hash)
        return withdrawal_from(self.message_passer, self.config.l2_chain_id, receipt)

    def sign_withdrawal(
        self, account: DevAccount, amount: int, recipient: Optional[str] = None
    ) -> bytes:
        """
        A signed L2 transaction withdrawing ``amount`` to ``recipient`` on L1:
        what a user hands to ``force_include`` when the sequencer ignores them.
        """
        transaction = self.message_passer.functions.initiate_withdrawal(
            recipient or account.checksum_address
        ).build_transaction({
            "from": account.checksum_address,
            "value": amount,
            "gas": WITHDRAWAL_GAS,
            "nonce": self.l2_web3.eth.get_transaction_count(account.checksum_address),
            "maxFeePerGas": 2 * self.l2.head().base_fee_per_gas + 1,
            "maxPriorityFeePerGas": 0,
            "chainId": self.config.l2_chain_id,
        })
        return bytes(Account.sign_transaction(transaction, account.private_key).raw_transaction)

    def withdrawal_proof(self, withdrawal: Withdrawal, l2_block: int) -> Tuple[list, list]:
        """Account and storage proofs of the withdrawal in the state after ``l2_block``."""
        state_root = self.l2.block(l2_block).header.state_root
        slot = int.from_bytes(sent_message_slot(withdrawal.message_hash), "big")
        proven = prove_account(self.l2.chain.chaindb.db, state_root, L2_MESSAGE_PASSER, [slot])
        return list(proven.proof), list(proven.storage[0].proof)

    def claim_call(self, withdrawal: Withdrawal, l2_block: Optional[int] = None) -> tuple:
        """
        The arguments of ``claim_withdrawal``: the withdrawal proven against
        the settled L2 state root of ``l2_block`` (the latest settled one by
        default). The rollup and its wind-down successor take the same.
        """
        settled = self.contract.view("head_number")
        if settled < withdrawal.l2_block:
            raise RollupError(
                f"claim: L2 block {withdrawal.l2_block} is not settled yet (L1 has {settled})"
            )
        l2_block = settled if l2_block is None else l2_block
        account_proof, storage_proof = self.withdrawal_proof(withdrawal, l2_block)
        return (*withdrawal.claim_arguments(), l2_block, account_proof, storage_proof)

    def claim(
        self, withdrawal: Withdrawal, sender: Optional[str] = None, l2_block=None,
        gas: Optional[int] = None,
    ):
        """
        Claim on L1, proving the withdrawal against the latest settled L2
        state root; with ``gas``, sent without an estimate (which runs the
        proof checks over and over).
        """
        return self.contract.transact(
            "claim_withdrawal", *self.claim_call(withdrawal, l2_block),
            sender=sender or withdrawal.recipient, gas=gas,
        )

    # -- governance --

    def propose_upgrade(self, successor: str) -> ScheduledAction:
        """
        The operator hands the rollup (and its escrow) to ``successor``: at
        once where the upgrade delay is 0 (Stage 0), else after it.
        """
        data = self.contract.compiled.encode_call("upgrade_to", successor)
        action = self.governance.schedule(self.address, data, self.operator.checksum_address)
        if self.config.upgrade_delay == 0:
            self.governance.execute(action.id, self.operator.checksum_address)
        return action

    # -- reading --

    def l2_balance(self, address: str) -> int:
        return self.l2_web3.eth.get_balance(to_checksum_address(address))

    def settled_head(self) -> int:
        return self.contract.view("head_number")
