"""NativeRollups computation: Prague's, with EXECUTE in the precompile map."""

from eth._utils.address import force_bytes_to_address
from eth.abc import ComputationAPI
from eth.exceptions import VMError
from eth_utils.toolz import merge

from precompile.execute import (
    EXECUTE_PRECOMPILE_ADDRESS,
    PROOFS_MODE,
    ExecuteRefused,
    decode_execute_input,
    validate_l2_payload,
    verify_l2_block,
)
from precompile.forks import PragueComputation
from precompile.ssz import StatelessInput, StatelessValidationResult
from prover.pool import TooFewProofs


class ExecuteFailed(VMError):
    """
    EXECUTE refused its input. As a non-revert VMError it makes py-evm fail
    the call and consume all gas given to it: fail-closed.
    """


def execute(computation: ComputationAPI) -> ComputationAPI:
    """
    EXECUTE: charge for the input, decode it, then verify the L2 block:
    re-executing it statelessly (charging its gas limit against the block's
    cap), or, on a node in proofs mode, finding enough execution proofs for
    it in the node's pool (charging a flat verification cost).
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
            if state.proof_pool is not None:
                # Provers following this node prove what it re-executed.
                state.proof_pool.see(stateless_input, data)
        else:
            computation.consume_gas(
                parameters.proof_verification_gas, reason="EXECUTE proof verification"
            )
            computation.output = accept_on_proofs(state, stateless_input, data)
    except ExecuteRefused as refusal:
        raise ExecuteFailed(f"EXECUTE: {refusal}") from refusal
    return computation


def reexecute(computation: ComputationAPI, stateless_input: StatelessInput) -> bytes:
    gas_limit = int(stateless_input.new_payload_request.execution_payload.gas_limit)
    computation.consume_gas(gas_limit, reason="EXECUTE L2 gas limit")
    computation.state.reserve_execute_gas(gas_limit)
    return verify_l2_block(stateless_input, computation.state.execute_parameters.engine)


def accept_on_proofs(state, stateless_input: StatelessInput, data: bytes) -> bytes:
    """The result the proofs vouch for, or a refusal the state notes as awaiting proofs."""
    if state.proof_pool is None:
        raise ExecuteRefused("proofs mode, but this node keeps no proof pool")
    try:
        public_input = state.proof_pool.check(
            stateless_input, data, state.execute_parameters.proof_threshold
        )
    except TooFewProofs as missing:
        state.note_awaiting_proofs(str(missing))
        raise ExecuteRefused(str(missing)) from missing
    result = StatelessValidationResult(
        new_payload_request_root=public_input.new_payload_request_root,
        successful_validation=True,
        chain_config=stateless_input.chain_config,
    )
    return result.encode_bytes()


NATIVE_ROLLUPS_PRECOMPILES = merge(
    PragueComputation.get_precompiles(),
    {force_bytes_to_address(EXECUTE_PRECOMPILE_ADDRESS): execute},
)


class NativeRollupsComputation(PragueComputation):
    _precompiles = NATIVE_ROLLUPS_PRECOMPILES
