"""
The devnet's execution proofs: the demo prover registry, the proof pool that
EXECUTE consults in proofs mode, and whether an arriving proof lets waiting
transactions in.
"""

import secrets
from typing import List

from precompile.execute import ProofRequirement
from prover.pool import ACCEPT, GossipResult, ProofPool
from prover.registry import ProverSet
from prover.signing import SecretKey, demo_prover_key, prover_key

from .config import DevnetConfig


def new_prover_keys(config: DevnetConfig) -> List[SecretKey]:
    """The registered provers' keys: fresh from a random seed, or the public demo keys if asked."""
    if config.deterministic_provers:
        return [demo_prover_key(index) for index in range(config.provers)]
    seed = secrets.token_bytes(32)
    return [prover_key(seed, index) for index in range(config.provers)]


def new_proof_pool(config: DevnetConfig, keys: List[SecretKey]) -> ProofPool:
    """A pool of the proof types the node accepts, from the provers with ``keys``."""
    provers = ProverSet.of_keys(
        config.chain_id, [key.public_key for key in keys], config.inactive_provers
    )
    return ProofPool(provers, config.proof_types)


def completes_payload(pool: ProofPool, result: GossipResult, requirement: ProofRequirement) -> bool:
    """Whether an accepted proof brings its payload to what EXECUTE asks of its proofs."""
    return result.verdict == ACCEPT and pool.meets(result.public_input, requirement)
