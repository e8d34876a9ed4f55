"""
SSZ containers of the shared prover, one class per concept.

``PublicInput``, ``ExecutionProof`` and ``SignedExecutionProof`` are
EIP-8025's. ``PublicInput`` also commits to the L2 chain configuration (later
EIP-8025 drafts bind it the same way): the guest's verdict depends on the
chain id, so a proof for one rollup must not count for another whose payload
happens to hash the same.
"""

from remerkleable.basic import boolean, uint8, uint64
from remerkleable.byte_arrays import ByteList, Bytes4, Bytes32, Bytes48, Bytes96
from remerkleable.complex import Container, List

from precompile.ssz import ChainConfig, Root, StatelessValidationResult

from .constants import MAX_PROOF_SIZE, MAX_PROVERS

ProofType = uint8
ValidatorIndex = uint64
BLSPubkey = Bytes48
BLSSignature = Bytes96
Domain = Bytes32


class PublicInput(Container):
    new_payload_request_root: Root
    chain_config_root: Root


class ExecutionProof(Container):
    proof_data: ByteList[MAX_PROOF_SIZE]
    proof_type: ProofType
    public_input: PublicInput


class SignedExecutionProof(Container):
    message: ExecutionProof
    validator_index: ValidatorIndex
    signature: BLSSignature


class Attestation(Container):
    """``proof_data`` of an attested proof: who ran the guest, and their signature."""

    prover_index: ValidatorIndex
    signature: BLSSignature


class AttestedExecution(Container):
    """What an attesting prover signs: this proof type's guest accepted this input."""

    proof_type: ProofType
    public_input: PublicInput


class Prover(Container):
    """A registry entry: a prover's key and whether it may publish now."""

    pubkey: BLSPubkey
    active: boolean


ProverRegistry = List[Prover, MAX_PROVERS]


class ForkData(Container):
    """phase0's ForkData, with the registry and the L1 chain in place of the validators root."""

    current_version: Bytes4
    genesis_validators_root: Root


class SigningData(Container):
    """phase0's SigningData: a message root mixed with its domain."""

    object_root: Root
    domain: Domain


class ProofDomainData(Container):
    """What a proof signature is bound to besides its message: one L1 and its prover set."""

    l1_chain_id: uint64
    prover_registry_root: Root


def public_input_of(new_payload_request_root: bytes, chain_config: ChainConfig) -> PublicInput:
    return PublicInput(
        new_payload_request_root=Root(new_payload_request_root),
        chain_config_root=chain_config.hash_tree_root(),
    )


def result_public_input(result: StatelessValidationResult) -> PublicInput:
    """The public input a guest's result vouches for."""
    return public_input_of(result.new_payload_request_root, result.chain_config)
