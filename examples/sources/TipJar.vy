# pragma version ~=0.4.0
"""
@title TipJar
@notice An L2 contract: anyone tips a creator in ether; the creator takes the
        tips out (and may withdraw them to L1 through the message passer).
"""

event Tipped:
    tipper: indexed(address)
    amount: uint256
    note: String[64]

creator: public(address)
tipped: public(HashMap[address, uint256])


@deploy
def __init__(creator: address):
    self.creator = creator


@external
@payable
def tip(note: String[64]):
    assert msg.value > 0, "tip: nothing sent"
    self.tipped[msg.sender] += msg.value
    log Tipped(tipper=msg.sender, amount=msg.value, note=note)


@external
def take():
    assert msg.sender == self.creator, "take: only the creator"
    send(self.creator, self.balance)
