"""A precompile called outside a VM: what it outputs and charges, or that it fails."""

from types import SimpleNamespace

from eth.exceptions import VMError


class Computation(SimpleNamespace):
    """What a precompile reads and writes of a computation."""

    def __init__(self, data: bytes) -> None:
        super().__init__(msg=SimpleNamespace(data=data, data_as_bytes=data), output=b"", gas_used=0)

    def consume_gas(self, amount: int, reason: str) -> None:
        self.gas_used += amount


def outcome(precompile, data: bytes):
    """``(output, gas)``, or ``"fails"`` when the call fails (keeping no gas)."""
    computation = Computation(data)
    try:
        precompile(computation)
    except VMError:
        return "fails"
    return computation.output, computation.gas_used
