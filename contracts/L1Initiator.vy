# pragma version ~=0.4.3
"""
@title An L1 contract that calls L2 and uses the result (a demo of synchronous calls)
@notice `run` calls an L2 contract through the cross-call contract and keeps
        the uint256 it returns; `try_run` does the same but catches an L2
        revert and counts it.
"""

interface CrossCalls:
    def call_l2(target: address, data: Bytes[1024]) -> Bytes[1024]: nonpayable

cross_calls: public(address)
last_result: public(uint256)
results: public(uint256)
failures: public(uint256)


@deploy
def __init__(cross_calls: address):
    self.cross_calls = cross_calls


@external
def run(target: address, data: Bytes[1024]) -> uint256:
    """@notice Call L2 `target` with `data`; what it returns (its revert reverts this)."""
    response: Bytes[1024] = extcall CrossCalls(self.cross_calls).call_l2(target, data)
    self.last_result = abi_decode(response, uint256)
    self.results += 1
    return self.last_result


@external
def try_run(target: address, data: Bytes[1024]):
    """@notice As `run`, counting a revert of the L2 call instead of reverting."""
    ok: bool = False
    response: Bytes[1088] = b""
    ok, response = raw_call(
        self.cross_calls,
        abi_encode(target, data, method_id=method_id("call_l2(address,bytes)")),
        max_outsize=1088, revert_on_failure=False,
    )
    if ok:
        self.last_result = abi_decode(abi_decode(response, Bytes[1024]), uint256)
        self.results += 1
    else:
        self.failures += 1
