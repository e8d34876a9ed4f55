# pragma version ~=0.4.3
"""
@title A counter on L1 that L2 code bumps inside a based block (a demo of synchronous calls)
@notice It refuses a bump above LIMIT, and records which L2 contract bumped
        it last (`l2_sender()` of the calling cross-call contract).
"""

interface CrossCalls:
    def l2_sender() -> address: view

LIMIT: public(constant(uint256)) = 100

count: public(uint256)
last_l2_sender: public(address)


@external
def bump(amount: uint256) -> uint256:
    """@notice Add `amount` (at most LIMIT); the new count."""
    assert amount <= LIMIT, "counter: bump above the limit"
    self.count += amount
    self.last_l2_sender = staticcall CrossCalls(msg.sender).l2_sender()
    return self.count
