# pragma version ~=0.4.3
"""
@title Native rollup
@notice An L2 whose state root advances on L1 only through the EXECUTE
        precompile (save where a Stage 0 operator key may replace it), with
        the L1 -> L2 message queue (deposits and forced transactions) and the
        withdrawal claims against settled L2 state roots. The stage is data:
        the same contract is Stage 0, 1 or 2 by its parameters and by its
        admin (a Governance contract: who may upgrade it, and how fast).
"""

import merkle_patricia

EXECUTE: constant(address) = 0x0000000000000000000000000000000000000101
# The L2 predeploy that records L2 -> L1 messages; its first storage variable
# is `sent_messages: HashMap[bytes32, bool]`.
L2_MESSAGE_PASSER: constant(address) = 0x4200000000000000000000000000000000000016
SENT_MESSAGES_SLOT: constant(uint256) = 0

# schema id (2 bytes) || SSZ(StatelessInput).
MAX_INPUT_BYTES: constant(uint256) = 262144
SCHEMA_ID_BYTES: constant(uint256) = 2
# SSZ(StatelessValidationResult): root (32) || success (1) || chain id (8) || fork (1).
RESULT_BYTES: constant(uint256) = 42
# Byte offsets of SSZ fields inside their containers (fixed parts; integers little-endian).
INPUT_CHAIN_ID: constant(uint256) = 8
REQUEST_PARENT_BEACON_ROOT: constant(uint256) = 8
PAYLOAD_PARENT_HASH: constant(uint256) = 0
PAYLOAD_STATE_ROOT: constant(uint256) = 52
PAYLOAD_PREV_RANDAO: constant(uint256) = 372
PAYLOAD_BLOCK_NUMBER: constant(uint256) = 404
PAYLOAD_GAS_USED: constant(uint256) = 420
PAYLOAD_TIMESTAMP: constant(uint256) = 428
PAYLOAD_BLOCK_HASH: constant(uint256) = 472
PAYLOAD_TRANSACTIONS: constant(uint256) = 504
PAYLOAD_WITHDRAWALS: constant(uint256) = 508
INPUT_WITNESS_OFFSET: constant(uint256) = 4
# A bug proof compares two inputs word by word up to their witness.
MAX_COMPARED_WORDS: constant(uint256) = MAX_INPUT_BYTES // 32

# L1 -> L2 message kinds.
DEPOSIT: constant(uint8) = 0
FORCED_TRANSACTION: constant(uint8) = 1
MAX_FORCED_TRANSACTION_BYTES: constant(uint256) = 4096
# The most queued messages one L2 block can take in; bounds the loops below.
MAX_MESSAGES_PER_BLOCK: constant(uint256) = 64
MAX_SCANNED_TRANSACTIONS: constant(uint256) = 256

MAX_PROOF_NODES: constant(uint256) = 16
MAX_NODE_BYTES: constant(uint256) = 532


struct Parameters:
    # 0, 1 or 2 (L2BEAT Stages); informative, the fields below are the rules.
    stage: uint8
    # Seconds after settlement before a withdrawal from that L2 block can be claimed.
    finality_delay: uint256
    # Seconds within which the sequencer must take in a queued message; 0 = never forced.
    inclusion_delay: uint256
    # Seconds of sequencer silence after which anyone may propose; 0 = never.
    proposer_timeout: uint256
    # Whether the operator key may replace the state root without EXECUTE (Stage 0).
    operator_can_replace_root: bool


event BlockSettled:
    number: indexed(uint256)
    block_hash: bytes32
    state_root: bytes32
    messages_anchored: uint256
    proposer: address
    forced_by_operator: bool

event MessageQueued:
    index: indexed(uint256)
    kind: uint8
    sender: indexed(address)
    recipient: address
    amount: uint256
    data_hash: bytes32
    queue_hash: bytes32

event ForcedTransactionQueued:
    index: indexed(uint256)
    transaction: Bytes[MAX_FORCED_TRANSACTION_BYTES]

event WithdrawalClaimed:
    message_hash: indexed(bytes32)
    recipient: indexed(address)
    amount: uint256

event Paused:
    paused: bool

event SequencerChanged:
    sequencer: address

event ParametersChanged:
    parameters: Parameters

event Upgraded:
    successor: indexed(address)
    escrow: uint256

