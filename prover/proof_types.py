"""
Proof types behind one small interface, the shape of eth-act's ``ere`` zkVM
interface: ``execute`` runs the guest program, ``prove`` produces a proof of
an input's validation, ``verify`` checks one; all over bytes and SSZ.

Two families ship, and neither is zero-knowledge:

- ``reexec-<engine>``: the proof data is the input itself and verifying runs
  the guest again with that engine. Sound, not succinct (and bounded by
  ``MAX_PROOF_SIZE``).
- ``attested-<engine>``: a registered prover ran the guest with that engine
  and signed the public input. Verifying is one BLS check against the prover
  registry: trust in the signer set, not a proof of computation.

A zkVM backend is one more ``ProofSystem`` subclass in ``PROOF_SYSTEMS``;
callers go through ``proof_system``/``verify_execution_proof`` and do not change.
"""

from abc import ABC, abstractmethod
from typing import Dict, Optional, Sequence, Tuple, Type

from precompile.encoding import DecodingError, decode, encode
from precompile.engines import EngineDeclined
from precompile.guest import verify_stateless_new_payload
from precompile.ssz import StatelessInput, StatelessValidationResult

from .constants import MAX_PROOF_SIZE, PROOF_TYPE_IDS, PROOF_TYPES
from .containers import (
    Attestation,
    AttestedExecution,
    ExecutionProof,
    PublicInput,
    result_public_input,
)
from .registry import ProverSet
from .signing import SecretKey, compute_signing_root, verify


class ProofRefused(Exception):
    """No proof can be made for this input (invalid block, undecodable, too large)."""


class ProofDeclined(ProofRefused):
    """This proof type's engine cannot run the block; another type may."""


class UnknownProofType(ValueError):
    """No proof type of that name or number."""


def run_guest(data: bytes, engine: str) -> StatelessValidationResult:
    """Decode and validate with ``engine`` alone; refuse what it cannot show valid."""
    try:
        stateless_input = decode(data, StatelessInput)
    except DecodingError as error:
        raise ProofRefused(str(error)) from error
    try:
        report = verify_stateless_new_payload(stateless_input, engine, fallback=False)
    except EngineDeclined as declined:
        raise ProofDeclined(f"{engine} cannot run this block: {declined}") from declined
    if report.error is not None:
        raise ProofRefused(f"no proof: {report.refusal}")
    return report.result


class ProofSystem(ABC):
    def __init__(
        self,
        name: str,
        engine: str,
        provers: ProverSet,
        signer: Optional[Tuple[int, SecretKey]] = None,
    ) -> None:
        self.name, self.engine = name, engine
        # The registry attestations verify against, and this prover's (index, key) if it signs.
        self.provers, self.signer = provers, signer

    @property
    def proof_type(self) -> int:
        return PROOF_TYPE_IDS[self.name]

    def execute(self, data: bytes) -> bytes:
        """The guest's public output for an encoded input (refuses an invalid one)."""
        return encode(run_guest(data, self.engine))

    @abstractmethod
    def prove(self, data: bytes) -> ExecutionProof:
        """A proof that the encoded ``StatelessInput`` validates; ``ProofRefused`` otherwise."""

    @abstractmethod
    def verify(self, proof: ExecutionProof) -> bool:
        """Whether ``proof`` shows its public input validated."""

    def _proof(self, proof_data: bytes, result: StatelessValidationResult) -> ExecutionProof:
        if len(proof_data) > MAX_PROOF_SIZE:
            raise ProofRefused(
                f"{self.name} proof would be {len(proof_data)} bytes, over MAX_PROOF_SIZE"
                f" {MAX_PROOF_SIZE}"
            )
        return ExecutionProof(
            proof_data=proof_data,
            proof_type=self.proof_type,
            public_input=result_public_input(result),
        )


class ReexecutionProof(ProofSystem):
    """The input is the proof; verifying re-runs the guest."""

    def prove(self, data: bytes) -> ExecutionProof:
        result = run_guest(data, self.engine)
        return self._proof(bytes(data), result)

    def verify(self, proof: ExecutionProof) -> bool:
        try:
            result = run_guest(bytes(proof.proof_data), self.engine)
        except ProofRefused:
            return False
        return result_public_input(result) == proof.public_input


class AttestedExecutionProof(ProofSystem):
    """A registered prover's signature that this engine's guest accepted the input."""

    def _signing_root(self, proof_type: int, public_input: PublicInput) -> bytes:
        claim = AttestedExecution(proof_type=proof_type, public_input=public_input)
        return compute_signing_root(claim, self.provers.domain)

    def prove(self, data: bytes) -> ExecutionProof:
        if self.signer is None:
            raise ProofRefused(f"{self.name} needs a prover key to attest with")
        result = run_guest(data, self.engine)
        index, key = self.signer
        signing_root = self._signing_root(self.proof_type, result_public_input(result))
        attestation = Attestation(prover_index=index, signature=key.sign(signing_root))
        return self._proof(attestation.encode_bytes(), result)

    def verify(self, proof: ExecutionProof) -> bool:
        try:
            attestation = Attestation.decode_bytes(bytes(proof.proof_data))
        except Exception:  # wrong length or layout: not an attestation
            return False
        public_key = self.provers.active_key(int(attestation.prover_index))
        if public_key is None:
            return False
        signing_root = self._signing_root(proof.proof_type, proof.public_input)
        return verify(public_key, signing_root, bytes(attestation.signature))


# name -> (system, engine); each name is in constants.PROOF_TYPES.
PROOF_SYSTEMS: Dict[str, Tuple[Type[ProofSystem], str]] = {
    "reexec-pyevm": (ReexecutionProof, "pyevm"),
    "reexec-revm": (ReexecutionProof, "revm"),
    "attested-pyevm": (AttestedExecutionProof, "pyevm"),
    "attested-revm": (AttestedExecutionProof, "revm"),
    "attested-eels": (AttestedExecutionProof, "eels"),
}


def proof_system(
    name: str, provers: ProverSet, signer: Optional[Tuple[int, SecretKey]] = None
) -> ProofSystem:
    try:
        system, engine = PROOF_SYSTEMS[name]
    except KeyError:
        raise UnknownProofType(
            f"proof type {name!r} is not one of {', '.join(PROOF_SYSTEMS)}"
        ) from None
    return system(name, engine, provers, signer)


def proof_type_names(text: str) -> Tuple[str, ...]:
    """A comma-separated list of proof type names, checked; 'all' is every type."""
    if text == "all":
        return tuple(PROOF_SYSTEMS)
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    for name in names:
        if name not in PROOF_SYSTEMS:
            raise UnknownProofType(
                f"proof type {name!r} is not one of {', '.join(PROOF_SYSTEMS)}"
            )
    if len(set(names)) != len(names) or not names:
        raise UnknownProofType(f"proof types must be distinct and at least one: {text!r}")
    return names


def verify_execution_proof(
    proof: ExecutionProof, provers: ProverSet, accepted: Sequence[str]
) -> Tuple[bool, str]:
    """EIP-8025 ``verify_execution_proof`` for the types a node accepts: (valid, why not)."""
    name = PROOF_TYPES.get(int(proof.proof_type))
    if name is None or name not in accepted:
        return False, f"proof type {int(proof.proof_type)} is not accepted here"
    if proof_system(name, provers).verify(proof):
        return True, ""
    return False, f"{name} proof does not verify"
