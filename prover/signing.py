"""
BLS signatures over execution proofs: Ethereum's ciphersuite (proof of
possession, BLS12-381, signatures in G2) from blspy, and the consensus
specs' domain and signing-root rules.

A prover's domain binds its signatures to one L1 chain and one prover
registry, so a proof signed for another devnet or another prover set does not
verify here.
"""

import hashlib
from typing import Sequence, Tuple

from blspy import G1Element, G2Element, PopSchemeMPL, PrivateKey
from remerkleable.complex import Container

from .constants import DOMAIN_EXECUTION_PROOF, PROOF_FORK_VERSION
from .containers import Domain, ForkData, ProofDomainData, ProverRegistry, SigningData

SECRET_KEY_BYTES = 32


class SecretKey:
    """A prover's BLS secret key."""

    def __init__(self, key: PrivateKey) -> None:
        self._key = key

    @classmethod
    def from_seed(cls, seed: bytes) -> "SecretKey":
        """EIP-2333 key generation from at least 32 bytes of seed."""
        return cls(PopSchemeMPL.key_gen(seed))

    @classmethod
    def from_bytes(cls, secret: bytes) -> "SecretKey":
        return cls(PrivateKey.from_bytes(secret))

    def to_bytes(self) -> bytes:
        return bytes(self._key)

    @property
    def public_key(self) -> bytes:
        return bytes(self._key.get_g1())

    def sign(self, message: bytes) -> bytes:
        return bytes(PopSchemeMPL.sign(self._key, message))


def prover_key(seed: bytes, index: int) -> SecretKey:
    """Prover ``index``'s key of a devnet whose provers were made from ``seed``."""
    return SecretKey.from_seed(hashlib.sha256(seed + b"native-rollups prover %d" % index).digest())


def demo_prover_key(index: int) -> SecretKey:
    """The devnet's well-known key for prover ``index`` (public: never for value)."""
    return SecretKey.from_seed(hashlib.sha256(b"native-rollups demo prover %d" % index).digest())


def verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """BLS Verify; malformed keys or signatures (not on the curve, not in the group) are False."""
    try:
        return PopSchemeMPL.verify(
            G1Element.from_bytes(bytes(public_key)), message, G2Element.from_bytes(bytes(signature))
        )
    except (ValueError, RuntimeError):
        return False


def verify_batch(items: Sequence[Tuple[bytes, bytes, bytes]]) -> bool:
    """
    True when every (public key, message, signature) verifies: one aggregate
    check (n + 1 pairings instead of 2n). False says some item fails, not which.
    """
    if not items:
        return True
    try:
        keys = [G1Element.from_bytes(bytes(key)) for key, _, _ in items]
        signature = PopSchemeMPL.aggregate([G2Element.from_bytes(bytes(s)) for _, _, s in items])
    except (ValueError, RuntimeError):
        return False
    return PopSchemeMPL.aggregate_verify(keys, [bytes(m) for _, m, _ in items], signature)


def compute_domain(domain_type: bytes, fork_version: bytes, genesis_root: bytes) -> Domain:
    """consensus-specs ``compute_domain``."""
    fork_data_root = ForkData(current_version=fork_version, genesis_validators_root=genesis_root)
    return Domain(domain_type + fork_data_root.hash_tree_root()[:28])


def compute_signing_root(message: Container, domain: bytes) -> bytes:
    """consensus-specs ``compute_signing_root``."""
    return SigningData(object_root=message.hash_tree_root(), domain=domain).hash_tree_root()


def proof_domain(l1_chain_id: int, registry: ProverRegistry) -> Domain:
    """``DOMAIN_EXECUTION_PROOF`` on this L1 for this prover registry."""
    binding = ProofDomainData(
        l1_chain_id=l1_chain_id, prover_registry_root=registry.hash_tree_root()
    )
    return compute_domain(DOMAIN_EXECUTION_PROOF, PROOF_FORK_VERSION, binding.hash_tree_root())
