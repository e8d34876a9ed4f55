"""NativeRollups computation: Prague's, with EXECUTE in the precompile map."""

from eth._utils.address import force_bytes_to_address
from eth_utils.toolz import merge

from precompile.constants import EXECUTE_PRECOMPILE_ADDRESS
from precompile.execute import execute
from precompile.forks import PragueComputation

NATIVE_ROLLUPS_PRECOMPILES = merge(
    PragueComputation.get_precompiles(),
    {force_bytes_to_address(EXECUTE_PRECOMPILE_ADDRESS): execute},
)


class NativeRollupsComputation(PragueComputation):
    _precompiles = NATIVE_ROLLUPS_PRECOMPILES
