# pragma version ~=0.4.3
"""
@title Cross-domain swap (an L1 demo contract)
@notice The L1 leg of swapping L1 ether for L2 ether between two users. The
        maker locks L1 ether for a taker, asking for an amount paid to the
        maker's L2 address through the L2 SwapLedger. The taker pays on L2
        and takes the L1 ether in one based block: the L1 side reads the L2
        payment from the just-settled L2 state, so either both legs happen
        or, the based block reverting, neither does. Deployed `direct`, it
        reads the ledger in its own state: the merged single-EVM reference
        the based block's outcome is checked against.
"""

interface Ledger:
    def paid(id: bytes32) -> bytes32: view

interface L2State:
    def storage_at(
        rollup: address, l2_block: uint256, account: address, slot: bytes32,
        account_proof: DynArray[Bytes[532], 16], storage_proof: DynArray[Bytes[532], 16],
    ) -> uint256: view

# SwapLedger.paid is its first storage variable.
PAID_SLOT: constant(uint256) = 0

struct Offer:
    maker: address
    taker: address
    amount: uint256
    l2_recipient: address
    l2_amount: uint256
    deadline: uint256

event Offered:
    id: indexed(bytes32)
    maker: indexed(address)
    taker: indexed(address)
    amount: uint256
    l2_amount: uint256

event Taken:
    id: indexed(bytes32)
    l2_block: uint256

rollup: public(address)
l2_state: public(address)
ledger: public(address)
# The merged single-EVM reference: the ledger lives in the same state, read directly.
direct: public(bool)
offers: public(HashMap[bytes32, Offer])
closed: public(HashMap[bytes32, bool])


@deploy
def __init__(rollup: address, l2_state: address, ledger: address, direct: bool):
    self.rollup = rollup
    self.l2_state = l2_state
    self.ledger = ledger
    self.direct = direct


@external
@payable
def offer(id: bytes32, taker: address, l2_recipient: address, l2_amount: uint256, deadline: uint256):
    """@notice Lock `msg.value` for `taker`, against `l2_amount` paid to `l2_recipient` on L2."""
    assert self.offers[id].maker == empty(address) and not self.closed[id], "swap: id taken"
    assert msg.value > 0 and l2_amount > 0, "swap: nothing to swap"
    self.offers[id] = Offer(
        maker=msg.sender, taker=taker, amount=msg.value, l2_recipient=l2_recipient,
        l2_amount=l2_amount, deadline=deadline,
    )
    log Offered(id=id, maker=msg.sender, taker=taker, amount=msg.value, l2_amount=l2_amount)


@external
@nonreentrant
def take(
    id: bytes32,
    l2_block: uint256,
    account_proof: DynArray[Bytes[532], 16],
    storage_proof: DynArray[Bytes[532], 16],
):
    """@notice Pay the taker the locked ether once L2 state shows the L2 leg paid as asked."""
    offer: Offer = self.offers[id]
    assert offer.maker != empty(address) and not self.closed[id], "swap: no open offer"
    paid: uint256 = 0
    if self.direct:
        paid = convert(staticcall Ledger(self.ledger).paid(id), uint256)
    else:
        slot: bytes32 = keccak256(concat(convert(PAID_SLOT, bytes32), id))
        paid = staticcall L2State(self.l2_state).storage_at(
            self.rollup, l2_block, self.ledger, slot, account_proof, storage_proof
        )
    expected: bytes32 = keccak256(abi_encode(offer.taker, offer.l2_recipient, offer.l2_amount))
    assert convert(paid, bytes32) == expected, "swap: the L2 leg is not paid as offered"
    self.closed[id] = True
    raw_call(offer.taker, b"", value=offer.amount)
    log Taken(id=id, l2_block=l2_block)


@external
@nonreentrant
def refund(id: bytes32):
    """@notice After the deadline, the maker takes back an offer nobody took."""
    offer: Offer = self.offers[id]
    assert msg.sender == offer.maker, "swap: only the maker"
    assert block.timestamp > offer.deadline, "swap: not expired"
    assert not self.closed[id], "swap: no open offer"
    self.closed[id] = True
    raw_call(offer.maker, b"", value=offer.amount)
