# pragma version ~=0.4.3
"""
@title Synchronous calls between L1 and L2, the L1 end (the execution table)
@notice Inside a based block an L1 contract calls an L2 contract and gets its
        result in the same transaction: `call_l2(target, data)`.
        The based block carries an execution table (`Sequencing.build_based`'s
        `calls`), one entry per call into L2 in the order they come: who calls
        what, the L2 block that runs it (EXECUTE input), what it returns, the
        calls the L2 code makes back into L1 with their results, and a proof
        of the outcome the L2 block stored. On each call into L2:
        1. the next entry must be for this caller, target and calldata;
        2. L1 queues the call and settles the entry's L2 block through
           EXECUTE (Sequencing.settle_call): it must build on the settled
           head, and it can run the call only because L1 queued it;
        3. the L2 code's calls into L1 are performed here, in order, as this
           contract (the L2 caller is `l2_sender()` meanwhile): those whose L2
           frame was kept stay, the others are performed and undone, and
           each must give the result the table gave the L2 code;
        4. the outcome the L2 block stored (the call, its result, the table,
           the chain of kept L1 calls) is proven against the new state root
           and must be what L1 saw;
        5. the result is returned, or the revert data re-raised.
        Anything else reverts the based block: nothing happens on either side.
        A call into L2 from inside an L1 call the L2 code made is refused.
"""

MAX_CALL_BYTES: constant(uint256) = 1024
MAX_RETURN_BYTES: constant(uint256) = 1024
MAX_L1_CALLS: constant(uint256) = 8
MAX_ENTRIES: constant(uint256) = 4
MAX_ENTRY_INPUT_BYTES: constant(uint256) = 24576
MAX_PROOF_NODES: constant(uint256) = 16
MAX_NODE_BYTES: constant(uint256) = 532
# L2CrossCalls (an L2 predeploy) and where it keeps outcomes (its second map).
L2_CROSS_CALLS: constant(address) = 0x4200000000000000000000000000000000000030
OUTCOMES_SLOT: constant(uint256) = 1

interface Sequencing:
    def settle_call(
        caller: address, target: address, data_hash: bytes32,
        stateless_input: Bytes[MAX_ENTRY_INPUT_BYTES],
    ): nonpayable

interface Rollup:
    def head_number() -> uint256: view
    def message_count() -> uint256: view

interface L2State:
    def storage_at(
        rollup: address, l2_block: uint256, account: address, slot: bytes32,
        account_proof: DynArray[Bytes[MAX_NODE_BYTES], MAX_PROOF_NODES],
        storage_proof: DynArray[Bytes[MAX_NODE_BYTES], MAX_PROOF_NODES],
    ) -> uint256: view

# The same layout as L2CrossCalls.L1Call: both ends hash the table as ABI.
struct L1Call:
    l2_caller: address
    target: address
    data: Bytes[MAX_CALL_BYTES]
    success: bool
    returned: Bytes[MAX_RETURN_BYTES]
    kept: bool
    position: uint256

struct Entry:
    caller: address
    target: address
    data_hash: bytes32
    stateless_input: Bytes[MAX_ENTRY_INPUT_BYTES]
    success: bool
    returned: Bytes[MAX_RETURN_BYTES]
    l1_calls: DynArray[L1Call, MAX_L1_CALLS]
    account_proof: DynArray[Bytes[MAX_NODE_BYTES], MAX_PROOF_NODES]
    storage_proof: DynArray[Bytes[MAX_NODE_BYTES], MAX_PROOF_NODES]

event CallToL2:
    index: indexed(uint256)
    caller: indexed(address)
    target: indexed(address)
    success: bool
    l1_calls: uint256


sequencing: public(address)
rollup: public(address)
l2_state: public(address)

entries: transient(DynArray[Entry, MAX_ENTRIES])
consumed: transient(uint256)
replaying: transient(bool)
l2_sender: public(transient(address))


@deploy
def __init__(sequencing: address, rollup: address, l2_state: address):
    self.sequencing = sequencing
    self.rollup = rollup
    self.l2_state = l2_state


@external
def load(entries: DynArray[Entry, MAX_ENTRIES]):
    """@notice The sequencing contract only, as a based block starts: its execution table."""
    assert msg.sender == self.sequencing, "cross calls: only the sequencing contract loads a table"
    self.entries = entries
    self.consumed = 0


