"""Proving jobs give the same proofs in local worker processes and as Ray tasks."""

from precompile.encoding import encode
from prover.containers import ExecutionProof
from prover.proof_types import proof_system
from prover.signing import demo_prover_key
from prover.workers import LocalWorkers, RayWorkers

from chains import l2_block_input
from proving import PROVERS, prover_index

JOB_TIMEOUT = 180


def job(proof_type, data):
    index = prover_index(proof_type)
    return (
        proof_type, data, PROVERS.l1_chain_id, PROVERS.registry.encode_bytes(), index,
        demo_prover_key(index).to_bytes(),
    )


def test_ray_and_local_workers_give_the_same_verifying_proofs():
    data = encode(l2_block_input())
    proof_types = ("reexec-revm", "attested-pyevm")
    local, ray = LocalWorkers(2), RayWorkers("local")
    try:
        assert "Ray cluster local" in ray.describe()
        by_local = [local.submit(*job(t, data)) for t in proof_types]
        by_ray = [ray.submit(*job(t, data)) for t in proof_types]
        for proof_type, one, other in zip(proof_types, by_local, by_ray):
            encoded = one.result(timeout=JOB_TIMEOUT)
            assert other.result(timeout=JOB_TIMEOUT) == encoded
            assert proof_system(proof_type, PROVERS).verify(ExecutionProof.decode_bytes(encoded))
        # A refusal travels back as an error, not as a proof.
        refused = ray.submit(*job("attested-pyevm", b"\x00\x01garbage"))
        try:
            refused.result(timeout=JOB_TIMEOUT)
        except Exception as error:
            assert "malformed SSZ" in str(error)
        else:
            raise AssertionError("a job for an undecodable input returned a proof")
    finally:
        local.close()
        ray.close()
