"""
The devnet's execution proofs: the demo prover registry, the proof pool that
EXECUTE consults in proofs mode, and whether an arriving proof lets waiting
transactions in.
"""

from prover.pool import ACCEPT, GossipResult, ProofPool
from prover.registry import ProverSet

from .config import DevnetConfig


def new_proof_pool(config: DevnetConfig) -> ProofPool:
    """A pool of the proof types the node accepts, from the demo provers ``config`` names."""
    provers = ProverSet.demo(config.chain_id, config.provers, config.inactive_provers)
    return ProofPool(provers, config.proof_types)


def completes_payload(pool: ProofPool, result: GossipResult, threshold: int) -> bool:
    """Whether an accepted proof brings its payload to the threshold EXECUTE asks for."""
    if result.verdict != ACCEPT:
        return False
    return len(pool.proof_types_for(result.public_input)) >= threshold