event BugProven:
    prover: indexed(address)
    parent_hash: bytes32
    first_state_root: bytes32
    second_state_root: bytes32


l2_chain_id: public(uint64)
# Changes the rules (sequencer, parameters, successor): a Governance contract.
admin: public(address)
operator: public(address)
sequencer: public(address)
parameters: public(Parameters)
paused: public(bool)

# The settled L2 head and the history of settled blocks.
head_number: public(uint256)
head_hash: public(bytes32)
state_root_at: public(HashMap[uint256, bytes32])
settled_at: public(HashMap[uint256, uint256])
last_settlement: public(uint256)

# The L1 -> L2 queue: a rolling hash after each message, as L2 blocks anchor it.
message_count: public(uint256)
queue_hash: public(HashMap[uint256, bytes32])
queued_at: public(HashMap[uint256, uint256])
message_kind: public(HashMap[uint256, uint8])
message_data_hash: public(HashMap[uint256, bytes32])
# How many of the first n messages are forced transactions.
forced_through: public(HashMap[uint256, uint256])
# queue hash -> its message count + 1 (0: not a queue hash)
anchor_position: HashMap[bytes32, uint256]
messages_anchored: public(uint256)

claimed: public(HashMap[bytes32, bool])

# Set by an upgrade: the contract that took over the escrow; this one is retired.
successor: public(address)
# Set once EXECUTE accepted two conflicting results for one L2 block.
bug_proven: public(bool)


@deploy
def __init__(
    l2_chain_id: uint64,
    genesis_hash: bytes32,
    genesis_state_root: bytes32,
    admin: address,
    operator: address,
    sequencer: address,
    parameters: Parameters,
):
    self.l2_chain_id = l2_chain_id
    self.admin = admin
    self.operator = operator
    self.sequencer = sequencer
    self.parameters = parameters
    self.head_hash = genesis_hash
    self.state_root_at[0] = genesis_state_root
    self.settled_at[0] = block.timestamp
    self.last_settlement = block.timestamp
    self.anchor_position[empty(bytes32)] = 1


# -- settlement --

@external
def advance(stateless_input: Bytes[MAX_INPUT_BYTES]):
    """
    @notice Settle the next L2 block: EXECUTE must accept `stateless_input`,
            which must build on the settled head, be for this chain, and
            anchor the L1 queue no earlier than before (and, where inclusion
            is forced, no later than the overdue messages).
    """
    self._check_live()
    self._check_proposer()
    base: uint256 = SCHEMA_ID_BYTES
    assert len(stateless_input) > base + INPUT_CHAIN_ID + 8, "advance: input too short"
    assert self._le(slice(stateless_input, base + INPUT_CHAIN_ID, 8)) == convert(
        self.l2_chain_id, uint256
    ), "advance: input is for another chain"
    request: uint256 = base + self._le(slice(stateless_input, base, 4))
    payload: uint256 = request + self._le(slice(stateless_input, request, 4))
    assert extract32(stateless_input, payload + PAYLOAD_PARENT_HASH) == self.head_hash, (
        "advance: block does not build on the settled head"
    )
    anchor: bytes32 = extract32(stateless_input, request + REQUEST_PARENT_BEACON_ROOT)
    anchored: uint256 = self.anchor_position[anchor]
    assert anchored > 0, "advance: anchor is not an L1 queue hash"
    anchored -= 1
    assert anchored >= self.messages_anchored, "advance: anchor goes back in the queue"
    assert anchored <= self.messages_anchored + MAX_MESSAGES_PER_BLOCK, (
        "advance: anchor takes in too many messages"
    )
    assert anchored >= self._overdue(), "advance: block leaves overdue L1 messages out"

    success: bool = False
    response: Bytes[RESULT_BYTES] = b""
    success, response = raw_call(
        EXECUTE, stateless_input, max_outsize=RESULT_BYTES, is_static_call=True,
        revert_on_failure=False,
    )
    assert self._accepted(success, response), "advance: EXECUTE refused the block"
    number: uint256 = self._le(slice(stateless_input, payload + PAYLOAD_BLOCK_NUMBER, 8))
    block_hash: bytes32 = extract32(stateless_input, payload + PAYLOAD_BLOCK_HASH)
    state_root: bytes32 = extract32(stateless_input, payload + PAYLOAD_STATE_ROOT)

    # Last, and only when the block takes in forced transactions: hashing a
    # transaction slices the input into a buffer as large as the input, and
    # memory past it costs quadratically, so nothing else may live beyond it.
    if self.forced_through[anchored] > self.forced_through[self.messages_anchored]:
        start: uint256 = payload + self._le(
            slice(stateless_input, payload + PAYLOAD_TRANSACTIONS, 4)
        )
        end: uint256 = payload + self._le(slice(stateless_input, payload + PAYLOAD_WITHDRAWALS, 4))
        count: uint256 = 0
        if end > start:
            count = self._le(slice(stateless_input, start, 4)) // 4
        included: DynArray[bytes32, MAX_SCANNED_TRANSACTIONS] = []
        for i: uint256 in range(MAX_SCANNED_TRANSACTIONS):
            if i == count:
                break
            first: uint256 = start + self._le(slice(stateless_input, start + 4 * i, 4))
            last: uint256 = end
            if i + 1 < count:
                last = start + self._le(slice(stateless_input, start + 4 * (i + 1), 4))
            if last - first <= MAX_FORCED_TRANSACTION_BYTES:
                included.append(keccak256(slice(stateless_input, first, last - first)))
        self._check_forced_transactions(included, anchored)

    self._settle(number, block_hash, state_root, anchored, False)


