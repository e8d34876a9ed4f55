"""
The EXECUTE precompile: verify an L2 state transition from inside the L1 EVM.

Input is ``schema_id || SSZ(StatelessInput)``; on success the output is
``SSZ(StatelessValidationResult)``. Everything else fails closed: the call
fails and consumes all gas given to it. The gas rule and the per-block cap
are the native-rollups re-execution variant's; their values are parameters a
chain can set (``ExecuteParameters``), defaulting to the constants below.
"""

from dataclasses import dataclass
from typing import Optional, Protocol

from eth.abc import ComputationAPI
from eth.exceptions import VMError
from eth.vm.forks.cancun.constants import BLOB_TX_TYPE

from .constants import FORK_PRAGUE, PROOFS_MODE, REEXECUTE_MODE
from .encoding import DecodingError, decode
from .engines import REFERENCE_ENGINE
from .forks import FORK_RULES, ForkRules
from .guest import verify_stateless_new_payload
from .ssz import Root, StatelessInput, StatelessValidationResult

# Flat cost of every call: decoding, hashing and setting up the guest.
EXECUTE_BASE_GAS = 100_000
# Each input byte costs what a non-zero calldata byte costs (EIP-2028).
EXECUTE_GAS_PER_INPUT_BYTE = 16
# The most L2 gas (sum of payload gas limits) one L1 block may ask its
# validators to re-execute: one mainnet-sized L2 block.
EXECUTE_CUMULATIVE_GAS_LIMIT = 30_000_000
# In proofs mode a call pays this flat verification cost instead of the L2 gas
# limit: checking proofs a node already holds costs the same for any L2 block
# (the order of a SNARK verification on L1).
EXECUTE_PROOF_VERIFICATION_GAS = 200_000



@dataclass(frozen=True)
class ExecuteParameters:
    """A chain's EXECUTE constants."""

    base_gas: int = EXECUTE_BASE_GAS
    gas_per_input_byte: int = EXECUTE_GAS_PER_INPUT_BYTE
    cumulative_gas_limit: int = EXECUTE_CUMULATIVE_GAS_LIMIT
    # The execution engine this chain's nodes verify L2 blocks with.
    engine: str = REFERENCE_ENGINE
    mode: str = REEXECUTE_MODE
    # Proofs mode: distinct proof types an input needs, and the flat charge per call.
    proof_threshold: int = 3
    proof_verification_gas: int = EXECUTE_PROOF_VERIFICATION_GAS
    # Proofs mode: at least one of them a re-execution proof (checked by re-running the
    # block), so no set of signing keys alone can vouch for an invalid block.
    proof_requires_reexecution: bool = False

    @property
    def proof_requirement(self) -> "ProofRequirement":
        return ProofRequirement(self.proof_threshold, self.proof_requires_reexecution)


@dataclass(frozen=True)
class ProofRequirement:
    """What proofs mode asks of the proofs for one input."""

    # Distinct proof types.
    threshold: int
    # At least one of them a re-execution type.
    reexecution: bool = False

    def __str__(self) -> str:
        return f"{self.threshold}" + (" (one a re-execution)" if self.reexecution else "")


class ExecuteRefused(Exception):
    """The input is refused; the message says why. The call fails closed."""


class ExecuteFailed(VMError):
    """
    EXECUTE refused its input. As a non-revert VMError it makes py-evm fail
    the call and consume all gas given to it: fail-closed.
    """


class ProofsMissing(Exception):
    """Proofs mode: fewer distinct proof types than the threshold vouch for the input yet."""

    def __init__(
        self, reason: str, public_input=None, requirement: Optional["ProofRequirement"] = None
    ) -> None:
        super().__init__(reason)
        # What the proofs are for and what is asked of them, to ask again later.
        self.public_input, self.requirement = public_input, requirement


class ProofSource(Protocol):
    """Where a node in proofs mode finds execution proofs (``prover.pool.ProofPool``)."""

    def see(self, stateless_input: StatelessInput, encoded_input: bytes) -> object:
        """Note an EXECUTE input met, so provers may prove it."""

    def check(
        self, stateless_input: StatelessInput, encoded_input: bytes, requirement: ProofRequirement
    ):
        """
        The public input proofs meeting ``requirement`` vouch for (it has a
        ``new_payload_request_root``), else ``ProofsMissing``.
        """


def execute_gas(input_length: int, l2_gas_limit: int, parameters: ExecuteParameters) -> int:
    """``EXECUTE_BASE_GAS + gas_limit + 16 * len(input)``."""
    return parameters.base_gas + l2_gas_limit + parameters.gas_per_input_byte * input_length


