# pragma version ~=0.4.3
"""
@title Slot sequencing of a synchronously composable native rollup
@notice The rollup's sequencer as a contract: the NativeRollup names this
        contract its sequencer, so every L2 block reaches `advance` through
        the rules here.
        - Sequenced blocks carry a certificate: t of n committee signatures
          over (block hash, number, slot). Anyone holding one may settle the
          block (the sequencer does, each slot; a based builder settles the
          ones it builds on).
        - A slot-ending certificate also names an L1 slot S and the L1 parent
          P of slot S's block: a based block may then be built on that L2
          block, in slot S and on parent P only.
        - A based block is one L1 transaction: L1 actions before, the L2
          block through EXECUTE, L1 actions after, assertions. Any failing
          part reverts it all, the L2 block included.
        - No L2 block settled for more than FALLBACK_SLOTS slots: based mode.
          Anyone may build a based block on the settled head, no certificate.
        - Two certificates for one L2 height with different blocks, or two
          slot-ending certificates for one slot that differ, prove the
          committee equivocated: the prover takes the sequencer's bond.
"""

import execute_input

interface Rollup:
    def advance(stateless_input: Bytes[execute_input.MAX_INPUT_BYTES]): nonpayable
    def enqueue_call(caller: address, target: address, data_hash: bytes32): nonpayable
    def head_hash() -> bytes32: view
    def head_number() -> uint256: view
    def l2_chain_id() -> uint64: view

MAX_MEMBERS: constant(uint256) = 16
# Slots without a settled L2 block after which the rollup is based (anyone proposes).
FALLBACK_SLOTS: public(constant(uint256)) = 10
MAX_ACTIONS: constant(uint256) = 8
MAX_ACTION_BYTES: constant(uint256) = 4096
MAX_RETURN_BYTES: constant(uint256) = 1024
# A based block's execution table of calls into L2: the calldata of
# CrossCalls.load (nothing else of that contract may be called with it).
MAX_TABLE_BYTES: constant(uint256) = 65536
LOAD_SELECTOR: constant(bytes4) = method_id(
    "load((address,address,bytes32,bytes,bool,bytes,(address,address,bytes,bool,bytes,bool,uint256)[],bytes[],bytes[])[])",
    output_type=bytes4,
)

# Certificate kinds.
SEQUENCED: constant(uint8) = 0
SLOT_ENDING: constant(uint8) = 1
# mode()
SEQUENCED_MODE: constant(uint8) = 0
BASED_MODE: constant(uint8) = 1


struct Signature:
    v: uint256
    r: uint256
    s: uint256

struct Certificate:
    kind: uint8
    block_hash: bytes32
    block_number: uint256
    # The L1 slot whose block may hold the block (slot-ending), or in which it was sequenced.
    slot: uint256
    # Slot-ending only: the hash of the L1 block slot `slot`'s block must build on.
    l1_parent: bytes32
    # Members' signatures, in ascending order of member address.
    signatures: DynArray[Signature, MAX_MEMBERS]

struct Action:
    target: address
    value: uint256
    data: Bytes[MAX_ACTION_BYTES]

struct Assertion:
    target: address
    data: Bytes[MAX_ACTION_BYTES]
    # keccak256 of the return data the static call must give.
    expected: bytes32


event SequencedBlockSettled:
    number: indexed(uint256)
    block_hash: bytes32
    slot: uint256

event BasedBlockLanded:
    slot: indexed(uint256)
    number: uint256
    block_hash: bytes32
    builder: indexed(address)
    based_mode: bool

event EquivocationProven:
    block_number: uint256
    slot: uint256
    prover: indexed(address)
    bond: uint256

event BondPosted:
    amount: uint256