@external
def replace_state(number: uint256, block_hash: bytes32, state_root: bytes32):
    """@notice Stage 0 only: the operator sets the L2 head without EXECUTE."""
    self._check_live()
    assert msg.sender == self.operator, "replace_state: only the operator"
    assert self.parameters.operator_can_replace_root, (
        "replace_state: this rollup's state advances only through EXECUTE"
    )
    self._settle(number, block_hash, state_root, self.messages_anchored, True)


@internal
def _settle(
    number: uint256, block_hash: bytes32, state_root: bytes32, anchored: uint256, forced: bool
):
    assert number == self.head_number + 1, "advance: not the next L2 block"
    self.head_number = number
    self.head_hash = block_hash
    self.state_root_at[number] = state_root
    self.settled_at[number] = block.timestamp
    self.last_settlement = block.timestamp
    self.messages_anchored = anchored
    log BlockSettled(
        number=number, block_hash=block_hash, state_root=state_root,
        messages_anchored=anchored, proposer=msg.sender, forced_by_operator=forced,
    )


@view
@internal
def _accepted(success: bool, response: Bytes[RESULT_BYTES]) -> bool:
    """
    @notice Whether EXECUTE's answer accepts the input as a valid block of this
            chain. (Callers make the call: passing the input here would copy it.)
    """
    if not success or len(response) != RESULT_BYTES:
        return False
    # The chain id check repeats the input's: a result only counts for the chain it names.
    return convert(slice(response, 32, 1), uint256) == 1 and self._le(
        slice(response, 33, 8)
    ) == convert(self.l2_chain_id, uint256)


@view
@internal
def _check_live():
    assert self.successor == empty(address), "rollup: upgraded; the successor holds the escrow"


@view
@internal
def _check_proposer():
    if msg.sender == self.sequencer:
        return
    timeout: uint256 = self.parameters.proposer_timeout
    assert timeout > 0, "advance: only the sequencer proposes"
    assert block.timestamp >= self.last_settlement + timeout, (
        "advance: the sequencer is live; only it proposes"
    )


@view
@internal
def _overdue() -> uint256:
    """@notice How far the queue must be anchored now (all messages past their inclusion delay)."""
    delay: uint256 = self.parameters.inclusion_delay
    position: uint256 = self.messages_anchored
    if delay == 0:
        return position
    for i: uint256 in range(MAX_MESSAGES_PER_BLOCK):
        if position == self.message_count:
            break
        if self.queued_at[position + 1] + delay > block.timestamp:
            break
        position += 1
    return position


@view
@internal
def _check_forced_transactions(
    included: DynArray[bytes32, MAX_SCANNED_TRANSACTIONS], anchored: uint256
):
    """@notice Each forced transaction the block anchors must be among its transactions."""
    for i: uint256 in range(MAX_MESSAGES_PER_BLOCK):
        index: uint256 = self.messages_anchored + 1 + i
        if index > anchored:
            break
        if self.message_kind[index] == FORCED_TRANSACTION:
            assert self.message_data_hash[index] in included, (
                "advance: block anchors a forced transaction it does not include"
            )


