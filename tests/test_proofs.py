"""
Execution proofs: BLS signing against an independent implementation, each
proof type's soundness, and every execution_proof gossip rule triggered by a
crafted message.
"""

import pytest
from py_ecc.bls import G2ProofOfPossession as reference_bls

from nr.testing.mutations import mutated_encodings
from precompile.encoding import decode
from precompile.ssz import ChainConfig, StatelessValidationResult
from prover.constants import (
    DEFAULT_PROOF_TYPES,
    MAX_EXECUTION_PROOFS_PER_PAYLOAD,
    MAX_PROOF_SIZE,
)
from prover.containers import Attestation, ExecutionProof, PublicInput, SignedExecutionProof
from prover.pool import ACCEPT, IGNORE, REJECT, ProofPool
from prover.proof_types import ProofRefused, proof_system
from prover.registry import ProverSet
from prover.signing import SecretKey, demo_prover_key, verify, verify_batch

from proving import L1_CHAIN_ID, PROVERS, prove, prover_index, sign, signed_proofs


@pytest.fixture(scope="module")
def proofs(encoded_input):
    """Every default proof type's proof of the valid input, by name."""
    return {name: prove(name, encoded_input) for name in DEFAULT_PROOF_TYPES}


# -- BLS: the Ethereum ciphersuite, checked against py_ecc --


def test_bls_signatures_match_an_independent_implementation():
    secret = 0x2A5F3C  # any scalar below the group order
    ours = SecretKey.from_bytes(secret.to_bytes(32, "big"))
    message = b"\x11" * 32
    assert ours.public_key == reference_bls.SkToPk(secret)
    assert ours.sign(message) == reference_bls.Sign(secret, message)
    assert reference_bls.Verify(ours.public_key, message, ours.sign(message))
    assert verify(ours.public_key, message, reference_bls.Sign(secret, message))


def test_bls_verify_refuses_other_messages_keys_and_garbage():
    key, other = demo_prover_key(0), demo_prover_key(1)
    message = b"\x22" * 32
    signature = key.sign(message)
    assert verify(key.public_key, message, signature)
    assert not verify(key.public_key, b"\x23" * 32, signature)
    assert not verify(other.public_key, message, signature)
    assert not verify(key.public_key, message, other.sign(message))
    assert not verify(key.public_key, message, b"\x00" * 96)
    assert not verify(b"\x01" * 48, message, signature)
    flipped = bytearray(signature)
    flipped[40] ^= 1
    assert not verify(key.public_key, message, bytes(flipped))


def test_batch_verification_agrees_with_one_by_one():
    items = [(demo_prover_key(i).public_key, bytes([i]) * 32) for i in range(4)]
    signed = [(pk, m, demo_prover_key(i).sign(m)) for i, (pk, m) in enumerate(items)]
    assert verify_batch(signed)
    wrong = list(signed)
    wrong[2] = (wrong[2][0], b"\x99" * 32, wrong[2][2])
    assert not verify_batch(wrong)


# -- proof types --


@pytest.mark.parametrize("name", DEFAULT_PROOF_TYPES)
def test_each_proof_type_proves_and_verifies_a_valid_block(
    name, proofs, valid_input, encoded_input
):
    proof = proofs[name]
    # ere's execute: the guest's public output, without a proof.
    output = decode(proof_system(name, PROVERS).execute(encoded_input), StatelessValidationResult)
    assert output.successful_validation
    assert output.new_payload_request_root == valid_input.new_payload_request.hash_tree_root()
    assert proof_system(name, PROVERS).verify(proof)
    assert bytes(proof.public_input.new_payload_request_root) == bytes(
        valid_input.new_payload_request.hash_tree_root()
    )
    assert bytes(proof.public_input.chain_config_root) == bytes(
        valid_input.chain_config.hash_tree_root()
    )


