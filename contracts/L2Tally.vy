# pragma version ~=0.4.3
"""
@title A tally on L2 that L1 calls and that calls L1 back (a demo of synchronous calls)
@notice `tally` runs as a call from L1 (through L2CrossCalls). It counts the
        call, then, in a subcall it may catch, writes on L2 and bumps a
        counter on L1 (`bump_on_l1`). If the L1 call reverts, or the subcall
        fails after it (`fail_after`), the subcall's L2 write and its L1 call
        are both undone and `tally` counts a caught failure instead.
"""

interface L2CrossCalls:
    def l1_caller() -> address: view
    def call_l1(target: address, data: Bytes[1024]) -> (bool, Bytes[1024]): nonpayable

CROSS_CALLS: constant(address) = 0x4200000000000000000000000000000000000030

calls_from_l1: public(uint256)
last_l1_caller: public(address)
inner_writes: public(uint256)
caught: public(uint256)


@external
def tally(l1_counter: address, amount: uint256, fail_after: bool) -> uint256:
    """@notice From L1 only: bump `l1_counter` by `amount`; its new count, or 0 if the bump failed."""
    assert msg.sender == CROSS_CALLS, "tally: only a call from L1"
    self.calls_from_l1 += 1
    self.last_l1_caller = staticcall L2CrossCalls(CROSS_CALLS).l1_caller()
    ok: bool = False
    response: Bytes[32] = b""
    ok, response = raw_call(
        self,
        abi_encode(l1_counter, amount, fail_after, method_id=method_id("bump_on_l1(address,uint256,bool)")),
        max_outsize=32, revert_on_failure=False,
    )
    if not ok:
        self.caught += 1
        return 0
    return abi_decode(response, uint256)


@external
def bump_on_l1(l1_counter: address, amount: uint256, fail_after: bool) -> uint256:
    """@notice This contract only: the subtree that writes on L2 and calls L1."""
    assert msg.sender == self, "tally: internal"
    self.inner_writes += 1
    ok: bool = False
    response: Bytes[1024] = b""
    ok, response = extcall L2CrossCalls(CROSS_CALLS).call_l1(
        l1_counter, abi_encode(amount, method_id=method_id("bump(uint256)"))
    )
    if not ok:
        raw_revert(response)
    assert not fail_after, "tally: failing after the L1 call"
    return abi_decode(response, uint256)
