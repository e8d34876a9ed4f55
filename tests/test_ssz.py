"""Property tests of the SSZ layer: round trips, and random bytes never escape the decoder."""

from hypothesis import given, settings
from hypothesis import strategies as st

from precompile.encoding import DecodingError, decode, encode
from precompile.ssz import (
    ChainConfig,
    ExecutionPayload,
    ExecutionRequests,
    ExecutionWitness,
    NewPayloadRequest,
    StatelessInput,
    StatelessValidationResult,
    Withdrawal,
)

hash32 = st.binary(min_size=32, max_size=32)
address = st.binary(min_size=20, max_size=20)
uint64 = st.integers(min_value=0, max_value=2**64 - 1)
small_bytes = st.binary(max_size=200)

withdrawals = st.builds(
    Withdrawal, index=uint64, validator_index=uint64, address=address, amount=uint64
)
payloads = st.builds(
    ExecutionPayload,
    parent_hash=hash32,
    fee_recipient=address,
    state_root=hash32,
    receipts_root=hash32,
    logs_bloom=st.binary(min_size=256, max_size=256),
    prev_randao=hash32,
    block_number=uint64,
    gas_limit=uint64,
    gas_used=uint64,
    timestamp=uint64,
    extra_data=st.binary(max_size=32),
    base_fee_per_gas=st.integers(min_value=0, max_value=2**256 - 1),
    block_hash=hash32,
    transactions=st.lists(small_bytes, max_size=4),
    withdrawals=st.lists(withdrawals, max_size=3),
    blob_gas_used=uint64,
    excess_blob_gas=uint64,
)
requests = st.builds(
    ExecutionRequests, deposits=small_bytes, withdrawals=small_bytes, consolidations=small_bytes
)
new_payload_requests = st.builds(
    NewPayloadRequest,
    execution_payload=payloads,
    versioned_hashes=st.lists(hash32, max_size=3),
    parent_beacon_block_root=hash32,
    execution_requests=requests,
)
witnesses = st.builds(
    ExecutionWitness,
    state=st.lists(small_bytes, max_size=5),
    codes=st.lists(small_bytes, max_size=3),
    headers=st.lists(small_bytes, max_size=3),
)
chain_configs = st.builds(ChainConfig, chain_id=uint64, fork=st.integers(0, 255))
stateless_inputs = st.builds(
    StatelessInput,
    new_payload_request=new_payload_requests,
    witness=witnesses,
    chain_config=chain_configs,
    public_keys=st.lists(st.binary(min_size=64, max_size=64), max_size=3),
)
results = st.builds(
    StatelessValidationResult,
    new_payload_request_root=hash32,
    successful_validation=st.booleans(),
    chain_config=chain_configs,
)


@settings(max_examples=150, deadline=None)
@given(stateless_inputs)
def test_stateless_input_round_trips(stateless_input):
    encoded = encode(stateless_input)
    decoded = decode(encoded, StatelessInput)
    assert decoded == stateless_input
    assert decoded.hash_tree_root() == stateless_input.hash_tree_root()
    assert encode(decoded) == encoded


@settings(max_examples=150, deadline=None)
@given(results)
def test_validation_result_round_trips(result):
    assert decode(encode(result), StatelessValidationResult) == result


@settings(max_examples=150, deadline=None)
@given(new_payload_requests, new_payload_requests)
def test_hash_tree_root_tells_requests_apart(first, second):
    assert (first.hash_tree_root() == second.hash_tree_root()) == (first == second)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_never_escape_the_decoder(data):
    for message_type in (StatelessInput, StatelessValidationResult):
        try:
            decode(data, message_type)
        except DecodingError:
            pass


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bodies_behind_a_valid_schema_id_never_escape(body):
    try:
        decoded = decode(b"\x00\x01" + body, StatelessInput)
    except DecodingError:
        return
    # Whatever decodes must be canonical: it re-encodes to the same bytes.
    assert encode(decoded) == b"\x00\x01" + body


@settings(max_examples=100, deadline=None)
@given(stateless_inputs, st.data())
def test_corrupted_encodings_never_escape(stateless_input, data):
    encoded = bytearray(encode(stateless_input))
    index = data.draw(st.integers(0, len(encoded) - 1))
    encoded[index] ^= data.draw(st.integers(1, 255))
    cut = data.draw(st.integers(0, len(encoded)))
    try:
        decode(bytes(encoded[:cut]), StatelessInput)
    except DecodingError:
        pass


def test_decode_errors_name_the_problem():
    encoded = encode(StatelessInput())
    cases = {
        b"": "too short",
        b"\x00": "too short",
        b"\x00\x07" + encoded[2:]: "schema id 0x0007",
        encoded[:-1]: "malformed SSZ",
    }
    for data, expected in cases.items():
        try:
            decode(data, StatelessInput)
        except DecodingError as error:
            assert expected in str(error)
        else:
            raise AssertionError(f"{data!r} decoded")
