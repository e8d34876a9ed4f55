"""NativeRollups computation: Prague's, with EXECUTE in the precompile map."""

from eth._utils.address import force_bytes_to_address
from eth.abc import ComputationAPI
from eth.exceptions import VMError
from eth.vm.forks.prague.computation import PragueComputation
from eth_utils.toolz import merge

from precompile.execute import (
    EXECUTE_PRECOMPILE_ADDRESS,
    ExecuteRefused,
    decode_execute_input,
    validate_l2_payload,
    verify_l2_block,
)


class ExecuteFailed(VMError):
    """
    EXECUTE refused its input. As a non-revert VMError it makes py-evm fail
    the call and consume all gas given to it: fail-closed.
    """


def execute(computation: ComputationAPI) -> ComputationAPI:
    """
    EXECUTE: charge for the input, decode it, charge the L2 gas limit and
    count it against the block's cap, then verify the L2 block statelessly.
    """
    parameters = computation.state.execute_parameters
    data = computation.msg.data_as_bytes
    computation.consume_gas(
        parameters.base_gas + parameters.gas_per_input_byte * len(data), reason="EXECUTE input"
    )
    try:
        stateless_input = decode_execute_input(data)
        validate_l2_payload(stateless_input)
        gas_limit = int(stateless_input.new_payload_request.execution_payload.gas_limit)
        computation.consume_gas(gas_limit, reason="EXECUTE L2 gas limit")
        computation.state.reserve_execute_gas(gas_limit)
        computation.output = verify_l2_block(stateless_input, parameters.engine)
    except ExecuteRefused as refusal:
        raise ExecuteFailed(f"EXECUTE: {refusal}") from refusal
    return computation


NATIVE_ROLLUPS_PRECOMPILES = merge(
    PragueComputation.get_precompiles(),
    {force_bytes_to_address(EXECUTE_PRECOMPILE_ADDRESS): execute},
)


class NativeRollupsComputation(PragueComputation):
    _precompiles = NATIVE_ROLLUPS_PRECOMPILES