@external
def call_l2(target: address, data: Bytes[MAX_CALL_BYTES]) -> Bytes[MAX_RETURN_BYTES]:
    """@notice Call L2 contract `target` with `data`, from `msg.sender`: its return data."""
    assert not self.replaying, "cross calls: no call into L2 from an L1 call the L2 code made"
    position: uint256 = self.consumed
    assert position < len(self.entries), "cross calls: no entry in the execution table for this call"
    entry: Entry = self.entries[position]
    self.consumed = position + 1
    assert entry.caller == msg.sender, "cross calls: the entry is for another caller"
    data_hash: bytes32 = keccak256(data)
    assert entry.target == target and entry.data_hash == data_hash, (
        "cross calls: the entry is for another call"
    )

    extcall Sequencing(self.sequencing).settle_call(
        msg.sender, target, data_hash, entry.stateless_input
    )
    index: uint256 = staticcall Rollup(self.rollup).message_count()
    kept_chain: bytes32 = empty(bytes32)
    kept_count: uint256 = 0
    kept_chain, kept_count = self._perform(entry.l1_calls)

    outcome: bytes32 = keccak256(abi_encode(
        index, msg.sender, target, data_hash, entry.success, keccak256(entry.returned),
        keccak256(abi_encode(entry.l1_calls)), kept_chain, kept_count,
    ))
    slot: bytes32 = keccak256(abi_encode(OUTCOMES_SLOT, index))
    recorded: uint256 = staticcall L2State(self.l2_state).storage_at(
        self.rollup, staticcall Rollup(self.rollup).head_number(), L2_CROSS_CALLS, slot,
        entry.account_proof, entry.storage_proof,
    )
    assert recorded == convert(outcome, uint256), (
        "cross calls: the L2 block did not run the call as the entry says"
    )
    log CallToL2(
        index=index, caller=msg.sender, target=target, success=entry.success,
        l1_calls=len(entry.l1_calls),
    )
    if not entry.success:
        raw_revert(entry.returned)
    return entry.returned


@internal
def _perform(l1_calls: DynArray[L1Call, MAX_L1_CALLS]) -> (bytes32, uint256):
    """
    @notice The L2 code's calls into L1, in order: kept ones for good, the
            others undone; each must give the result the L2 code was given.
            The chain of the kept ones, as L2CrossCalls makes it.
    """
    self.replaying = True
    kept_chain: bytes32 = empty(bytes32)
    kept_count: uint256 = 0
    for call: L1Call in l1_calls:
        success: bool = False
        returned: Bytes[MAX_RETURN_BYTES] = b""
        # Each call runs on L1 after exactly the kept calls before it, as the
        # L2 code was served it: an undone one placed later, or the second of
        # two in one reverted L2 frame, would see other L1 state here.
        assert call.position == kept_count, "cross calls: an L1 call is out of place"
        assert call.target != self and call.target != self.sequencing and (
            call.target != self.rollup
        ), "cross calls: an L1 call may not target the cross-call, sequencing or rollup contract"
        if call.kept:
            self.l2_sender = call.l2_caller
            success, returned = raw_call(
                call.target, call.data, max_outsize=MAX_RETURN_BYTES, revert_on_failure=False
            )
            kept_chain = keccak256(abi_encode(
                kept_chain, call.l2_caller, call.target, keccak256(call.data), success,
                keccak256(returned),
            ))
            kept_count += 1
        else:
            success, returned = self._perform_undone(call)
        assert success == call.success and keccak256(returned) == keccak256(call.returned), (
            "cross calls: an L1 call did not return what the L2 code was given"
        )
    self.l2_sender = empty(address)
    self.replaying = False
    return kept_chain, kept_count


@internal
def _perform_undone(call: L1Call) -> (bool, Bytes[MAX_RETURN_BYTES]):
    """@notice Perform `call` inside a frame that reverts: its result, none of its effects."""
    # It always reverts: its revert data is the result; none means it ran out of gas.
    succeeded: bool = False
    response: Bytes[MAX_RETURN_BYTES + 128] = b""
    succeeded, response = raw_call(
        self, abi_encode(call.l2_caller, call.target, call.data, method_id=method_id(
            "perform_and_undo(address,address,bytes)"
        )),
        max_outsize=MAX_RETURN_BYTES + 128, revert_on_failure=False,
    )
    assert not succeeded and len(response) >= 64, "cross calls: an undone L1 call ran out of gas"
    return abi_decode(response, (bool, Bytes[MAX_RETURN_BYTES]))


@external
def perform_and_undo(l2_caller: address, target: address, data: Bytes[MAX_CALL_BYTES]):
    """@notice This contract only: perform a call, then revert with its result."""
    assert msg.sender == self, "cross calls: internal"
    self.l2_sender = l2_caller
    success: bool = False
    returned: Bytes[MAX_RETURN_BYTES] = b""
    success, returned = raw_call(
        target, data, max_outsize=MAX_RETURN_BYTES, revert_on_failure=False
    )
    raw_revert(abi_encode(success, returned))
