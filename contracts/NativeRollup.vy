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

import execute_input
import forced_transaction
import merkle_patricia
import withdrawal

# L1 -> L2 message kinds.
DEPOSIT: constant(uint8) = 0
FORCED_TRANSACTION: constant(uint8) = 1
# A synchronous call from an L1 contract (the message's sender) to an L2
# contract (its recipient), queued by a composable rollup's sequencer contract
# for the L2 block it settles at once (CrossCalls.vy on L1, L2CrossCalls.vy on L2).
CALL: constant(uint8) = 2
MAX_FORCED_TRANSACTION_BYTES: constant(uint256) = forced_transaction.MAX_TRANSACTION_BYTES
# The most forced transactions one block must take in: one, as the block's
# first transaction. It then runs on the parent's state, the settled state
# skip_forced judges, so a forced transaction that another made invalid (an
# EIP-7702 sender whose code bumps a nonce) is provably skippable and two such
# transactions can never stall the rollup.
MAX_FORCED_PER_BLOCK: constant(uint256) = 1
# What a forced transaction costs whoever settles or skips it, in L1 gas: a
# block of its own, settled through EXECUTE (which charges the L2 block's gas
# limit, 10M in the demo presets) and advance's overhead. Forcing one bonds
# this much at the current base fee: returned when it is included, paid to
# whoever skips it as invalid (or settles the block it could not enter).
FORCING_BOND_GAS: public(constant(uint256)) = 12_000_000
# The most queued messages one L2 block can take in; bounds the loops below.
# One L2 block's relay must afford each deposit's bounded call (L2Bridge.DEPOSIT_CALL_GAS)
# within the L2 gas limit beside its forced transactions.
MAX_MESSAGES_PER_BLOCK: constant(uint256) = 32

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

event ForcedTransactionSkipped:
    index: indexed(uint256)
    sender_nonce: uint256
    sender_balance: uint256

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

# At deployment: the L1's record of which L2 chain ids its rollups use (a
# second rollup with the same id would accept the first one's signed L2
# transactions), read back with eth_getLogs.
event RollupCreated:
    l2_chain_id: indexed(uint64)


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
# Per forced transaction's queue index: what its validity on L2 depends on,
# and whether it was shown invalid (then blocks need not include it).
forced: public(HashMap[uint256, forced_transaction.ForcedTransaction])
# Per forced transaction: its bond and who posted it.
forcing_bond: public(HashMap[uint256, uint256])
forcer: public(HashMap[uint256, address])
# Bonds owed (returned or earned), withdrawn with withdraw_bonds.
bonds_owed: public(HashMap[address, uint256])
skipped: public(HashMap[uint256, bool])
# queue hash -> its message count + 1 (0: not a queue hash)
anchor_position: HashMap[bytes32, uint256]
messages_anchored: public(uint256)

claimed: public(HashMap[bytes32, bool])

# Set by an upgrade: the contract that took over the escrow; this one is retired.
successor: public(address)


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
    log RollupCreated(l2_chain_id=l2_chain_id)


# -- settlement --

