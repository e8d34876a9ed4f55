# pragma version ~=0.4.3
"""
@title Arbitrage desk (an L2 demo contract)
@notice Buys ether at a premium: pays back what it is sent plus
        `premium_bps` of it, while its reserves last. It stands for any L2
        opportunity that needs capital for one block, which a flash loan
        from L1 supplies (FlashLender.vy).
"""

premium_bps: public(uint256)


@deploy
@payable
def __init__(premium_bps: uint256):
    self.premium_bps = premium_bps


@external
@payable
@nonreentrant
def trade():
    """@notice Send ether; get it back with the premium."""
    paid: uint256 = msg.value + msg.value * self.premium_bps // 10000
    assert self.balance >= paid, "desk: not enough reserves"
    raw_call(msg.sender, b"", value=paid)
