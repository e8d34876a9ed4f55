# pragma version ~=0.4.3
"""
@title A smart-contract wallet (for drills and tests)
@notice Writes storage whenever it is paid (more than send()'s 2300 gas
        allows), can refuse payment, and can call out (to claim what it is
        owed). Withdrawals and unpaid deposits must reach wallets like it.
"""

accepting: public(bool)
received: public(uint256)


@deploy
def __init__(accepting: bool):
    self.accepting = accepting


@external
@payable
def __default__():
    assert self.accepting, "wallet: not accepting"
    self.received += msg.value


@external
def set_accepting(accepting: bool):
    self.accepting = accepting


@external
def call(target: address, data: Bytes[256]):
    raw_call(target, data)
