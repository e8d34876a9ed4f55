# pragma version ~=0.4.3
"""
@title L2 -> L1 withdrawals
@notice What a withdrawal message is, and the check that the L2 message
        passer recorded it in a settled L2 state. The rollup and any contract
        that takes over its escrow judge claims the same way.
"""

import merkle_patricia

# The L2 predeploy that records L2 -> L1 messages; its first storage variable
# is `sent_messages: HashMap[bytes32, bool]`.
L2_MESSAGE_PASSER: constant(address) = 0x4200000000000000000000000000000000000016
SENT_MESSAGES_SLOT: constant(uint256) = 0


@internal
@pure
def message_hash(
    chain_id: uint256, nonce: uint256, sender: address, recipient: address, amount: uint256
) -> bytes32:
    """@notice The withdrawal's identity: the key the message passer records it under."""
    return keccak256(abi_encode(chain_id, nonce, sender, recipient, amount))


@internal
@pure
def check_sent(
    state_root: bytes32,
    message: bytes32,
    account_proof: DynArray[Bytes[merkle_patricia.MAX_NODE_BYTES], merkle_patricia.MAX_PROOF_NODES],
    storage_proof: DynArray[Bytes[merkle_patricia.MAX_NODE_BYTES], merkle_patricia.MAX_PROOF_NODES],
):
    """@notice Revert unless `message` is recorded as sent in the L2 state `state_root`."""
    account: Bytes[merkle_patricia.MAX_NODE_BYTES] = merkle_patricia.verify(
        state_root, keccak256(slice(convert(L2_MESSAGE_PASSER, bytes32), 12, 20)), account_proof
    )
    slot: bytes32 = keccak256(concat(convert(SENT_MESSAGES_SLOT, bytes32), message))
    sent: Bytes[merkle_patricia.MAX_NODE_BYTES] = merkle_patricia.verify(
        merkle_patricia.account_storage_root(account), keccak256(slot), storage_proof
    )
    assert sent == b"\x01", "withdrawal: not sent on L2"