@pytest.mark.parametrize("name", DEFAULT_PROOF_TYPES)
def test_no_proof_type_proves_an_invalid_block(name, valid_input):
    mutated = mutated_encodings(valid_input)
    for mutation in ("post_state_root", "transaction_byte", "removed_witness_node"):
        with pytest.raises(ProofRefused):
            prove(name, mutated[mutation])
        with pytest.raises(ProofRefused):
            proof_system(name, PROVERS).execute(mutated[mutation])
    with pytest.raises(ProofRefused):
        prove(name, b"\x00\x01 not ssz")


@pytest.mark.parametrize("name", DEFAULT_PROOF_TYPES)
def test_a_proof_does_not_verify_for_another_public_input(name, proofs):
    proof = proofs[name].copy()
    proof.public_input = PublicInput(
        new_payload_request_root=b"\x01" * 32,
        chain_config_root=proof.public_input.chain_config_root,
    )
    assert not proof_system(name, PROVERS).verify(proof)
    other_chain = proofs[name].copy()
    other_chain.public_input.chain_config_root = ChainConfig(chain_id=902, fork=2).hash_tree_root()
    assert not proof_system(name, PROVERS).verify(other_chain)


def test_a_reexecution_proof_of_an_invalid_block_does_not_verify(proofs, valid_input):
    invalid = mutated_encodings(valid_input)["post_state_root"]
    for name in ("reexec-pyevm", "reexec-revm"):
        forged = proofs[name].copy()
        forged.proof_data = invalid
        assert not proof_system(name, PROVERS).verify(forged)


def test_an_attestation_needs_an_active_registered_signer_on_this_l1(proofs, encoded_input):
    name = "attested-pyevm"
    proof = proofs[name]
    assert not proof_system(name, ProverSet.demo(L1_CHAIN_ID, inactive=[2])).verify(proof)
    assert not proof_system(name, ProverSet.demo(L1_CHAIN_ID, count=2)).verify(proof)
    # The same prover's attestation made for another L1 (another signing domain).
    elsewhere = ProverSet.demo(1)
    replayed = proof_system(name, elsewhere, (2, demo_prover_key(2))).prove(encoded_input)
    assert not proof_system(name, PROVERS).verify(replayed)
    # Signed by prover 3's key but naming prover 2.
    forged = proof.copy()
    attestation = Attestation.decode_bytes(bytes(proof.proof_data))
    attestation.signature = (
        proof_system(name, PROVERS, (3, demo_prover_key(3))).prove(encoded_input).proof_data[8:]
    )
    forged.proof_data = attestation.encode_bytes()
    assert not proof_system(name, PROVERS).verify(forged)
    # An attestation for another proof type does not carry over.
    relabelled = proofs["attested-eels"].copy()
    relabelled.proof_type = proof.proof_type
    assert not proof_system(name, PROVERS).verify(relabelled)
    truncated = proof.copy()
    truncated.proof_data = bytes(proof.proof_data)[:-1]
    assert not proof_system(name, PROVERS).verify(truncated)


# -- gossip rules, in the spec's order --


@pytest.fixture
def pool(valid_input, encoded_input):
    pool = ProofPool(PROVERS)
    pool.see(valid_input, encoded_input)
    return pool


def test_gossip_accepts_valid_proofs_and_counts_distinct_types(pool, proofs, valid_input):
    for name in DEFAULT_PROOF_TYPES[:3]:
        result = pool.submit(sign(proofs[name], prover_index(name)))
        assert result.verdict == ACCEPT, result
    assert pool.proof_types_for(proofs["reexec-pyevm"].public_input) == DEFAULT_PROOF_TYPES[:3]


