# pragma version ~=0.4.3
"""
@title L2 bridge (L2 predeploy, pre-minted)
@notice Pays out L1 deposits. Each L2 block anchors the L1 message queue
        through the EIP-4788 beacon-roots system call (the block's
        parent_beacon_block_root is the L1 queue hash it has taken in);
        `relay` replays the queued messages against that anchor, so only
        messages L1 really queued, in order and once each, are paid.
"""

BEACON_ROOTS: constant(address) = 0x000F3df6D732807Ef1319fB7B8bB8522d0Beac02
MAX_MESSAGES: constant(uint256) = 64
DEPOSIT: constant(uint8) = 0
# A synchronous call from an L1 contract, run in this block by L2CrossCalls.
CALL: constant(uint8) = 2
# Gas a deposit's recipient is given to take it. Bounded, so that a recipient
# that burns whatever it gets (code 0xFE, a precompile failing) cannot leave
# the relay too little to finish: a deposit it does not take is recorded as
# unpaid for it to claim, and the queue moves on.
DEPOSIT_CALL_GAS: constant(uint256) = 100_000
# What the relay needs after a recipient's call returns (the unpaid entry, the log).
AFTER_DEPOSIT_GAS: constant(uint256) = 30_000

struct Message:
    kind: uint8
    index: uint256
    sender: address
    recipient: address
    amount: uint256
    data_hash: bytes32

processed_hash: public(bytes32)
processed_count: public(uint256)
# Deposits a recipient would not take (a reverting contract), claimable later.
unpaid: public(HashMap[address, uint256])
# Calls L1 queued, by message index: keccak(abi_encode(L1 caller, L2 target,
# calldata hash)), what L2CrossCalls checks before it runs one.
calls: public(HashMap[uint256, bytes32])

event DepositPaid:
    index: indexed(uint256)
    recipient: indexed(address)
    amount: uint256
    paid: bool


@external
def relay(messages: DynArray[Message, MAX_MESSAGES], anchor_timestamp: uint256):
    """
    @notice Take in the next queued L1 messages; they must chain from the
            last processed one to the anchor of the L2 block at `anchor_timestamp`.
    """
    found: bool = False
    anchor: Bytes[32] = b""
    found, anchor = raw_call(
        BEACON_ROOTS, abi_encode(anchor_timestamp), max_outsize=32, is_static_call=True,
        revert_on_failure=False,
    )
    assert found and len(anchor) == 32, "relay: no anchor at that timestamp"
    queue_hash: bytes32 = self.processed_hash
    count: uint256 = self.processed_count
    for message: Message in messages:
        count += 1
        assert message.index == count, "relay: messages out of order"
        queue_hash = keccak256(concat(queue_hash, keccak256(abi_encode(
            message.kind, convert(chain.id, uint64), message.index, message.sender,
            message.recipient, message.amount, message.data_hash,
        ))))
    assert queue_hash == extract32(anchor, 0), "relay: messages do not match the L1 anchor"
    self.processed_hash = queue_hash
    self.processed_count = count
    for message: Message in messages:
        if message.kind == CALL:
            self.calls[message.index] = keccak256(
                abi_encode(message.sender, message.recipient, message.data_hash)
            )
        if message.kind == DEPOSIT:
            # Too little gas left would shortchange a recipient: the relay fails
            # whole instead, and the sequencer retries it with more.
            assert msg.gas >= DEPOSIT_CALL_GAS * 64 // 63 + AFTER_DEPOSIT_GAS, (
                "relay: too little gas for the deposits"
            )
            paid: bool = raw_call(
                message.recipient, b"", value=message.amount, gas=DEPOSIT_CALL_GAS,
                revert_on_failure=False,
            )
            if not paid:
                self.unpaid[message.recipient] += message.amount
            log DepositPaid(
                index=message.index, recipient=message.recipient, amount=message.amount, paid=paid
            )


@external
@nonreentrant
def claim_unpaid():
    """@notice Take a deposit that could not be paid when it was relayed."""
    amount: uint256 = self.unpaid[msg.sender]
    assert amount > 0, "claim_unpaid: nothing owed"
    self.unpaid[msg.sender] = 0
    # All the gas the caller gives (a wallet may write storage on receipt);
    # the function is non-reentrant and the debt is cleared first.
    raw_call(msg.sender, b"", value=amount)
