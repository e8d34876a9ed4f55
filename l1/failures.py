"""
How a failed execution is told to clients: geth's words for each EVM error
(``core/vm/errors.go``, as anvil's tracers write them too), and the reason an
``Error(string)`` revert carries.
"""

from typing import Optional

from eth.exceptions import (
    ContractCreationCollision,
    FullStack,
    InsufficientFunds,
    InsufficientStack,
    InvalidInstruction,
    InvalidJumpDestination,
    OutOfBoundsRead,
    OutOfGas,
    ReservedBytesInCode,
    Revert,
    StackDepthLimit,
    VMError,
    WriteProtection,
)
from eth_abi import decode as abi_decode

# The selector of Solidity's and Vyper's ``Error(string)`` revert.
ERROR_STRING_SELECTOR = bytes.fromhex("08c379a0")
# The designated invalid opcode (EIP-141), which geth names INVALID.
INVALID_OPCODE = 0xFE

GETH_MESSAGES = {
    Revert: "execution reverted",
    OutOfGas: "out of gas",
    InvalidJumpDestination: "invalid jump destination",
    InsufficientStack: "stack underflow",
    FullStack: "stack limit reached 1024 (1023)",
    WriteProtection: "write protection",
    OutOfBoundsRead: "return data out of bounds",
    InsufficientFunds: "insufficient balance for transfer",
    StackDepthLimit: "max call depth exceeded",
    ContractCreationCollision: "contract address collision",
    ReservedBytesInCode: "invalid code: must not begin with 0xef",
}


def failure_message(error: VMError) -> str:
    """What geth says for ``error``: its message for the kind, or the error's own words."""
    for kind, message in GETH_MESSAGES.items():
        if isinstance(error, kind):
            return message
    if isinstance(error, InvalidInstruction):
        return invalid_instruction_message(str(error))
    return str(error) or "execution failed"


def invalid_instruction_message(detail: str) -> str:
    """
    py-evm raises InvalidInstruction for an undefined opcode, for INVALID and
    for a jump into push data; only its message ("Invalid opcode 0xfe @ 3",
    "Jump resulted in invalid instruction") tells which, and geth words each
    differently.
    """
    if detail.startswith("Invalid opcode 0x"):
        opcode = int(detail.split()[2], 16)
        if opcode == INVALID_OPCODE:
            return "invalid opcode: INVALID"
        return f"invalid opcode: opcode 0x{opcode:x} not defined"
    return "invalid jump destination"


def revert_reason(output: bytes) -> Optional[str]:
    """The reason of an ``Error(string)`` revert, if ``output`` is one."""
    if not output.startswith(ERROR_STRING_SELECTOR):
        return None
    try:
        (reason,) = abi_decode(["string"], output[len(ERROR_STRING_SELECTOR):])
    except Exception:  # malformed revert data is still revert data, without a reason
        return None
    return reason