rollup: public(address)
chain_id: public(uint256)
deployer: address
members: public(DynArray[address, MAX_MEMBERS])
threshold: public(uint256)
# Slot s starts at slot_genesis + s * slot_time (L1 block timestamps).
slot_genesis: public(uint256)
slot_time: public(uint256)
bond: public(uint256)
# The slot of the last L2 block settled here, and of the last based block.
last_settled_slot: public(uint256)
last_based_slot: public(uint256)
last_based_number: public(uint256)
based_blocks: public(uint256)
# The L1 end of synchronous calls into L2 (CrossCalls.vy); set once by the deployer.
cross_calls: public(address)
# True while a based block runs: only then may calls into L2 settle L2 blocks.
building: transient(bool)


@deploy
def __init__(
    members: DynArray[address, MAX_MEMBERS], threshold: uint256, slot_genesis: uint256,
    slot_time: uint256,
):
    assert threshold > 0 and threshold <= len(members), "sequencing: threshold out of range"
    assert slot_time > 0, "sequencing: slot time is 0"
    assert slot_genesis <= block.timestamp, "sequencing: slots start in the future"
    previous: address = empty(address)
    for member: address in members:
        assert convert(member, uint256) > convert(previous, uint256), (
            "sequencing: members must be distinct, in ascending order"
        )
        previous = member
    self.members = members
    self.threshold = threshold
    self.slot_genesis = slot_genesis
    self.slot_time = slot_time
    self.deployer = msg.sender
    self.last_settled_slot = self._slot_of(block.timestamp)


@external
def bind(rollup: address):
    """@notice Once, by the deployer: the NativeRollup whose sequencer this contract is."""
    assert msg.sender == self.deployer, "bind: only the deployer"
    assert self.rollup == empty(address), "bind: already bound"
    self.rollup = rollup
    self.chain_id = convert(staticcall Rollup(rollup).l2_chain_id(), uint256)


@external
def bind_cross_calls(cross_calls: address):
    """@notice Once, by the deployer: the contract through which L1 calls into L2."""
    assert msg.sender == self.deployer, "bind: only the deployer"
    assert self.cross_calls == empty(address), "bind: cross calls already bound"
    self.cross_calls = cross_calls


@external
@payable
def post_bond():
    """@notice Add to the sequencer's bond, which pays whoever proves an equivocation."""
    self.bond += msg.value
    log BondPosted(amount=msg.value)


# -- slots --

@view
@internal
def _slot_of(timestamp: uint256) -> uint256:
    if timestamp < self.slot_genesis:
        return 0
    return (timestamp - self.slot_genesis) // self.slot_time


@view
@external
def current_slot() -> uint256:
    return self._slot_of(block.timestamp)


@view
@internal
def _based_mode() -> bool:
    return self._slot_of(block.timestamp) > self.last_settled_slot + FALLBACK_SLOTS


@view
@external
def mode() -> uint8:
    """@notice 0: sequenced (certificates rule), 1: based (the fallback: anyone proposes)."""
    if self._based_mode():
        return BASED_MODE
    return SEQUENCED_MODE


# -- certificates --

@pure
@external
def certificate_digest(
    chain_id: uint256, sequencing: address, kind: uint8, block_hash: bytes32,
    block_number: uint256, slot: uint256, l1_parent: bytes32,
) -> bytes32:
    """@notice What members sign (exposed so that clients can check theirs)."""
    return self._digest(chain_id, sequencing, kind, block_hash, block_number, slot, l1_parent)


@pure
@internal
def _digest(
    chain_id: uint256, sequencing: address, kind: uint8, block_hash: bytes32,
    block_number: uint256, slot: uint256, l1_parent: bytes32,
) -> bytes32:
    return keccak256(abi_encode(
        keccak256("native-rollups L2 block certificate"), chain_id, sequencing, kind, block_hash,
        block_number, slot, l1_parent,
    ))


@view
@internal
def _check_certificate(certificate: Certificate):
    """@notice At least `threshold` distinct members signed it."""
    digest: bytes32 = self._digest(
        self.chain_id, self, certificate.kind, certificate.block_hash,
        certificate.block_number, certificate.slot, certificate.l1_parent,
    )
    signed: uint256 = 0
    previous: uint256 = 0
    for signature: Signature in certificate.signatures:
        signer: address = ecrecover(digest, signature.v, signature.r, signature.s)
        assert signer != empty(address), "certificate: a signature does not recover"
        assert convert(signer, uint256) > previous, (
            "certificate: signers must be distinct, in ascending order"
        )
        assert signer in self.members, "certificate: signed by a non-member"
        previous = convert(signer, uint256)
        signed += 1
    assert signed >= self.threshold, "certificate: below the committee's threshold"