def decode_execute_input(data: bytes) -> StatelessInput:
    try:
        return decode(data, StatelessInput)
    except DecodingError as error:
        raise ExecuteRefused(str(error)) from error


def validate_l2_payload(stateless_input: StatelessInput) -> None:
    """
    L2 rules are L1 rules (Prague), less what only a beacon chain can give an
    EL block: blob transactions, withdrawals and execution requests.
    """
    if int(stateless_input.chain_config.fork) != FORK_PRAGUE:
        raise ExecuteRefused(f"L2 fork {int(stateless_input.chain_config.fork)} is not Prague")
    request = stateless_input.new_payload_request
    payload = request.execution_payload
    if len(payload.withdrawals) > 0:
        raise ExecuteRefused("L2 payloads carry no withdrawals")
    if len(request.versioned_hashes) > 0 or any(
        len(tx) > 0 and tx[0] == BLOB_TX_TYPE for tx in payload.transactions
    ):
        raise ExecuteRefused("L2 payloads carry no blob transactions")
    requests = request.execution_requests
    if len(requests.deposits) or len(requests.withdrawals) or len(requests.consolidations):
        raise ExecuteRefused("L2 payloads carry no execution requests")


def verify_l2_block(
    stateless_input: StatelessInput,
    engine: str = REFERENCE_ENGINE,
    rules: ForkRules = FORK_RULES,
) -> bytes:
    """Run the guest; the encoded result if the block is valid, else ``ExecuteRefused``."""
    report = verify_stateless_new_payload(stateless_input, engine, rules=rules)
    if report.error is not None:
        raise ExecuteRefused(report.refusal)
    return report.result.encode_bytes()


def result_for(stateless_input: StatelessInput, new_payload_request_root: Root) -> bytes:
    """The encoded successful result proofs vouch for."""
    result = StatelessValidationResult(
        new_payload_request_root=new_payload_request_root,
        successful_validation=True,
        chain_config=stateless_input.chain_config,
    )
    return result.encode_bytes()


def execute(computation: ComputationAPI) -> ComputationAPI:
    """
    EXECUTE: charge for the input, decode it, then verify the L2 block:
    re-executing it statelessly (charging its gas limit against the block's
    cap), or, on a node in proofs mode, finding enough execution proofs for
    it in the node's proof source (charging a flat verification cost).

    The computation's state supplies ``execute_parameters``, ``proof_source``
    (or None), ``guest_rules``, ``reserve_execute_gas`` and ``note_awaiting_proofs``.
    """
    state = computation.state
    parameters = state.execute_parameters
    data = computation.msg.data_as_bytes
    computation.consume_gas(
        parameters.base_gas + parameters.gas_per_input_byte * len(data), reason="EXECUTE input"
    )
    try:
        stateless_input = decode_execute_input(data)
        validate_l2_payload(stateless_input)
        if parameters.mode != PROOFS_MODE:
            computation.output = reexecute(computation, stateless_input)
            if state.proof_source is not None:
                # Provers following this node prove what it re-executed.
                state.proof_source.see(stateless_input, data)
        else:
            computation.consume_gas(
                parameters.proof_verification_gas, reason="EXECUTE proof verification"
            )
            computation.output = accept_on_proofs(state, stateless_input, data)
    except ExecuteRefused as refusal:
        raise ExecuteFailed(f"EXECUTE: {refusal}") from refusal
    return computation


def reexecute(computation: ComputationAPI, stateless_input: StatelessInput) -> bytes:
    state = computation.state
    gas_limit = int(stateless_input.new_payload_request.execution_payload.gas_limit)
    computation.consume_gas(gas_limit, reason="EXECUTE L2 gas limit")
    state.reserve_execute_gas(gas_limit)
    return verify_l2_block(stateless_input, state.execute_parameters.engine, state.guest_rules)


def accept_on_proofs(state, stateless_input: StatelessInput, data: bytes) -> bytes:
    """The result the proofs vouch for, or a refusal the state notes as awaiting proofs."""
    if state.proof_source is None:
        raise ExecuteRefused("proofs mode, but this node keeps no proof pool")
    try:
        public_input = state.proof_source.check(
            stateless_input, data, state.execute_parameters.proof_requirement
        )
    except ProofsMissing as missing:
        state.note_awaiting_proofs(missing)
        raise ExecuteRefused(str(missing)) from missing
    return result_for(stateless_input, public_input.new_payload_request_root)
