"""Converters between py-evm blocks and NewPayloadRequest, checked by block hash both ways."""

import json

import pytest
import rlp

from nr.conformance import decode_fixture_block, fixture_chain
from precompile.payload import (
    InvalidPayload,
    block_to_new_payload_request,
    new_payload_request_to_block,
)
from precompile.requests import (
    InvalidRequests,
    compute_requests_hash,
    execution_requests_from_list,
    get_execution_requests_list,
)
from precompile.witness import execute_with_witness

from conftest import FIXTURES, needs_fixtures

CONVERSION_FIXTURES = [
    "BlockchainTests/ValidBlocks/bcEIP4844-blobtransactions/blockWithAllTransactionTypes.json",
    "BlockchainTests/ValidBlocks/bcExample/shanghaiExample.json",
    "blockchain_tests/prague/eip7685_general_purpose_el_requests/test_valid_multi_type_requests.json",
    "blockchain_tests/prague/eip7702_set_code_tx/test_set_code_to_sstore.json",
    "blockchain_tests/shanghai/eip4895_withdrawals/test_multiple_withdrawals_same_address.json",
]


def fixture_blocks(relative):
    """(vm_class, block, requests) for each valid block, requests from full-state execution."""
    for case in json.loads((FIXTURES / relative).read_text()).values():
        chain, vm_class, _ = fixture_chain(case)
        for block_fixture in case["blocks"]:
            if "expectException" in block_fixture:
                continue
            block = decode_fixture_block(block_fixture["rlp"], vm_class)
            execution = execute_with_witness(chain, block)
            assert execution.error is None
            yield vm_class, block, execution.requests
            chain.import_block(block)


@needs_fixtures
@pytest.mark.parametrize("relative", CONVERSION_FIXTURES)
def test_block_and_payload_convert_both_ways_by_hash(relative):
    converted = 0
    for vm_class, block, requests in fixture_blocks(relative):
        request = block_to_new_payload_request(block, requests)
        assert request.execution_payload.block_hash == block.hash
        rebuilt = new_payload_request_to_block(request, vm_class)
        assert rebuilt.header.hash == block.hash
        assert rlp.encode(rebuilt) == rlp.encode(block)
        assert block_to_new_payload_request(rebuilt, requests) == request
        converted += 1
    assert converted > 0


@needs_fixtures
def test_requests_change_the_block_hash():
    for vm_class, block, requests in fixture_blocks(CONVERSION_FIXTURES[2]):
        request = block_to_new_payload_request(block, requests)
        request.execution_requests.deposits = bytes(request.execution_requests.deposits) + b"\x00"
        assert new_payload_request_to_block(request, vm_class).header.hash != block.hash


@needs_fixtures
def test_cancun_payload_with_requests_is_refused():
    vm_class, block, requests = next(fixture_blocks(CONVERSION_FIXTURES[0]))
    request = block_to_new_payload_request(block, requests)
    request.execution_requests.withdrawals = b"\x01" * 76
    with pytest.raises(InvalidPayload, match="no execution requests"):
        new_payload_request_to_block(request, vm_class)


@needs_fixtures
def test_undecodable_transaction_is_named():
    vm_class, block, requests = next(fixture_blocks(CONVERSION_FIXTURES[0]))
    request = block_to_new_payload_request(block, requests)
    request.execution_payload.transactions[1] = b"\x02\xff"
    with pytest.raises(InvalidPayload, match="transaction 1 does not decode"):
        new_payload_request_to_block(request, vm_class)


def test_requests_list_round_trip_and_hash():
    el_requests = [b"\x00" + b"\x11" * 192, b"\x01", b"\x02" + b"\x22" * 116]
    execution_requests = execution_requests_from_list(el_requests)
    assert get_execution_requests_list(execution_requests) == [el_requests[0], el_requests[2]]
    # EIP-7685: empty request lists are left out of the hash.
    assert compute_requests_hash(el_requests) == compute_requests_hash(
        [el_requests[0], el_requests[2]]
    )
    assert compute_requests_hash([]) != compute_requests_hash([el_requests[0]])


@pytest.mark.parametrize(
    "el_requests, problem",
    [
        ([b"\x00\x01", b"\x00\x02"], "appears twice"),
        ([b"\x07\x01"], "unknown request types"),
        ([b"\x01" + bytes(2**16 + 1)], "SSZ bounds"),
    ],
)
def test_unrepresentable_requests_are_refused(el_requests, problem):
    with pytest.raises(InvalidRequests, match=problem):
        execution_requests_from_list(el_requests)