@external
def advance(stateless_input: Bytes[execute_input.MAX_INPUT_BYTES]):
    """
    @notice Settle the next L2 block: EXECUTE must accept `stateless_input`,
            which must build on the settled head, be for this chain, and
            anchor the L1 queue no earlier than before (and, where inclusion
            is forced, no later than the overdue messages).
    """
    self._check_live()
    self._check_proposer()
    base: uint256 = execute_input.SCHEMA_ID_BYTES
    chain_id_at: uint256 = base + execute_input.INPUT_CHAIN_ID
    assert len(stateless_input) > chain_id_at + 8, "advance: input too short"
    assert execute_input.le(slice(stateless_input, chain_id_at, 8)) == convert(
        self.l2_chain_id, uint256
    ), "advance: input is for another chain"
    request: uint256 = base + execute_input.le(slice(stateless_input, base, 4))
    payload: uint256 = request + execute_input.le(slice(stateless_input, request, 4))
    parent_hash: bytes32 = extract32(stateless_input, payload + execute_input.PAYLOAD_PARENT_HASH)
    assert parent_hash == self.head_hash, "advance: block does not build on the settled head"
    anchor: bytes32 = extract32(stateless_input, request + execute_input.REQUEST_PARENT_BEACON_ROOT)
    anchored: uint256 = self.anchor_position[anchor]
    assert anchored > 0, "advance: anchor is not an L1 queue hash"
    anchored -= 1
    assert anchored >= self.messages_anchored, "advance: anchor goes back in the queue"
    assert anchored <= self.messages_anchored + MAX_MESSAGES_PER_BLOCK, (
        "advance: anchor takes in too many messages"
    )
    assert anchored >= self._overdue(), "advance: block leaves overdue L1 messages out"

    success: bool = False
    response: Bytes[execute_input.RESULT_BYTES] = b""
    success, response = raw_call(
        execute_input.EXECUTE, stateless_input, max_outsize=execute_input.RESULT_BYTES,
        is_static_call=True, revert_on_failure=False,
    )
    assert execute_input.accepted(success, response, self.l2_chain_id), (
        "advance: EXECUTE refused the block"
    )
    number: uint256 = execute_input.le(
        slice(stateless_input, payload + execute_input.PAYLOAD_BLOCK_NUMBER, 8)
    )
    block_hash: bytes32 = extract32(stateless_input, payload + execute_input.PAYLOAD_BLOCK_HASH)
    state_root: bytes32 = extract32(stateless_input, payload + execute_input.PAYLOAD_STATE_ROOT)

    # Last, and only when the block takes in forced transactions: hashing a
    # transaction slices the input into a buffer as large as the input, and
    # memory past it costs quadratically, so nothing else may live beyond it.
    if self.forced_through[anchored] > self.forced_through[self.messages_anchored]:
        start: uint256 = payload + execute_input.le(
            slice(stateless_input, payload + execute_input.PAYLOAD_TRANSACTIONS, 4)
        )
        end: uint256 = payload + execute_input.le(
            slice(stateless_input, payload + execute_input.PAYLOAD_WITHDRAWALS, 4)
        )
        # The forced transaction must be the block's first (MAX_FORCED_PER_BLOCK).
        first: bytes32 = empty(bytes32)
        if end > start:
            count: uint256 = execute_input.le(slice(stateless_input, start, 4)) // 4
            head: uint256 = start + execute_input.le(slice(stateless_input, start, 4))
            last: uint256 = end
            if count > 1:
                last = start + execute_input.le(slice(stateless_input, start + 4, 4))
            if last - head <= MAX_FORCED_TRANSACTION_BYTES:
                first = keccak256(slice(stateless_input, head, last - head))
        base_fee_at: uint256 = payload + execute_input.PAYLOAD_BASE_FEE
        base_fee: uint256 = execute_input.le(slice(stateless_input, base_fee_at, 8))
        if convert(extract32(stateless_input, base_fee_at), uint256) % 2**192 != 0:
            base_fee = max_value(uint256)  # past 2**64: above any fee cap
        self._check_forced_transactions(first, anchored, base_fee)

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
    # One block need not take in more than MAX_FORCED_PER_BLOCK forced
    # transactions, nor two from one sender (the second may be valid only
    # after the first, which a proof against the parent state cannot show).
    senders: DynArray[address, MAX_FORCED_PER_BLOCK] = []
    for i: uint256 in range(MAX_MESSAGES_PER_BLOCK):
        if position == self.message_count:
            break
        if self.queued_at[position + 1] + delay > block.timestamp:
            break
        if self.message_kind[position + 1] == FORCED_TRANSACTION:
            sender: address = self.forced[position + 1].sender
            if len(senders) == MAX_FORCED_PER_BLOCK or sender in senders:
                break
            senders.append(sender)
        position += 1
    return position


@internal
def _check_forced_transactions(first: bytes32, anchored: uint256, base_fee: uint256):
    """
    @notice The forced transaction the block anchors must be its first
            transaction, unless shown invalid: skipped with a proof (against
            the settled state, on which it would run), or its fee cap is below
            the block's base fee. Its bond goes back to its forcer if it is
            included, else to the proposer.
    """
    for i: uint256 in range(MAX_MESSAGES_PER_BLOCK):
        index: uint256 = self.messages_anchored + 1 + i
        if index > anchored:
            break
        if self.message_kind[index] == FORCED_TRANSACTION:
            included: bool = self.message_data_hash[index] == first
            assert (
                included or self.skipped[index] or self.forced[index].max_fee < base_fee
            ), "advance: block anchors a forced transaction it does not include"
            if included:
                self._pay_bond(index, self.forcer[index])
            else:
                self._pay_bond(index, msg.sender)


@internal
def _pay_bond(index: uint256, to: address):
    """@notice Owe forced transaction `index`'s bond to `to` (once)."""
    self.bonds_owed[to] += self.forcing_bond[index]
    self.forcing_bond[index] = 0


@external
@nonreentrant
def withdraw_bonds():
    """@notice Take the bonds owed to the caller (returned, or earned by skipping)."""
    # After an upgrade the bonds are in the successor's hands, and it pays them.
    self._check_live()
    amount: uint256 = self.bonds_owed[msg.sender]
    assert amount > 0, "withdraw_bonds: nothing owed"
    self.bonds_owed[msg.sender] = 0
    raw_call(msg.sender, b"", value=amount)


# -- L1 -> L2 messages --

