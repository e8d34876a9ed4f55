"""Assertions across L1 and an L2: a deposit credited on L2, a withdrawal claimable on L1."""

from typing import Optional

from web3.exceptions import ContractLogicError

from rollup.rollup import Rollup, Withdrawal


def deposit(
    rollup: Rollup, sender: str, amount: int, recipient: Optional[str] = None, within: int = 1
) -> int:
    """
    Deposit ``amount`` wei on L1 and assert it is credited to ``recipient`` on
    L2 within ``within`` L2 blocks of the sequencer; the L2 block that did.
    """
    recipient = recipient or sender
    before = rollup.l2_balance(recipient)
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