def test_gossip_holds_proofs_for_an_unseen_payload_and_judges_them_once_seen(
    proofs, valid_input, encoded_input
):
    pool = ProofPool(PROVERS)
    signed = sign(proofs["attested-revm"], prover_index("attested-revm"))
    result = pool.submit(signed)
    assert (result.verdict, result.queued) == (IGNORE, True)
    assert pool.proof_types_for(signed.message.public_input) == ()
    pool.see(valid_input, encoded_input)
    assert pool.judge_held() == 1
    assert pool.proof_types_for(signed.message.public_input) == ("attested-revm",)


def test_held_proofs_are_signed_bytes_bounded_per_prover(proofs, monkeypatch):
    """
    A proof for an unseen payload is held only once its signature holds, as
    its bytes; one prover flooding unseen payloads evicts its own oldest, not
    another prover's.
    """
    pool = ProofPool(PROVERS)
    name = "attested-revm"
    forged = sign(proofs[name], prover_index(name))
    forged.signature = bytes(sign(proofs[name], 4).signature)  # another prover's signature
    refused = pool.submit(forged)
    assert refused.verdict == REJECT and "signature" in refused.reason and pool.queued == []

    def for_unseen_payload(index: int, validator: int):
        proof = proofs[name].copy()
        proof.public_input.new_payload_request_root = index.to_bytes(32, "big")
        return sign(proof, validator)

    size = len(for_unseen_payload(0, 1).encode_bytes())
    monkeypatch.setattr("prover.pool.MAX_HELD_BYTES_PER_PROVER", 3 * size)
    other = pool.submit(for_unseen_payload(100, 2))
    assert other.queued
    for index in range(10):
        pool.submit(for_unseen_payload(index, 1))
    held = [(held.validator, int.from_bytes(held.payload, "big")) for held in pool.queued]
    assert [validator for validator, _ in held].count(1) == 3
    assert [validator for validator, _ in held].count(2) == 1
    assert all(isinstance(held.data, bytes) and len(held.data) == size for held in pool.queued)


def test_gossip_ignores_a_second_valid_proof_of_a_type(pool, proofs):
    name = "attested-pyevm"
    assert pool.submit(sign(proofs[name], prover_index(name))).verdict == ACCEPT
    # The same type from another registered prover: one valid proof per (payload, type).
    again = pool.submit(sign(proofs[name], 4))
    assert again.verdict == IGNORE and "already held" in again.reason


def test_gossip_ignores_a_prover_second_try_after_an_invalid_first(pool, proofs, valid_input):
    name = "reexec-pyevm"
    invalid = proofs[name].copy()
    invalid.proof_data = mutated_encodings(valid_input)["gas_used"]
    first = pool.submit(sign(invalid, 0))
    assert first.verdict == REJECT and "does not verify" in first.reason
    second = pool.submit(sign(proofs[name], 0))
    assert second.verdict == IGNORE and "first proof" in second.reason
    # Another prover may still bring the valid one.
    assert pool.submit(sign(proofs[name], 1)).verdict == ACCEPT


def test_gossip_rejects_unknown_and_inactive_provers(valid_input, encoded_input, proofs):
    pool = ProofPool(ProverSet.demo(L1_CHAIN_ID, inactive=[1]))
    pool.see(valid_input, encoded_input)
    provers = pool.provers
    unknown = pool.submit(sign(proofs["attested-pyevm"], 7, provers, demo_prover_key(7)))
    assert unknown.verdict == REJECT and "not an active registered prover" in unknown.reason
    inactive = pool.submit(sign(proofs["attested-pyevm"], 1, provers))
    assert inactive.verdict == REJECT and "not an active" in inactive.reason


def test_gossip_rejects_bad_signatures_without_using_up_the_prover_slot(pool, proofs):
    name = "attested-eels"
    by_other_key = sign(proofs[name], 4, key=demo_prover_key(3))
    result = pool.submit(by_other_key)
    assert result.verdict == REJECT and "signature" in result.reason
    elsewhere = sign(proofs[name], 4, provers=ProverSet.demo(1))
    assert pool.submit(elsewhere).verdict == REJECT
    # The real prover 4 is not locked out by the forgeries.
    assert pool.submit(sign(proofs[name], 4)).verdict == ACCEPT


