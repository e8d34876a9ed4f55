"""Test helpers for execution proofs: the demo prover set, proving and signing."""

from typing import Iterable, List, Optional

from prover.constants import DEFAULT_PROOF_TYPES
from prover.containers import ExecutionProof, SignedExecutionProof
from prover.pool import sign_proof
from prover.proof_types import proof_system
from prover.registry import ProverSet
from prover.signing import SecretKey, demo_prover_key

L1_CHAIN_ID = 31337
PROVERS = ProverSet.demo(L1_CHAIN_ID)


def prover_index(proof_type: str) -> int:
    """The demo setup gives each default proof type its own prover."""
    return DEFAULT_PROOF_TYPES.index(proof_type)


def prove(proof_type: str, data: bytes, provers: ProverSet = PROVERS) -> ExecutionProof:
    index = prover_index(proof_type)
    return proof_system(proof_type, provers, (index, demo_prover_key(index))).prove(data)


def sign(
    proof: ExecutionProof,
    index: int,
    provers: ProverSet = PROVERS,
    key: Optional[SecretKey] = None,
) -> SignedExecutionProof:
    return sign_proof(proof, index, key or demo_prover_key(index), provers)


def signed_proofs(
    data: bytes, proof_types: Iterable[str], provers: ProverSet = PROVERS
) -> List[SignedExecutionProof]:
    """Each proof type's proof of ``data``, signed by that type's demo prover."""
    return [
        sign(prove(proof_type, data, provers), prover_index(proof_type), provers)
        for proof_type in proof_types
    ]
