"""The ``prover`` fixture: the shared prover's job, in-process, with the devnet's prover keys."""

from typing import List, Optional, Sequence

from prover.pool import sign_proof
from prover.proof_types import proof_system


class Prover:
    """Proves EXECUTE inputs with the L1 devnet's registered provers and gossips the proofs."""

    def __init__(self, devnet) -> None:
        self.devnet = devnet

    @property
    def pool(self):
        return self.devnet.proof_pool

    def prove(self, encoded_input: bytes, proof_types: Optional[Sequence[str]] = None) -> List:
        """
        One signed proof per proof type (by default every type the L1 accepts),
        prover ``i`` signing type ``i``, each submitted to the L1's proof pool;
        the pool's verdicts, in order (it ignores proofs past its per-payload bound).
        """
        keys, provers = self.devnet.prover_keys, self.devnet.provers
        verdicts = []
        for index, name in enumerate(proof_types or self.pool.accepted_types):
            signer = index % len(keys)
            key = keys[signer]
            proof = proof_system(name, provers, (signer, key)).prove(bytes(encoded_input))
            signed = sign_proof(proof, signer, key, provers)
            verdicts.append(self.devnet.submit_proof(signed.encode_bytes()))
        return verdicts