@pure
@internal
def _le(data: Bytes[8]) -> uint256:
    """
    @notice A little-endian integer (SSZ's). Callers pass the few bytes
            sliced out: passing the whole input would copy it per call.
    """
    value: uint256 = 0
    for i: uint256 in range(8):
        if i == len(data):
            break
        value |= convert(slice(data, i, 1), uint256) << (8 * i)
    return value


# -- L1 -> L2 messages --

@external
@payable
def deposit(recipient: address):
    """@notice Send `msg.value` to `recipient` on L2."""
    self._check_live()
    assert not self.paused, "deposit: the rollup is paused"
    assert msg.value > 0, "deposit: nothing to deposit"
    self._enqueue(DEPOSIT, recipient, msg.value, empty(bytes32))


@external
def force_include(transaction: Bytes[MAX_FORCED_TRANSACTION_BYTES]):
    """
    @notice Queue a signed L2 transaction. Where inclusion is forced, the
            sequencer's blocks are refused once it is overdue and not included.
    """
    self._check_live()
    assert len(transaction) > 0, "force_include: empty transaction"
    self._enqueue(FORCED_TRANSACTION, msg.sender, 0, keccak256(transaction))
    log ForcedTransactionQueued(index=self.message_count, transaction=transaction)


@internal
def _enqueue(kind: uint8, recipient: address, amount: uint256, data_hash: bytes32):
    index: uint256 = self.message_count + 1
    message: bytes32 = keccak256(
        abi_encode(kind, self.l2_chain_id, index, msg.sender, recipient, amount, data_hash)
    )
    queue_hash: bytes32 = keccak256(concat(self.queue_hash[index - 1], message))
    self.message_count = index
    self.queue_hash[index] = queue_hash
    self.queued_at[index] = block.timestamp
    self.message_kind[index] = kind
    self.message_data_hash[index] = data_hash
    self.forced_through[index] = self.forced_through[index - 1]
    if kind == FORCED_TRANSACTION:
        self.forced_through[index] += 1
    self.anchor_position[queue_hash] = index + 1
    log MessageQueued(
        index=index, kind=kind, sender=msg.sender, recipient=recipient, amount=amount,
        data_hash=data_hash, queue_hash=queue_hash,
    )


@external
def set_paused(paused: bool):
    """@notice The operator stops (or resumes) deposits; withdrawals are never paused."""
    assert msg.sender == self.operator, "set_paused: only the operator"
    self.paused = paused
    log Paused(paused=paused)


# -- L2 -> L1 withdrawals --

@external
@nonreentrant
def claim_withdrawal(
    chain_id: uint256,
    nonce: uint256,
    sender: address,
    recipient: address,
    amount: uint256,
    l2_block_number: uint256,
    account_proof: DynArray[Bytes[MAX_NODE_BYTES], MAX_PROOF_NODES],
    storage_proof: DynArray[Bytes[MAX_NODE_BYTES], MAX_PROOF_NODES],
):
    """
    @notice Pay out a withdrawal the L2 message passer recorded, proven with
            storage proofs against a settled L2 state root past the finality delay.
    """
    self._check_live()
    assert chain_id == convert(self.l2_chain_id, uint256), "withdrawal: message is for another chain"
    settled: uint256 = self.settled_at[l2_block_number]
    assert settled > 0 and l2_block_number <= self.head_number, "withdrawal: L2 block not settled"
    assert block.timestamp >= settled + self.parameters.finality_delay, (
        "withdrawal: L2 block not final yet"
    )
    message: bytes32 = keccak256(abi_encode(chain_id, nonce, sender, recipient, amount))
    assert not self.claimed[message], "withdrawal: already claimed"
    account: Bytes[MAX_NODE_BYTES] = merkle_patricia.verify(
        self.state_root_at[l2_block_number],
        keccak256(slice(convert(L2_MESSAGE_PASSER, bytes32), 12, 20)),
        account_proof,
    )
    slot: bytes32 = keccak256(concat(convert(SENT_MESSAGES_SLOT, bytes32), message))
    sent: Bytes[MAX_NODE_BYTES] = merkle_patricia.verify(
        merkle_patricia.account_storage_root(account), keccak256(slot), storage_proof
    )
    assert sent == b"\x01", "withdrawal: not sent on L2"
    self.claimed[message] = True
    send(recipient, amount)
    log WithdrawalClaimed(message_hash=message, recipient=recipient, amount=amount)


