"""
The L1 fork ``NativeRollups``: Prague plus the EXECUTE precompile.

Composed the py-evm way, VM -> State -> Computation, each a small subclass of
the Prague class (with this project's Prague fixes), so the fork is its diff.
"""

from typing import Type

from precompile.execute import ExecuteParameters
from precompile.forks import Prague

from .computation import NativeRollupsComputation, execute
from .state import NativeRollupsState


class NativeRollupsVM(Prague):
    fork = "native-rollups"
    _state_class = NativeRollupsState

    @classmethod
    def with_parameters(cls, parameters: ExecuteParameters) -> Type["NativeRollupsVM"]:
        """This fork with a chain's own EXECUTE constants."""
        state_class = type(
            "NativeRollupsState", (NativeRollupsState,), {"execute_parameters": parameters}
        )
        return type("NativeRollupsVM", (cls,), {"_state_class": state_class})


__all__ = ["NativeRollupsComputation", "NativeRollupsState", "NativeRollupsVM", "execute"]
