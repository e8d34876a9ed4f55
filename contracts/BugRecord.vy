# pragma version ~=0.4.3
"""
@title Bug record
@notice Where anyone shows on chain that EXECUTE is broken for an L2 chain:
        it accepts two inputs that are the same L2 block (equal in
        everything but what executing it outputs) with different post-state
        roots. Execution is deterministic, so one of the two results is
        wrong. A Governance that limits its Security Council to proven bugs
        (Stage 2) reads `bug_proven` here.
"""

import execute_input

event BugProven:
    prover: indexed(address)
    parent_hash: bytes32
    first_state_root: bytes32
    second_state_root: bytes32


l2_chain_id: public(uint64)
bug_proven: public(bool)


@deploy
def __init__(l2_chain_id: uint64):
    self.l2_chain_id = l2_chain_id


@external
def prove_bug(
    first: Bytes[execute_input.MAX_INPUT_BYTES], second: Bytes[execute_input.MAX_INPUT_BYTES]
):
    """@notice Record a bug: EXECUTE accepts both inputs, one block with two post-states."""
    base: uint256 = execute_input.SCHEMA_ID_BYTES
    shortest: uint256 = base + execute_input.INPUT_CHAIN_ID + 8
    assert len(first) > shortest and len(second) > shortest, "prove_bug: input too short"
    request: uint256 = base + execute_input.le(slice(first, base, 4))
    witness: uint256 = base + execute_input.le(
        slice(first, base + execute_input.INPUT_WITNESS_OFFSET, 4)
    )
    payload: uint256 = request + execute_input.le(slice(first, request, 4))
    assert witness <= len(first) and witness <= len(second), "prove_bug: bad witness offset"
    # Up to the witness, the inputs may differ only in the outputs of execution.
    spans: DynArray[uint256[2], 4] = [
        [0, payload + execute_input.PAYLOAD_STATE_ROOT],
        [payload + execute_input.PAYLOAD_PREV_RANDAO, payload + execute_input.PAYLOAD_GAS_USED],
        [payload + execute_input.PAYLOAD_TIMESTAMP, payload + execute_input.PAYLOAD_BLOCK_HASH],
        [payload + execute_input.PAYLOAD_BLOCK_HASH + 32, witness],
    ]
    for span: uint256[2] in spans:
        position: uint256 = span[0]
        for i: uint256 in range(execute_input.MAX_COMPARED_WORDS):
            if position >= span[1]:
                break
            # Past the span's end (its last partial word), the bytes are not compared.
            ignored: uint256 = 8 * (32 - min(32, span[1] - position))
            assert convert(extract32(first, position), uint256) >> ignored == convert(
                extract32(second, position), uint256
            ) >> ignored, "prove_bug: the inputs are not the same L2 block"
            position += 32
    first_root: bytes32 = extract32(first, payload + execute_input.PAYLOAD_STATE_ROOT)
    second_root: bytes32 = extract32(second, payload + execute_input.PAYLOAD_STATE_ROOT)
    assert first_root != second_root, "prove_bug: both inputs claim the same post-state"
    success: bool = False
    response: Bytes[execute_input.RESULT_BYTES] = b""
    success, response = raw_call(
        execute_input.EXECUTE, first, max_outsize=execute_input.RESULT_BYTES,
        is_static_call=True, revert_on_failure=False,
    )
    assert execute_input.accepted(success, response, self.l2_chain_id), (
        "prove_bug: EXECUTE refuses the first input"
    )
    success, response = raw_call(
        execute_input.EXECUTE, second, max_outsize=execute_input.RESULT_BYTES,
        is_static_call=True, revert_on_failure=False,
    )
    assert execute_input.accepted(success, response, self.l2_chain_id), (
        "prove_bug: EXECUTE refuses the second input"
    )
    self.bug_proven = True
    log BugProven(
        prover=msg.sender,
        parent_hash=extract32(first, payload + execute_input.PAYLOAD_PARENT_HASH),
        first_state_root=first_root,
        second_state_root=second_root,
    )
