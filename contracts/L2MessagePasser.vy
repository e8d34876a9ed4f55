# pragma version ~=0.4.3
"""
@title L2 -> L1 message passer (L2 predeploy)
@notice Records withdrawals so that L1 can verify them with a storage proof
        against a settled L2 state root. The value sent stays here: on L2 it
        leaves circulation, on L1 the rollup contract pays it out.
"""

# Must stay the first storage variable: L1 proves `sent_messages[hash]` at slot 0.
sent_messages: public(HashMap[bytes32, bool])
message_nonce: public(uint256)
# Who may freeze an account's withdrawals (set in the genesis; empty: no one).
# A regulated L2's operator, or a Security Council contract, holds it.
freezer: public(address)
frozen: public(HashMap[address, bool])

event WithdrawalInitiated:
    message_hash: indexed(bytes32)
    nonce: uint256
    sender: indexed(address)
    recipient: indexed(address)
    amount: uint256


@external
@payable
def initiate_withdrawal(recipient: address) -> bytes32:
    """@notice Withdraw `msg.value` to `recipient` on L1."""
    assert msg.value > 0, "withdrawal: nothing to withdraw"
    assert not self.frozen[msg.sender], "withdrawal: the sender is frozen"
    nonce: uint256 = self.message_nonce
    message: bytes32 = keccak256(abi_encode(chain.id, nonce, msg.sender, recipient, msg.value))
    self.sent_messages[message] = True
    self.message_nonce = nonce + 1
    log WithdrawalInitiated(
        message_hash=message, nonce=nonce, sender=msg.sender, recipient=recipient,
        amount=msg.value,
    )
    return message


@external
def set_frozen(account: address, frozen: bool):
    """@notice The freezer stops (or lets again) `account`'s withdrawals to L1."""
    assert self.freezer != empty(address) and msg.sender == self.freezer, (
        "set_frozen: only the freezer"
    )
    self.frozen[account] = frozen
