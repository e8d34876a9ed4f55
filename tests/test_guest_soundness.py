"""
Soundness of the stateless guest: valid blocks validate, and every single
mutation of a valid input is rejected. Where a mutation would be caught by the
block hash alone, it is also tried *resealed* (block hash recomputed), so the
check that names the mutated field is the one exercised.
"""

import pytest
import rlp
from eth_hash.auto import keccak

from nr.testing.mutations import (
    public_key_of,
    reseal,
    signs_chain_id,
    with_changed_signature,
    without_each_node,
)
from precompile.encoding import DecodingError, decode, encode
from precompile.guest import INVALID, VALID, verify_stateless_new_payload
from precompile.ssz import StatelessInput

from conftest import valid_inputs


def rejected(stateless_input: StatelessInput) -> str:
    """The guest's rejection reason; fails the test if the input validates."""
    report = verify_stateless_new_payload(stateless_input)
    assert report.verdict == INVALID, report.error
    assert not report.result.successful_validation
    root = stateless_input.new_payload_request.hash_tree_root()
    assert report.result.new_payload_request_root == root
    return report.error


def test_valid_blocks_validate(soundness_inputs):
    for label, _, stateless_input in soundness_inputs:
        report = verify_stateless_new_payload(stateless_input)
        assert report.verdict == VALID, (label, report.error)
        assert report.result.successful_validation
        root = stateless_input.new_payload_request.hash_tree_root()
        assert report.result.new_payload_request_root == root
        assert report.result.chain_config == stateless_input.chain_config


@pytest.mark.parametrize("field", ["state_root", "receipts_root"])
def test_rejects_wrong_post_state_or_receipts_root(soundness_inputs, field):
    for _, _, original in soundness_inputs:
        mutated = original.copy()
        setattr(mutated.new_payload_request.execution_payload, field, keccak(b"not the root"))
        assert "block_hash" in rejected(mutated)
        assert field in rejected(reseal(mutated))


def test_rejects_wrong_gas_used(soundness_inputs):
    for _, _, original in soundness_inputs:
        mutated = original.copy()
        payload = mutated.new_payload_request.execution_payload
        payload.gas_used = int(payload.gas_used) - 1
        assert "block_hash" in rejected(mutated)
        assert "gas_used" in rejected(reseal(mutated))


def test_rejects_wrong_logs_bloom(soundness_inputs):
    for _, _, original in soundness_inputs:
        mutated = original.copy()
        payload = mutated.new_payload_request.execution_payload
        payload.logs_bloom = bytes(255) + bytes([bytes(payload.logs_bloom)[-1] ^ 1])
        assert "logs_bloom" in rejected(reseal(mutated))


@pytest.mark.parametrize("position", [0.0, 0.5, 1.0])
def test_rejects_one_changed_transaction_byte(soundness_inputs, position):
    for _, _, original in soundness_inputs:
        mutated = original.copy()
        transactions = mutated.new_payload_request.execution_payload.transactions
        encoded = bytearray(transactions[0])
        index = min(int(len(encoded) * position), len(encoded) - 1)
        encoded[index] ^= 0x01
        transactions[0] = bytes(encoded)
        rejected(mutated)
        try:
            resealed = reseal(mutated)
        except Exception:  # the changed byte broke the encoding: nothing to reseal
            continue
        rejected(resealed)


def test_rejects_changed_signature(soundness_inputs):
    """Even resealed and with the public key that the new signature recovers to."""
    for _, _, original in soundness_inputs:
        mutated = original.copy()
        transactions = mutated.new_payload_request.execution_payload.transactions
        transactions[0] = with_changed_signature(bytes(transactions[0]))
        assert "block_hash" in rejected(mutated)
        reseal(mutated)
        try:
            mutated.public_keys[0] = public_key_of(mutated, 0)
        except Exception:  # r is no longer on the curve: the signature has no key
            pass
        rejected(mutated)


def test_rejects_wrong_public_key(soundness_inputs):
    for _, _, original in soundness_inputs:
        mutated = original.copy()
        key = bytearray(mutated.public_keys[0])
        key[-1] ^= 0x01
        mutated.public_keys[0] = bytes(key)
        assert "public key 0" in rejected(mutated)


def test_rejects_missing_or_extra_public_key(soundness_inputs):
    for _, _, original in soundness_inputs:
        fewer = original.copy()
        fewer.public_keys.pop()
        assert "public keys for" in rejected(fewer)
        more = original.copy()
        more.public_keys.append(bytes(64))
        assert "public keys for" in rejected(more)


def test_rejects_each_removed_witness_node(soundness_inputs):
    """Every node the host recorded is one the guest needs."""
    for label, _, original in soundness_inputs[:4]:
        for index, mutated in without_each_node(original):
            report = verify_stateless_new_payload(mutated)
            assert report.verdict == INVALID, (label, index, report.error)


def test_rejects_each_removed_code(soundness_inputs):
    for label, _, original in soundness_inputs:
        for index in range(len(original.witness.codes)):
            mutated = original.copy()
            codes = list(mutated.witness.codes)
            del codes[index]
            mutated.witness.codes = codes
            report = verify_stateless_new_payload(mutated)
            assert report.verdict == INVALID, (label, index, report.error)