@external
@payable
def deposit(recipient: address):
    """@notice Send `msg.value` to `recipient` on L2."""
    self._check_live()
    assert not self.paused, "deposit: the rollup is paused"
    assert msg.value > 0, "deposit: nothing to deposit"
    self._enqueue(DEPOSIT, msg.sender, recipient, msg.value, empty(bytes32))


@external
@payable
def force_include(transaction: Bytes[MAX_FORCED_TRANSACTION_BYTES]):
    """
    @notice Queue a signed L2 transaction, bonding FORCING_BOND_GAS at the
            block's base fee (more is owed back at once). Where inclusion is forced, the sequencer's
            blocks are refused once it is overdue and not included.
    """
    self._check_live()
    bond: uint256 = FORCING_BOND_GAS * block.basefee
    assert msg.value >= bond, "force_include: bond FORCING_BOND_GAS x the block's base fee"
    decoded: forced_transaction.ForcedTransaction = forced_transaction.decode(
        transaction, convert(self.l2_chain_id, uint256)
    )
    self._enqueue(FORCED_TRANSACTION, msg.sender, msg.sender, 0, keccak256(transaction))
    self.forced[self.message_count] = decoded
    self.forcing_bond[self.message_count] = bond
    self.forcer[self.message_count] = msg.sender
    self.bonds_owed[msg.sender] += msg.value - bond
    log ForcedTransactionQueued(index=self.message_count, transaction=transaction)


@external
def skip_forced(index: uint256, account_proof: DynArray[Bytes[MAX_NODE_BYTES], MAX_PROOF_NODES]):
    """
    @notice Show that the forced transaction at queue position `index` is
            invalid on the settled L2 state (its sender's nonce differs, or
            its balance cannot pay the most the transaction can cost), so the
            block that takes it in need not include it. Anyone may call this.
    """
    self._check_live()
    assert index > self.messages_anchored and index <= self.message_count, (
        "skip_forced: no queued message awaits a block at that index"
    )
    assert self.message_kind[index] == FORCED_TRANSACTION, "skip_forced: not a forced transaction"
    assert not self.skipped[index], "skip_forced: already skipped"
    transaction: forced_transaction.ForcedTransaction = self.forced[index]
    account: Bytes[MAX_NODE_BYTES] = merkle_patricia.lookup(
        self.state_root_at[self.head_number],
        keccak256(slice(convert(transaction.sender, bytes32), 12, 20)),
        account_proof,
    )
    nonce: uint256 = 0
    balance: uint256 = 0
    nonce, balance = merkle_patricia.account_nonce_and_balance(account)
    assert nonce != transaction.nonce or balance < transaction.max_cost, (
        "skip_forced: the transaction is valid on the settled L2 state"
    )
    self.skipped[index] = True
    self._pay_bond(index, msg.sender)
    log ForcedTransactionSkipped(index=index, sender_nonce=nonce, sender_balance=balance)


@external
def enqueue_call(caller: address, target: address, data_hash: bytes32):
    """
    @notice The sequencer only: queue a call from L1 contract `caller` to L2
            contract `target` with calldata hashing to `data_hash`, which the
            L2 block the sequencer settles next runs (a composable rollup's
            Sequencing, inside a based block: the caller cannot be forged).
    """
    self._check_live()
    assert msg.sender == self.sequencer, "enqueue_call: only the sequencer"
    self._enqueue(CALL, caller, target, 0, data_hash)


@internal
def _enqueue(kind: uint8, sender: address, recipient: address, amount: uint256, data_hash: bytes32):
    index: uint256 = self.message_count + 1
    message: bytes32 = keccak256(
        abi_encode(kind, self.l2_chain_id, index, sender, recipient, amount, data_hash)
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
        index=index, kind=kind, sender=sender, recipient=recipient, amount=amount,
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
    assert chain_id == convert(self.l2_chain_id, uint256), (
        "withdrawal: message is for another chain"
    )
    settled: uint256 = self.settled_at[l2_block_number]
    assert settled > 0 and l2_block_number <= self.head_number, "withdrawal: L2 block not settled"
    assert block.timestamp >= settled + self.parameters.finality_delay, (
        "withdrawal: L2 block not final yet"
    )
    message: bytes32 = withdrawal.message_hash(chain_id, nonce, sender, recipient, amount)
    assert not self.claimed[message], "withdrawal: already claimed"
    withdrawal.check_sent(self.state_root_at[l2_block_number], message, account_proof, storage_proof)
    # L2 ether no deposit backs (an L2 genesis funds accounts) cannot leave.
    assert self.balance >= amount, "withdrawal: the escrow holds less than the amount"
    self.claimed[message] = True
    # All the gas the claimant gives: a smart-contract wallet may write storage
    # on receipt, which send()'s 2300 gas cannot. Non-reentrant, marked claimed first.
    raw_call(recipient, b"", value=amount)
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
