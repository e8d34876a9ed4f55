# pragma version ~=0.4.3
"""
@title Flash lender across L1 and L2 (a demo)
@notice Lends its ether to an L2 account for one based block and takes it
        back, with a fee, before the L1 transaction ends. `flash` deposits
        the loan for the borrower, lands the based block (whose L2
        transactions use the loan and withdraw it back here, and whose
        actions after the L2 block claim that withdrawal), then checks that
        the loan and the fee are back. If not, the whole transaction
        reverts: the deposit, the L2 block and everything it did, on both
        chains. The lender never depends on the builder's assertions.
"""

import NativeRollup
import Sequencing
import execute_input

event FlashLoan:
    borrower: indexed(address)
    amount: uint256
    fee: uint256

rollup: public(NativeRollup.__interface__)
sequencing: public(Sequencing.__interface__)


@deploy
@payable
def __init__(rollup: address, sequencing: address):
    self.rollup = NativeRollup.__interface__(rollup)
    self.sequencing = Sequencing.__interface__(sequencing)


@external
@payable
def __default__():
    """@notice Liquidity, and loans coming back (the rollup pays withdrawals claimed to us)."""
    pass


@external
@payable
@nonreentrant
def flash(
    borrower: address,
    amount: uint256,
    fee: uint256,
    slot_ending: Sequencing.Certificate,
    stateless_input: Bytes[execute_input.MAX_INPUT_BYTES],
    before: DynArray[Sequencing.Action, Sequencing.MAX_ACTIONS],
    after: DynArray[Sequencing.Action, Sequencing.MAX_ACTIONS],
    assertions: DynArray[Sequencing.Assertion, Sequencing.MAX_ACTIONS],
    calls: Bytes[Sequencing.MAX_TABLE_BYTES],
):
    """
    @notice Lend `amount` to `borrower` on L2 for the based block given (as
            Sequencing.build_based takes it; `msg.value` pays its actions)
            and require `amount` + `fee` back by its end.
    """
    start: uint256 = self.balance - msg.value
    assert amount > 0 and amount <= start, "flash: the lender cannot lend that much"
    extcall self.rollup.deposit(borrower, value=amount)
    extcall self.sequencing.build_based(
        slot_ending, stateless_input, before, after, assertions, calls, value=msg.value
    )
    assert self.balance >= start + fee, "flash: the loan and its fee did not come back"
    log FlashLoan(borrower=borrower, amount=amount, fee=fee)
