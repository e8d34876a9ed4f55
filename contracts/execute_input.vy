# pragma version ~=0.4.3
"""
@title EXECUTE inputs and results
@notice Where contracts find fields in an encoded EXECUTE input (schema id ||
        SSZ StatelessInput) without decoding it, and how they read EXECUTE's
        answer.
"""

EXECUTE: constant(address) = 0x0000000000000000000000000000000000000101

# schema id (2 bytes) || SSZ(StatelessInput).
MAX_INPUT_BYTES: constant(uint256) = 262144
SCHEMA_ID_BYTES: constant(uint256) = 2
# SSZ(StatelessValidationResult): root (32) || success (1) || chain id (8) || fork (1).
RESULT_BYTES: constant(uint256) = 42
# Byte offsets of SSZ fields inside their containers (fixed parts; integers little-endian).
INPUT_CHAIN_ID: constant(uint256) = 8
REQUEST_PARENT_BEACON_ROOT: constant(uint256) = 8
PAYLOAD_PARENT_HASH: constant(uint256) = 0
PAYLOAD_STATE_ROOT: constant(uint256) = 52
PAYLOAD_PREV_RANDAO: constant(uint256) = 372
PAYLOAD_BLOCK_NUMBER: constant(uint256) = 404
PAYLOAD_GAS_USED: constant(uint256) = 420
PAYLOAD_TIMESTAMP: constant(uint256) = 428
PAYLOAD_BASE_FEE: constant(uint256) = 440
PAYLOAD_BLOCK_HASH: constant(uint256) = 472
PAYLOAD_TRANSACTIONS: constant(uint256) = 504
PAYLOAD_WITHDRAWALS: constant(uint256) = 508
INPUT_WITNESS_OFFSET: constant(uint256) = 4
# A bug proof compares two inputs word by word up to their witness.
MAX_COMPARED_WORDS: constant(uint256) = MAX_INPUT_BYTES // 32


@pure
@internal
def accepted(success: bool, response: Bytes[RESULT_BYTES], chain_id: uint64) -> bool:
    """
    @notice Whether EXECUTE's answer accepts the input as a valid block of this
            chain. (Callers make the call: passing the input here would copy it.)
    """
    if not success or len(response) != RESULT_BYTES:
        return False
    # The chain id check repeats the input's: a result only counts for the chain it names.
    return convert(slice(response, 32, 1), uint256) == 1 and self.le(
        slice(response, 33, 8)
    ) == convert(chain_id, uint256)


@pure
@internal
def le(data: Bytes[8]) -> uint256:
    """
    @notice A little-endian integer (SSZ's). Callers pass the few bytes
            sliced out: passing the whole input would copy it per call.
    """
    value: uint256 = 0
    for i: uint256 in range(8):
        if i == len(data):
            break
        value |= convert(slice(data, i, 1), uint256) << (8 * i)
    return value
