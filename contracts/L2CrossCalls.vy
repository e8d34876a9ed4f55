# pragma version ~=0.4.3
"""
@title Synchronous calls between L1 and L2, the L2 end (L2 predeploy)
@notice Runs a call an L1 contract made into L2 (`execute`), and serves the
        calls that L2 code makes back into L1 during it (`call_l1`) from the
        execution table the block's builder put in the block: what each L1
        call returns, as L1 will check when it replays them.
        - A call from L1 runs only if L1 queued it (the bridge records every
          CALL message the block anchors) and only once; its L2 code sees
          this contract as `msg.sender` and the L1 caller as `l1_caller()`.
        - An L1 call is served only while such a call runs: the first table
          entry made by the same L2 caller with the same target and calldata
          whose position (the kept L1 calls before it) is the current one.
        - L1 calls whose L2 frame survives are chained in storage, so a frame
          that reverts takes its L1 calls out of the chain: L1 performs the
          chained ones and performs-then-undoes the others.
        - The outcome (the call, its result, the table, the chain) is stored
          under the message index for L1 to prove against the settled root.
"""

BRIDGE: constant(address) = 0x4200000000000000000000000000000000000010
MAX_CALL_BYTES: constant(uint256) = 1024
MAX_RETURN_BYTES: constant(uint256) = 1024
MAX_L1_CALLS: constant(uint256) = 8
# Gas kept back from the L2 call for recording its outcome.
RECORD_GAS: constant(uint256) = 60_000

interface Bridge:
    def calls(index: uint256) -> bytes32: view

struct L1Call:
    l2_caller: address
    target: address
    data: Bytes[MAX_CALL_BYTES]
    success: bool
    returned: Bytes[MAX_RETURN_BYTES]
    # Whether the L2 frame that made it returned (L1 keeps its effects).
    kept: bool
    # How many kept L1 calls precede it.
    position: uint256

event CallFromL1:
    index: indexed(uint256)
    caller: indexed(address)
    target: indexed(address)
    success: bool

# Slot 0 and 1, as CrossCalls.vy on L1 proves them.
executed: public(HashMap[uint256, bool])
outcomes: public(HashMap[uint256, bytes32])

l1_caller: public(transient(address))
table: transient(DynArray[L1Call, MAX_L1_CALLS])
kept_chain: transient(bytes32)
kept_count: transient(uint256)


@external
def execute(
    index: uint256, caller: address, target: address, data: Bytes[MAX_CALL_BYTES],
    l1_calls: DynArray[L1Call, MAX_L1_CALLS],
):
    """
    @notice Run queued L1 message `index`, a call from L1 `caller` to `target`,
            serving the L2 code's calls into L1 from `l1_calls`.
    """
    assert self.l1_caller == empty(address), "execute: a call from L1 is already running"
    assert staticcall Bridge(BRIDGE).calls(index) == keccak256(
        abi_encode(caller, target, keccak256(data))
    ), "execute: L1 queued no such call"
    assert not self.executed[index], "execute: the call from L1 already ran"
    self.executed[index] = True
    self.l1_caller = caller
    self.table = l1_calls
    self.kept_chain = empty(bytes32)
    self.kept_count = 0
    assert msg.gas > RECORD_GAS, "execute: too little gas"
    success: bool = False
    returned: Bytes[MAX_RETURN_BYTES] = b""
    success, returned = raw_call(
        target, data, max_outsize=MAX_RETURN_BYTES, gas=msg.gas - RECORD_GAS,
        revert_on_failure=False,
    )
    self.outcomes[index] = keccak256(abi_encode(
        index, caller, target, keccak256(data), success, keccak256(returned),
        keccak256(abi_encode(l1_calls)), self.kept_chain, self.kept_count,
    ))
    self.l1_caller = empty(address)
    self.table = []
    log CallFromL1(index=index, caller=caller, target=target, success=success)


@external
def call_l1(target: address, data: Bytes[MAX_CALL_BYTES]) -> (bool, Bytes[MAX_RETURN_BYTES]):
    """
    @notice Call L1 `target` with `data` from the running call from L1: its
            success and return data, as the execution table gives them (L1
            replays the call and refuses the whole based block if they differ).
    """
    assert self.l1_caller != empty(address), "call_l1: only inside a call from L1"
    position: uint256 = self.kept_count
    data_hash: bytes32 = keccak256(data)
    for call: L1Call in self.table:
        if call.position == position and call.l2_caller == msg.sender and (
            call.target == target and keccak256(call.data) == data_hash
        ):
            self.kept_chain = keccak256(abi_encode(
                self.kept_chain, msg.sender, target, data_hash, call.success,
                keccak256(call.returned),
            ))
            self.kept_count = position + 1
            return call.success, call.returned
    raise "call_l1: no entry in the execution table for this call"
