# pragma version ~=0.4.3
"""
@title Both ends of synchronous calls in one EVM state (the atomicity reference)
@notice With L1 and L2 contracts in one chain and this contract at the L2
        cross-call address, a call into L2 and a call back into L1 are plain
        calls, and a revert undoes exactly its subtree: what a based block
        with an execution table must match (rollup/merged_reference.py).
"""

l1_caller: public(transient(address))
l2_sender: public(transient(address))


@external
def call_l2(target: address, data: Bytes[1024]) -> Bytes[1024]:
    """@notice As CrossCalls.call_l2: the target's return data, its revert re-raised."""
    outer: address = self.l1_caller
    self.l1_caller = msg.sender
    ok: bool = False
    response: Bytes[1024] = b""
    ok, response = raw_call(target, data, max_outsize=1024, revert_on_failure=False)
    self.l1_caller = outer
    if not ok:
        raw_revert(response)
    return response


@external
def call_l1(target: address, data: Bytes[1024]) -> (bool, Bytes[1024]):
    """@notice As L2CrossCalls.call_l1: the call's success and return data."""
    outer: address = self.l2_sender
    self.l2_sender = msg.sender
    ok: bool = False
    response: Bytes[1024] = b""
    ok, response = raw_call(target, data, max_outsize=1024, revert_on_failure=False)
    self.l2_sender = outer
    return ok, response