def test_rejects_changed_witness_node(soundness_inputs):
    for _, _, original in soundness_inputs:
        mutated = original.copy()
        node = bytearray(mutated.witness.state[0])
        node[-1] ^= 0x01
        mutated.witness.state[0] = bytes(node)
        rejected(mutated)


def test_extra_unrelated_witness_node_still_validates(soundness_inputs):
    for label, _, original in soundness_inputs:
        padded = original.copy()
        padded.witness.state.append(rlp.encode([b"\x20unrelated", b"leaf value"]))
        padded.witness.codes.append(b"\x60\x00\x60\x00\xfd")
        assert verify_stateless_new_payload(padded).result.successful_validation, label


def test_rejects_wrong_parent_header(soundness_inputs):
    for _, _, original in soundness_inputs:
        mutated = original.copy()
        last = len(mutated.witness.headers) - 1
        fields = rlp.decode(bytes(mutated.witness.headers[last]))
        fields[3] = keccak(b"another pre-state")  # state_root
        mutated.witness.headers[last] = rlp.encode(fields)
        assert "parent" in rejected(mutated)


def test_rejects_missing_parent_header(soundness_inputs):
    for _, _, original in soundness_inputs:
        mutated = original.copy()
        mutated.witness.headers = []
        assert "no headers" in rejected(mutated)


def test_rejects_header_chain_with_gap():
    inputs = list(valid_inputs("BlockchainTests/ValidBlocks/bcStateTests/blockhashTests.json"))
    long_chains = [s for _, _, s in inputs if len(s.witness.headers) >= 3]
    assert long_chains, "blockhashTests should need several ancestor headers"
    for original in long_chains:
        assert verify_stateless_new_payload(original).result.successful_validation
        mutated = original.copy()
        headers = list(mutated.witness.headers)
        del headers[len(headers) // 2]
        mutated.witness.headers = headers
        assert "witness header" in rejected(mutated)


def test_rejects_omitted_blockhash_ancestor():
    """Leaving out an ancestor BLOCKHASH reads is an error, never a zero hash."""
    inputs = list(valid_inputs("BlockchainTests/ValidBlocks/bcStateTests/blockhashTests.json"))
    for _, _, original in inputs:
        if len(original.witness.headers) < 2:
            continue
        mutated = original.copy()
        mutated.witness.headers = list(mutated.witness.headers)[1:]
        assert "MissingWitnessHeader" in rejected(mutated)


def test_rejects_wrong_chain_id(soundness_inputs):
    replay_protected = [s for _, _, s in soundness_inputs if signs_chain_id(s)]
    assert len(replay_protected) >= 4
    for original in replay_protected:
        mutated = original.copy()
        mutated.chain_config.chain_id = int(original.chain_config.chain_id) + 1
        assert "is for chain" in rejected(mutated)


def test_result_carries_the_chain_config_it_was_validated_under(soundness_inputs):
    """
    A block of only pre-EIP-155 transactions executes the same under any chain
    id; the result names the chain id, so a caller binding it cannot be fooled.
    """
    for _, _, original in soundness_inputs:
        other = original.copy()
        other.chain_config.chain_id = 424242
        assert verify_stateless_new_payload(other).result.chain_config.chain_id == 424242


def test_rejects_unknown_fork(soundness_inputs):
    _, _, original = soundness_inputs[0]
    mutated = original.copy()
    mutated.chain_config.fork = 99
    assert "not one of" in rejected(mutated)


def test_rejects_wrong_versioned_hashes(soundness_inputs):
    _, _, original = soundness_inputs[0]
    mutated = original.copy()
    mutated.new_payload_request.versioned_hashes.append(b"\x01" + bytes(31))
    assert "versioned_hashes" in rejected(mutated)


def test_rejects_wrong_execution_requests():
    inputs = valid_inputs(
        "blockchain_tests/prague/eip7685_general_purpose_el_requests/test_valid_multi_type_requests.json"
    )
    with_requests = [
        s
        for _, _, s in inputs
        if s.new_payload_request.execution_requests
        != type(s.new_payload_request.execution_requests)()
    ]
    assert with_requests
    for original in with_requests:
        mutated = original.copy()
        requests = mutated.new_payload_request.execution_requests
        requests.deposits = (
            bytes(requests.deposits)[:-1] if len(requests.deposits) else b"\x01" * 192
        )
        assert "block_hash" in rejected(mutated)
        assert "execution_requests" in rejected(reseal(mutated))


def test_rejects_truncated_buffer(soundness_inputs):
    for _, _, original in soundness_inputs:
        encoded = encode(original)
        for cut in (1, len(encoded) // 2, len(encoded) - 1):
            with pytest.raises(DecodingError):
                decode(encoded[:cut], StatelessInput)


def test_rejects_wrong_schema_id(soundness_inputs):
    _, _, original = soundness_inputs[0]
    encoded = encode(original)
    with pytest.raises(DecodingError, match="schema id"):
        decode(b"\x00\x02" + encoded[2:], StatelessInput)
    assert decode(encoded, StatelessInput) == original
