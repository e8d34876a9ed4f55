"""
The prover registry of an L1: which BLS keys may publish execution proofs,
and the signing domain they publish under (EIP-8025 keeps a prover
whitelist in the beacon state; a devnet keeps it in its configuration).
"""

from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, Optional

from .containers import Domain, Prover, ProverRegistry
from .signing import demo_prover_key, proof_domain

# Demo provers on a devnet: one per default proof type.
DEFAULT_PROVERS = 5


@dataclass
class ProverSet:
    l1_chain_id: int
    registry: ProverRegistry
    domain: Domain = field(init=False)

    def __post_init__(self) -> None:
        self.domain = proof_domain(self.l1_chain_id, self.registry)

    @classmethod
    def demo(
        cls, l1_chain_id: int, count: int = DEFAULT_PROVERS, inactive: Iterable[int] = ()
    ) -> "ProverSet":
        """The well-known provers: ``demo_prover_key(i)`` for i < count (public: unsafe)."""
        keys = [demo_prover_key(index).public_key for index in range(count)]
        return cls.of_keys(l1_chain_id, keys, inactive)

    @classmethod
    def of_keys(
        cls, l1_chain_id: int, public_keys: Iterable[bytes], inactive: Iterable[int] = ()
    ) -> "ProverSet":
        """Provers with these BLS public keys, in order, all active unless listed."""
        inactive = set(inactive)
        return cls(
            l1_chain_id,
            ProverRegistry(
                Prover(pubkey=key, active=index not in inactive)
                for index, key in enumerate(public_keys)
            ),
        )

    @classmethod
    def of_registry(cls, answer: Dict[str, Any]) -> "ProverSet":
        """The provers a node's ``nr_proverRegistry`` answer lists, active or not, in order."""
        return cls(
            int(answer["l1ChainId"], 16),
            ProverRegistry(
                Prover(pubkey=bytes.fromhex(entry["pubkey"][2:]), active=entry["active"])
                for entry in answer["provers"]
            ),
        )

    def prover(self, index: int) -> Optional[Prover]:
        return self.registry[index] if 0 <= index < len(self.registry) else None

    def active_key(self, index: int) -> Optional[bytes]:
        """The public key of prover ``index`` if it is registered and active, else None."""
        prover = self.prover(index)
        return bytes(prover.pubkey) if prover is not None and prover.active else None

    def __len__(self) -> int:
        return len(self.registry)