def test_gossip_rejects_empty_proof_data(pool, proofs):
    empty = proofs["reexec-revm"].copy()
    empty.proof_data = b""
    result = pool.submit(sign(empty, 1))
    assert result.verdict == REJECT and "empty" in result.reason


def test_gossip_rejects_oversized_proof_data(pool, proofs):
    signed = sign(proofs["attested-pyevm"], 2)
    encoded = signed.encode_bytes()
    # The message is the only variable-size part, and proof_data the message's, so
    # appending bytes lengthens proof_data past what the SSZ type can hold.
    oversized = encoded + b"\x00" * (MAX_PROOF_SIZE + 1 - len(signed.message.proof_data))
    result = pool.submit_bytes(oversized)
    assert result.verdict == REJECT and "larger than MAX_PROOF_SIZE" in result.reason
    assert pool.submit_bytes(encoded).verdict == ACCEPT


def test_gossip_rejects_proofs_that_do_not_verify_or_are_not_accepted(
    valid_input, encoded_input, proofs
):
    pool = ProofPool(PROVERS, accepted_types=("reexec-pyevm", "attested-pyevm"))
    pool.see(valid_input, encoded_input)
    not_accepted = pool.submit(sign(proofs["attested-eels"], 4))
    assert not_accepted.verdict == REJECT and "not accepted" in not_accepted.reason
    unknown_type = proofs["attested-eels"].copy()
    unknown_type.proof_type = 99
    assert pool.submit(sign(unknown_type, 4)).verdict == REJECT
    tampered = proofs["attested-pyevm"].copy()
    tampered.proof_data = bytes(tampered.proof_data)[:-1] + b"\x00"
    result = pool.submit(sign(tampered, 2))
    assert result.verdict == REJECT and "does not verify" in result.reason


def test_gossip_rejects_undecodable_messages(pool):
    for garbage in (b"", b"\x01\x02", b"\xff" * 300):
        result = pool.submit_bytes(garbage)
        assert result.verdict == REJECT and "not a SignedExecutionProof" in result.reason


def test_a_pool_keeps_at_most_max_execution_proofs_per_payload(pool, proofs):
    verdicts = [
        pool.submit(sign(proofs[name], prover_index(name))).verdict for name in DEFAULT_PROOF_TYPES
    ]
    assert verdicts.count(ACCEPT) == MAX_EXECUTION_PROOFS_PER_PAYLOAD
    assert verdicts[-1] == IGNORE


def test_signed_proofs_round_trip_through_ssz(encoded_input):
    for signed in signed_proofs(encoded_input, ("attested-revm",)):
        assert SignedExecutionProof.decode_bytes(signed.encode_bytes()) == signed
        assert ExecutionProof.decode_bytes(signed.message.encode_bytes()) == signed.message


def test_gossip_ignores_a_proof_whose_type_was_filled_while_it_was_verified(
    pool, proofs, monkeypatch
):
    import prover.pool as pool_module

    name = "reexec-revm"
    real_verify = pool_module.verify_execution_proof
    rival = sign(proofs[name], 4)
    rival_results, overtaken = [], []

    def verify_while_a_rival_lands(proof, provers, accepted):
        # The first verification is overtaken: another prover's proof of the same
        # type is judged and accepted before this one finishes.
        if not overtaken:
            overtaken.append(proof)
            rival_results.append(pool.submit(rival))
        return real_verify(proof, provers, accepted)

    monkeypatch.setattr(pool_module, "verify_execution_proof", verify_while_a_rival_lands)
    late = pool.submit(sign(proofs[name], prover_index(name)))
    assert rival_results[0].verdict == ACCEPT
    assert late.verdict == IGNORE and "already held" in late.reason
    assert pool.proofs(proofs[name].public_input) == [rival]
