# pragma version ~=0.4.3
"""
@title EXECUTE probe
@notice Calls the EXECUTE precompile with an encoded StatelessInput and
        records what came back, so tests and users can see the precompile
        from an ordinary L1 contract.
"""

EXECUTE: constant(address) = 0x0000000000000000000000000000000000000101
# schema id (2 bytes) || SSZ(StatelessInput); larger inputs need a larger probe.
MAX_INPUT_BYTES: constant(uint256) = 262144
# SSZ(StatelessValidationResult): root (32) || success (1) || chain id (8) || fork (1).
RESULT_BYTES: constant(uint256) = 42

event Executed:
    new_payload_request_root: indexed(bytes32)
    chain_id: uint64
    success: bool

last_success: public(bool)
last_new_payload_request_root: public(bytes32)
last_chain_id: public(uint64)
verified_count: public(uint256)


@external
def execute(stateless_input: Bytes[MAX_INPUT_BYTES]) -> bool:
    """
    @notice STATICCALL EXECUTE and record the result. A refused input leaves
            success false (the precompile consumed the gas it was given).
    """
    success: bool = False
    response: Bytes[RESULT_BYTES] = b""
    success, response = raw_call(
        EXECUTE,
        stateless_input,
        max_outsize=RESULT_BYTES,
        is_static_call=True,
        revert_on_failure=False,
    )
    if success and len(response) == RESULT_BYTES:
        root: bytes32 = extract32(response, 0)
        chain_id: uint64 = self._le_uint64(slice(response, 33, 8))
        self.last_success = convert(slice(response, 32, 1), uint256) == 1
        self.last_new_payload_request_root = root
        self.last_chain_id = chain_id
        self.verified_count += 1
        log Executed(new_payload_request_root=root, chain_id=chain_id, success=self.last_success)
    else:
        self.last_success = False
        log Executed(new_payload_request_root=empty(bytes32), chain_id=0, success=False)
    return self.last_success


@internal
@pure
def _le_uint64(data: Bytes[8]) -> uint64:
    """SSZ integers are little-endian."""
    value: uint256 = 0
    for i: uint256 in range(8):
        value |= convert(slice(data, i, 1), uint256) << (8 * i)
    return convert(value, uint64)
