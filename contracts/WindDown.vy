# pragma version ~=0.4.3
"""
@title Wind-down successor of a native rollup
@notice What a rollup's admin may upgrade it to when the L2 stops: it takes
        the retired rollup's escrow and pays out everything the rollup still
        owed, each once, across both contracts. A withdrawal proven against
        the rollup's settled L2 state roots (unless claimed there before the
        upgrade), the bonds the rollup owed, and every L1 message the L2
        never took in (a deposit back to its sender, a forcing bond back to
        its forcer). It reads the rollup's state, frozen by the upgrade.
"""

import NativeRollup
import merkle_patricia
import withdrawal

event WithdrawalClaimed:
    message_hash: indexed(bytes32)
    recipient: indexed(address)
    amount: uint256

event MessageRefunded:
    index: indexed(uint256)
    to: indexed(address)
    amount: uint256

event BondsPaid:
    to: indexed(address)
    amount: uint256


predecessor: public(NativeRollup.__interface__)
# Withdrawals paid here (those paid before the upgrade are the predecessor's `claimed`).
claimed: public(HashMap[bytes32, bool])
# Of the bonds the predecessor owes each address, how much has been paid here.
bonds_paid: public(HashMap[address, uint256])
# Queue positions whose deposit or forcing bond went back to its sender.
refunded: public(HashMap[uint256, bool])


@deploy
def __init__(predecessor: address):
    self.predecessor = NativeRollup.__interface__(predecessor)


@external
@payable
def __default__():
    """@notice The escrow arrives from the predecessor's upgrade_to."""
    assert msg.sender == self.predecessor.address, "wind-down: only the rollup pays in"


@view
@internal
def _check_retired():
    assert staticcall self.predecessor.successor() == self, (
        "wind-down: the rollup has not been upgraded to this contract"
    )


@external
@nonreentrant
def claim_withdrawal(
    chain_id: uint256,
    nonce: uint256,
    sender: address,
    recipient: address,
    amount: uint256,
    l2_block_number: uint256,
    account_proof: DynArray[Bytes[merkle_patricia.MAX_NODE_BYTES], merkle_patricia.MAX_PROOF_NODES],
    storage_proof: DynArray[Bytes[merkle_patricia.MAX_NODE_BYTES], merkle_patricia.MAX_PROOF_NODES],
):
    """
    @notice Pay out a withdrawal the L2 recorded by the rollup's last settled
            block, as the rollup would have, unless it was paid already there
            or here.
    """
    self._check_retired()
    rollup: NativeRollup.__interface__ = self.predecessor
    assert chain_id == convert(staticcall rollup.l2_chain_id(), uint256), (
        "withdrawal: message is for another chain"
    )
    settled: uint256 = staticcall rollup.settled_at(l2_block_number)
    assert settled > 0 and l2_block_number <= staticcall rollup.head_number(), (
        "withdrawal: L2 block not settled"
    )
    parameters: NativeRollup.Parameters = staticcall rollup.parameters()
    assert block.timestamp >= settled + parameters.finality_delay, (
        "withdrawal: L2 block not final yet"
    )
    message: bytes32 = withdrawal.message_hash(chain_id, nonce, sender, recipient, amount)
    assert not staticcall rollup.claimed(message), "withdrawal: already claimed from the rollup"
    assert not self.claimed[message], "withdrawal: already claimed"
    withdrawal.check_sent(
        staticcall rollup.state_root_at(l2_block_number), message, account_proof, storage_proof
    )
    assert self.balance >= amount, "withdrawal: the escrow holds less than the amount"
    self.claimed[message] = True
    raw_call(recipient, b"", value=amount)
    log WithdrawalClaimed(message_hash=message, recipient=recipient, amount=amount)


@external
@nonreentrant
def withdraw_bonds():
    """@notice Take what the rollup owed the caller in bonds and had not paid."""
    self._check_retired()
    owed: uint256 = staticcall self.predecessor.bonds_owed(msg.sender)
    amount: uint256 = owed - self.bonds_paid[msg.sender]
    assert amount > 0, "withdraw_bonds: nothing owed"
    self.bonds_paid[msg.sender] = owed
    raw_call(msg.sender, b"", value=amount)
    log BondsPaid(to=msg.sender, amount=amount)


@external
@nonreentrant
def refund_message(
    index: uint256, kind: uint8, sender: address, recipient: address, amount: uint256,
    data_hash: bytes32,
):
    """
    @notice Give back an L1 message the L2 never took in (queued past the
            last settled block's anchor): a deposit's ether to its sender, a
            forced transaction's bond to its forcer. The message's fields are
            checked against the rollup's queue hash at `index`.
    """
    self._check_retired()
    rollup: NativeRollup.__interface__ = self.predecessor
    assert index > staticcall rollup.messages_anchored(), (
        "refund: the L2 took that message in; it is paid there"
    )
    assert index <= staticcall rollup.message_count(), "refund: no message at that index"
    assert not self.refunded[index], "refund: already refunded"
    message: bytes32 = keccak256(
        abi_encode(kind, staticcall rollup.l2_chain_id(), index, sender, recipient, amount, data_hash)
    )
    assert keccak256(concat(staticcall rollup.queue_hash(index - 1), message)) == (
        staticcall rollup.queue_hash(index)
    ), "refund: not the message queued at that index"
    self.refunded[index] = True
    owed: uint256 = amount
    to: address = sender
    if kind == NativeRollup.FORCED_TRANSACTION:
        # A forced transaction carries no value; its bond (unless a skip paid it) does.
        owed = staticcall rollup.forcing_bond(index)
        to = staticcall rollup.forcer(index)
    assert owed > 0, "refund: nothing to give back"
    raw_call(to, b"", value=owed)
    log MessageRefunded(index=index, to=to, amount=owed)
