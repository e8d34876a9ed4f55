# pragma version ~=0.4.3
"""
@title Swap ledger (an L2 demo contract)
@notice The L2 leg of a cross-domain swap: the payer pays the recipient here
        and the ledger records who paid whom how much under the swap's id,
        where L1 reads it (L2State.vy) in the same based block.
"""

# Must stay the first storage variable: L1 proves `paid[id]` at slot 0.
paid: public(HashMap[bytes32, bytes32])

event Paid:
    id: indexed(bytes32)
    payer: indexed(address)
    recipient: indexed(address)
    amount: uint256


@external
@payable
@nonreentrant
def pay(id: bytes32, recipient: address):
    """@notice Pay `msg.value` to `recipient` as swap `id`'s L2 leg (once per id)."""
    assert self.paid[id] == empty(bytes32), "ledger: swap already paid"
    assert msg.value > 0, "ledger: nothing paid"
    self.paid[id] = keccak256(abi_encode(msg.sender, recipient, msg.value))
    raw_call(recipient, b"", value=msg.value)
    log Paid(id=id, payer=msg.sender, recipient=recipient, amount=msg.value)