@view
@internal
def _block_of(stateless_input: Bytes[execute_input.MAX_INPUT_BYTES]) -> (bytes32, uint256):
    """@notice The L2 block hash and number an encoded EXECUTE input is about."""
    base: uint256 = execute_input.SCHEMA_ID_BYTES
    assert len(stateless_input) > base + execute_input.INPUT_CHAIN_ID + 8, "input too short"
    request: uint256 = base + execute_input.le(slice(stateless_input, base, 4))
    payload: uint256 = request + execute_input.le(slice(stateless_input, request, 4))
    block_hash: bytes32 = extract32(stateless_input, payload + execute_input.PAYLOAD_BLOCK_HASH)
    number: uint256 = execute_input.le(
        slice(stateless_input, payload + execute_input.PAYLOAD_BLOCK_NUMBER, 8)
    )
    return block_hash, number


# -- settlement --

@external
@nonreentrant
def settle_sequenced(stateless_input: Bytes[execute_input.MAX_INPUT_BYTES], certificate: Certificate):
    """
    @notice Settle the next L2 block under its certificate (anyone may: the
            certificate, not the caller, is the sequencer's word).
    """
    assert not self._based_mode(), "settle: the rollup is in based mode; build a based block"
    assert certificate.slot <= self._slot_of(block.timestamp), (
        "settle: the certificate is for a future slot"
    )
    self._check_certificate(certificate)
    block_hash: bytes32 = empty(bytes32)
    number: uint256 = 0
    block_hash, number = self._block_of(stateless_input)
    assert block_hash == certificate.block_hash and number == certificate.block_number, (
        "settle: the certificate is for another block"
    )
    extcall Rollup(self.rollup).advance(stateless_input)
    self.last_settled_slot = self._slot_of(block.timestamp)
    log SequencedBlockSettled(number=number, block_hash=block_hash, slot=certificate.slot)


@external
@payable
@nonreentrant
def build_based(
    slot_ending: Certificate,
    stateless_input: Bytes[execute_input.MAX_INPUT_BYTES],
    before: DynArray[Action, MAX_ACTIONS],
    after: DynArray[Action, MAX_ACTIONS],
    assertions: DynArray[Assertion, MAX_ACTIONS],
    calls: Bytes[MAX_TABLE_BYTES],
):
    """
    @notice One based block, all or nothing: `before`, the L2 block through
            EXECUTE, `after`, then `assertions` (static calls whose return
            data must hash as expected). `calls`, if any, is the execution
            table for the actions' calls into L2 (CrossCalls.load's
            calldata; see CrossCalls.vy): each
            settles one more L2 block when it comes. In sequenced mode it must build on
            the settled head under that head's slot-ending certificate for
            this slot and this block's parent; in based mode on the settled
            head, no certificate needed. NativeRollup.advance keeps its own
            rules: the due forced transactions must be in the block.
    """
    slot: uint256 = self._slot_of(block.timestamp)
    assert self.last_based_slot != slot or self.based_blocks == 0, (
        "based: this slot already has its based block"
    )
    based_mode: bool = self._based_mode()
    if not based_mode:
        assert slot_ending.kind == SLOT_ENDING, "based: the parent's certificate is not slot-ending"
        assert slot_ending.slot == slot, "based: the slot-ending certificate is for another slot"
        assert slot_ending.l1_parent == blockhash(block.number - 1), (
            "based: the slot-ending certificate is for another L1 parent"
        )
        self._check_certificate(slot_ending)
        assert slot_ending.block_hash == staticcall Rollup(self.rollup).head_hash(), (
            "based: the slot-ending block is not the settled head (missing or stale)"
        )
    self.last_based_slot = slot
    self.last_settled_slot = slot
    self.based_blocks += 1
    self.building = True
    if len(calls) > 0:
        assert self.cross_calls != empty(address), "based: no cross calls contract is bound"
        assert len(calls) >= 4 and convert(slice(calls, 0, 4), bytes4) == LOAD_SELECTOR, (
            "based: the calls are not an execution table"
        )
        raw_call(self.cross_calls, calls)

    for action: Action in before:
        self._run(action)
    extcall Rollup(self.rollup).advance(stateless_input)
    for action: Action in after:
        self._run(action)
    for assertion: Assertion in assertions:
        returned: Bytes[MAX_RETURN_BYTES] = raw_call(
            assertion.target, assertion.data, max_outsize=MAX_RETURN_BYTES, is_static_call=True
        )
        assert keccak256(returned) == assertion.expected, "based: an assertion failed"
    self.building = False

    block_hash: bytes32 = empty(bytes32)
    number: uint256 = 0
    block_hash, number = self._block_of(stateless_input)
    self.last_based_number = number
    log BasedBlockLanded(
        slot=slot, number=number, block_hash=block_hash, builder=msg.sender, based_mode=based_mode
    )