# -- governance: only the admin changes the rules --

@external
def set_sequencer(sequencer: address):
    assert msg.sender == self.admin, "set_sequencer: only the admin"
    self.sequencer = sequencer
    log SequencerChanged(sequencer=sequencer)


@external
def set_parameters(parameters: Parameters):
    assert msg.sender == self.admin, "set_parameters: only the admin"
    self.parameters = parameters
    log ParametersChanged(parameters=parameters)


@external
@nonreentrant
def upgrade_to(successor: address):
    """
    @notice Hand the escrow and the rollup over to `successor` (new code that
            reads this contract's state) and retire this one. Whoever controls
            the admin controls the funds: the admin's delay is the exit window.
    """
    assert msg.sender == self.admin, "upgrade_to: only the admin"
    assert successor != empty(address), "upgrade_to: no successor"
    self._check_live()
    self.successor = successor
    escrow: uint256 = self.balance
    raw_call(successor, b"", value=escrow)
    log Upgraded(successor=successor, escrow=escrow)


# -- bug proofs --

@external
def prove_bug(first: Bytes[MAX_INPUT_BYTES], second: Bytes[MAX_INPUT_BYTES]):
    """
    @notice Show on chain that EXECUTE is broken: it accepts two inputs that are
            the same L2 block (equal in everything but what executing it
            outputs) with different post-state roots. Execution is
            deterministic, so one of the two results is wrong. Where
            governance limits the Security Council to proven bugs, this is
            what lets it act.
    """
    base: uint256 = SCHEMA_ID_BYTES
    assert len(first) > base + INPUT_CHAIN_ID + 8 and len(second) > base + INPUT_CHAIN_ID + 8, (
        "prove_bug: input too short"
    )
    request: uint256 = base + self._le(slice(first, base, 4))
    witness: uint256 = base + self._le(slice(first, base + INPUT_WITNESS_OFFSET, 4))
    payload: uint256 = request + self._le(slice(first, request, 4))
    assert witness <= len(first) and witness <= len(second), "prove_bug: bad witness offset"
    # Up to the witness, the inputs may differ only in the outputs of execution.
    spans: DynArray[uint256[2], 4] = [
        [0, payload + PAYLOAD_STATE_ROOT],
        [payload + PAYLOAD_PREV_RANDAO, payload + PAYLOAD_GAS_USED],
        [payload + PAYLOAD_TIMESTAMP, payload + PAYLOAD_BLOCK_HASH],
        [payload + PAYLOAD_BLOCK_HASH + 32, witness],
    ]
    for span: uint256[2] in spans:
        position: uint256 = span[0]
        for i: uint256 in range(MAX_COMPARED_WORDS):
            if position >= span[1]:
                break
            # Past the span's end (its last partial word), the bytes are not compared.
            ignored: uint256 = 8 * (32 - min(32, span[1] - position))
            assert convert(extract32(first, position), uint256) >> ignored == convert(
                extract32(second, position), uint256
            ) >> ignored, "prove_bug: the inputs are not the same L2 block"
            position += 32
    first_root: bytes32 = extract32(first, payload + PAYLOAD_STATE_ROOT)
    second_root: bytes32 = extract32(second, payload + PAYLOAD_STATE_ROOT)
    assert first_root != second_root, "prove_bug: both inputs claim the same post-state"
    success: bool = False
    response: Bytes[RESULT_BYTES] = b""
    success, response = raw_call(
        EXECUTE, first, max_outsize=RESULT_BYTES, is_static_call=True, revert_on_failure=False
    )
    assert self._accepted(success, response), "prove_bug: EXECUTE refuses the first input"
    success, response = raw_call(
        EXECUTE, second, max_outsize=RESULT_BYTES, is_static_call=True, revert_on_failure=False
    )
    assert self._accepted(success, response), "prove_bug: EXECUTE refuses the second input"
    self.bug_proven = True
    log BugProven(
        prover=msg.sender, parent_hash=extract32(first, payload + PAYLOAD_PARENT_HASH),
        first_state_root=first_root, second_state_root=second_root,
    )
