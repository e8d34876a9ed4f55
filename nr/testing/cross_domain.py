"""Assertions across L1 and an L2: a deposit credited on L2, a withdrawal claimable on L1."""

from contextlib import contextmanager
from typing import Iterator, Optional

from web3 import Web3
from web3.exceptions import ContractLogicError, Web3RPCError

from rollup.l1_contract import RollupError
from rollup.rollup import Rollup, Withdrawal

from .arguments import InvalidArgument, an_address, hidden_when_refusing, whole_number
from .revert_sites import node_message, revert_of

# A helper refusing what a test gave it points at the test's line, not its own.
__tracebackhide__ = hidden_when_refusing(InvalidArgument)


def deposit(
    rollup: Rollup, sender: str, amount: int, recipient: Optional[str] = None, within: int = 1
) -> int:
    """
    Deposit ``amount`` wei on L1 and assert it is credited to ``recipient`` on
    L2 within ``within`` L2 blocks of the sequencer; the L2 block that did.
    """
    sender, recipient = parties("deposit", sender, recipient)
    whole_number(within, "deposit: within", least=1, why="L2 blocks to credit it in")
    affordable("deposit", rollup.l1, "L1", sender, amount)
    before = rollup.l2_balance(recipient)
    with refusals_said("deposit"):
        index = rollup.deposit(sender, amount, recipient)
    for _ in range(within):
        number = rollup.sequencer.take_in_messages()
        if rollup.l2_balance(recipient) == before + amount:
            return number
    raise AssertionError(
        f"deposit {index} of {amount} wei to {recipient} was not credited on L2 within"
        f" {within} L2 blocks: the balance went from {before} to {rollup.l2_balance(recipient)}"
    )


def withdraw(
    rollup: Rollup, sender: str, amount: int, recipient: Optional[str] = None
) -> Withdrawal:
    """
    Withdraw on L2, settle on L1, wait out the finality delay and assert the
    claim would go through (a call, nothing sent); the withdrawal, to claim.
    """
    sender, recipient = parties("withdraw", sender, recipient)
    affordable("withdraw", rollup.l2_web3, "L2", sender, amount)
    with refusals_said("withdraw"):
        withdrawal = rollup.withdraw(sender, amount, recipient)
    rollup.sequencer.settle()
    assert_not_claimable_yet(rollup, withdrawal)
    rollup.l1.provider.make_request("evm_increaseTime", [rollup.config.finality_delay])
    rollup.l1.provider.make_request("evm_mine", [])
    refusal = claim_refusal(rollup, withdrawal)
    if refusal is not None:
        raise AssertionError(
            f"the withdrawal of {amount} wei from {sender} is not claimable after finality"
            f" ({rollup.config.finality_delay} s): {refusal}"
        )
    return withdrawal


def parties(operation: str, sender, recipient) -> tuple:
    """The sender's and the recipient's (the sender's by default) checksummed addresses."""
    sender = an_address(sender, f"{operation}: sender")
    return sender, sender if recipient is None else an_address(recipient, f"{operation}: recipient")


def affordable(operation: str, web3: Web3, chain: str, sender: str, amount) -> None:
    """InvalidArgument unless ``amount`` is wei ``sender`` has on that chain (gas aside)."""
    whole_number(amount, f"{operation}: amount")
    balance = web3.eth.get_balance(sender)
    if amount > balance:
        raise InvalidArgument(
            f"{operation}: {sender} has {balance} wei on {chain}, less than the {amount} wei to"
            f" {operation}"
        )


@contextmanager
def refusals_said(operation: str) -> Iterator[None]:
    """
    A revert, or a node's refusal, of ``operation`` as a RollupError with the
    reason (as the rollup's own L1 operations raise it), not web3.py's error.
    """
    try:
        yield
    except ContractLogicError as reverted:
        raise RollupError(f"{operation}: {revert_of(reverted)[0] or 'reverted'}") from None
    except Web3RPCError as refused:
        raise RollupError(f"{operation}: the node refused it: {node_message(refused)}") from None


def claim_refusal(rollup: Rollup, withdrawal: Withdrawal) -> Optional[str]:
    """Why L1 would refuse the claim now (a call against the settled head), or None."""
    settled = rollup.settled_head()
    account_proof, storage_proof = rollup.withdrawal_proof(withdrawal, settled)
    try:
        rollup.contract.contract.functions.claim_withdrawal(
            *withdrawal.claim_arguments(), settled, account_proof, storage_proof
        ).call({"from": withdrawal.recipient})
    except ContractLogicError as refused:
        return str(refused.message).removeprefix("execution reverted: ")
    return None


def assert_not_claimable_yet(rollup: Rollup, withdrawal: Withdrawal) -> None:
    if rollup.config.finality_delay > 0 and claim_refusal(rollup, withdrawal) is None:
        raise AssertionError("the withdrawal is claimable before the finality delay has passed")