@external
def settle_call(
    caller: address, target: address, data_hash: bytes32,
    stateless_input: Bytes[execute_input.MAX_INPUT_BYTES],
):
    """
    @notice The cross calls contract only, inside a based block: queue L1
            `caller`'s call to L2 `target` and settle the L2 block that runs it.
    """
    assert msg.sender == self.cross_calls and msg.sender != empty(address), (
        "settle_call: only the cross calls contract"
    )
    assert self.building, "settle_call: only inside a based block"
    extcall Rollup(self.rollup).enqueue_call(caller, target, data_hash)
    extcall Rollup(self.rollup).advance(stateless_input)
    self.last_settled_slot = self._slot_of(block.timestamp)


@internal
def _run(action: Action):
    """
    @notice One L1 action of a based block; its failure reverts the whole
            block. Actions run as this contract, the rollup's sequencer: none
            may use that to queue a call from L1 in another's name or settle
            a block outside the rules here, nor reach the cross-call contract.
    """
    assert action.target != self.cross_calls or action.target == empty(address), (
        "based: an action may not call the cross calls contract"
    )
    if action.target == self.rollup and len(action.data) >= 4:
        selector: bytes4 = convert(slice(action.data, 0, 4), bytes4)
        assert selector != method_id("advance(bytes)", output_type=bytes4) and (
            selector != method_id("enqueue_call(address,address,bytes32)", output_type=bytes4)
        ), "based: an action may not queue calls or settle blocks as the sequencer"
    success: bool = False
    response: Bytes[MAX_RETURN_BYTES] = b""
    success, response = raw_call(
        action.target, action.data, max_outsize=MAX_RETURN_BYTES, value=action.value,
        revert_on_failure=False,
    )
    if not success:
        raw_revert(response)


# -- equivocation --

@external
@nonreentrant
def prove_equivocation(first: Certificate, second: Certificate):
    """
    @notice Two valid certificates that cannot both hold: one L2 height, two
            blocks; or one slot, two slot-ending promises. The caller takes the bond.
    """
    self._check_certificate(first)
    self._check_certificate(second)
    same_height: bool = (
        first.block_number == second.block_number and first.block_hash != second.block_hash
    )
    same_slot: bool = (
        first.kind == SLOT_ENDING and second.kind == SLOT_ENDING and first.slot == second.slot
        and (first.block_hash != second.block_hash or first.l1_parent != second.l1_parent)
    )
    assert same_height or same_slot, "equivocation: the certificates do not conflict"
    bond: uint256 = self.bond
    assert bond > 0, "equivocation: no bond left to pay"
    self.bond = 0
    raw_call(msg.sender, b"", value=bond)
    log EquivocationProven(
        block_number=first.block_number, slot=first.slot, prover=msg.sender, bond=bond
    )
