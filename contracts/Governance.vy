# pragma version ~=0.4.3
"""
@title Rollup governance
@notice The admin of a NativeRollup: who may change its rules, and how fast.
        The owner's changes wait out `upgrade_delay` in a public timelock, so
        users who dislike one can leave first (the exit window). A Security
        Council acts at once with `council_threshold` member signatures;
        where `council_needs_bug_proof` is set (Stage 2), only after its
        `bug_record` holds an on-chain proof of a bug in EXECUTE.
"""

MAX_COUNCIL: constant(uint256) = 32
MAX_CALL_BYTES: constant(uint256) = 1024
SIGNATURE_BYTES: constant(uint256) = 65


interface BugRecordView:
    def bug_proven() -> bool: view


struct Action:
    target: address
    data: Bytes[MAX_CALL_BYTES]
    # block.timestamp from which it may run; 0: no such action.
    ready_at: uint256
    executed: bool
    cancelled: bool


event ActionScheduled:
    id: indexed(uint256)
    target: indexed(address)
    data: Bytes[MAX_CALL_BYTES]
    ready_at: uint256

event ActionExecuted:
    id: indexed(uint256)

event ActionCancelled:
    id: indexed(uint256)

event CouncilActed:
    nonce: indexed(uint256)
    target: indexed(address)
    data: Bytes[MAX_CALL_BYTES]


owner: public(address)
upgrade_delay: public(uint256)
council: public(DynArray[address, MAX_COUNCIL])
council_threshold: public(uint256)
council_needs_bug_proof: public(bool)
# Where an on-chain bug proof is recorded (a BugRecord for the rollup's chain).
bug_record: public(address)

action_count: public(uint256)
actions: public(HashMap[uint256, Action])
# Council signatures cover this nonce, so each set of them acts once.
council_nonce: public(uint256)


@deploy
def __init__(
    owner: address,
    upgrade_delay: uint256,
    council: DynArray[address, MAX_COUNCIL],
    council_threshold: uint256,
    council_needs_bug_proof: bool,
    bug_record: address,
):
    assert council_threshold <= len(council), "governance: threshold above the council size"
    assert len(council) == 0 or council_threshold > 0, "governance: a council needs a threshold"
    previous: uint256 = 0
    for member: address in council:
        # Ascending order: no member twice, no empty address.
        assert convert(member, uint256) > previous, "governance: council not in ascending order"
        previous = convert(member, uint256)
    self.owner = owner
    self.upgrade_delay = upgrade_delay
    self.council = council
    self.council_threshold = council_threshold
    self.council_needs_bug_proof = council_needs_bug_proof
    self.bug_record = bug_record


# -- the owner's timelocked changes --

@external
def schedule(target: address, data: Bytes[MAX_CALL_BYTES]) -> uint256:
    """@notice Queue `target.call(data)`; it may run once the upgrade delay has passed."""
    assert msg.sender == self.owner, "schedule: only the owner"
    id: uint256 = self.action_count + 1
    ready_at: uint256 = block.timestamp + self.upgrade_delay
    self.action_count = id
    self.actions[id] = Action(
        target=target, data=data, ready_at=ready_at, executed=False, cancelled=False
    )
    log ActionScheduled(id=id, target=target, data=data, ready_at=ready_at)
    return id


@external
def execute(id: uint256):
    """@notice Anyone may run a scheduled action once its delay has passed."""
    action: Action = self.actions[id]
    assert action.ready_at > 0, "execute: no such action"
    assert not action.executed, "execute: already executed"
    assert not action.cancelled, "execute: cancelled"
    assert block.timestamp >= action.ready_at, "execute: the exit window has not passed"
    self.actions[id].executed = True
    raw_call(action.target, action.data)
    log ActionExecuted(id=id)


@external
def cancel(id: uint256):
    """@notice The owner, or the council through `council_execute`, drops a scheduled action."""
    assert msg.sender == self.owner or msg.sender == self, "cancel: only the owner or the council"
    action: Action = self.actions[id]
    assert action.ready_at > 0, "cancel: no such action"
    assert not action.executed, "cancel: already executed"
    self.actions[id].cancelled = True
    log ActionCancelled(id=id)


# -- the Security Council --

@view
@external
def council_digest(target: address, data: Bytes[MAX_CALL_BYTES], nonce: uint256) -> bytes32:
    """
    @notice What each member signs: an EIP-191 (version 0x00) message for this
            contract over the chain, the nonce and the call.
    """
    return self._council_digest(target, data, nonce)


@view
@internal
def _council_digest(target: address, data: Bytes[MAX_CALL_BYTES], nonce: uint256) -> bytes32:
    body: bytes32 = keccak256(abi_encode(chain.id, nonce, target, keccak256(data)))
    return keccak256(concat(b"\x19\x00", convert(self, bytes20), body))


@external
def council_execute(
    target: address,
    data: Bytes[MAX_CALL_BYTES],
    signatures: DynArray[Bytes[SIGNATURE_BYTES], MAX_COUNCIL],
):
    """
    @notice Run `target.call(data)` at once, signed by at least
            `council_threshold` members, ordered by signer address.
    """
    threshold: uint256 = self.council_threshold
    assert threshold > 0, "council: this rollup has no Security Council"
    if self.council_needs_bug_proof:
        assert staticcall BugRecordView(self.bug_record).bug_proven(), (
            "council: the Security Council acts only on a proven bug"
        )
    assert len(signatures) >= threshold, "council: not enough member signatures"
    digest: bytes32 = self._council_digest(target, data, self.council_nonce)
    previous: uint256 = 0
    for signature: Bytes[SIGNATURE_BYTES] in signatures:
        assert len(signature) == SIGNATURE_BYTES, "council: a signature is not 65 bytes"
        signer: address = ecrecover(
            digest,
            convert(slice(signature, 64, 1), uint256),
            extract32(signature, 0),
            extract32(signature, 32),
        )
        assert convert(signer, uint256) > previous, "council: signers not in ascending order"
        # A signature over another call or nonce recovers some other address.
        assert signer in self.council, "council: a signature is not a member's for this action"
        previous = convert(signer, uint256)
    nonce: uint256 = self.council_nonce
    self.council_nonce = nonce + 1
    raw_call(target, data)
    log CouncilActed(nonce=nonce, target=target, data=data)
