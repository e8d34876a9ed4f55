"""
A fork's opcodes wrapped, and its stack read: what tracers and the witness
host's extra reads share. py-evm keeps stack items as ints or bytes side by
side, and a VM class runs the opcodes its computation class holds.
"""

from typing import Any, Callable, Dict, Optional


def stack_int(value) -> int:
    """A stack item as an integer."""
    return value if isinstance(value, int) else int.from_bytes(value, "big")


def stack_address(computation, depth: int) -> bytes:
    """The address in the stack item ``depth`` from the top (1 is the top)."""
    return stack_int(computation._stack.values[-depth]).to_bytes(32, "big")[-20:]


def with_opcodes(
    vm_class: type,
    wrap: Callable[[int, Any], Any],
    computation_fields: Optional[Dict[str, Any]] = None,
    **state_fields,
) -> type:
    """
    ``vm_class`` whose computation runs ``wrap(value, opcode)`` for each of
    its opcodes (and takes ``computation_fields`` besides), and whose state
    class takes ``state_fields`` besides.
    """
    state_class = vm_class.get_state_class()
    computation_class = state_class.computation_class
    opcodes = {value: wrap(value, opcode) for value, opcode in computation_class.opcodes.items()}
    computation = type(
        computation_class.__name__,
        (computation_class,),
        {"opcodes": opcodes, **(computation_fields or {})},
    )
    state = type(
        state_class.__name__, (state_class,), {"computation_class": computation, **state_fields}
    )
    return type(vm_class.__name__, (vm_class,), {"_state_class": state})
