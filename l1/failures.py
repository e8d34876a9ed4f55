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
# The selector of Solidity's ``Panic(uint256)`` revert (a failed assert, an overflow, ...).
PANIC_SELECTOR = bytes.fromhex("4e487b71")

# A panic code in the words a call's error gives it (anvil's, from alloy).
PANIC_DESCRIPTIONS = {
    0x00: "generic/unspecified error",
    0x01: "assertion failed",
    0x11: "arithmetic underflow or overflow",
    0x12: "division or modulo by zero",
    0x21: "failed to convert value into enum type",
    0x22: "storage byte array incorrectly encoded",
    0x31: "called `.pop()` on an empty array",
    0x32: "array out-of-bounds access",
    0x41: "memory allocation error",
    0x51: "called an invalid internal function",
}
# The same codes in the words of a call tracer's revertReason (geth's, as anvil's tracer gives).
TRACER_PANIC_REASONS = {
    0x00: "generic panic",
    0x01: "assert(false)",
    0x11: "arithmetic underflow or overflow",
    0x12: "division or modulo by zero",
    0x21: "enum overflow",
    0x22: "invalid encoded storage byte array accessed",
    0x31: "out-of-bounds array access; popping on an empty array",
    0x32: "out-of-bounds access of an array or bytesN",
    0x41: "out of memory",
    0x51: "uninitialized function",
}
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


def panic_code(output: bytes) -> Optional[int]:
    """The code of a ``Panic(uint256)`` revert, if ``output`` is one."""
    if len(output) != 36 or not output.startswith(PANIC_SELECTOR):
        return None
    return int.from_bytes(output[4:], "big")


def panic_message(code: int) -> str:
    """A panic as a call's error says it: ``panic: arithmetic underflow or overflow (0x11)``."""
    return f"panic: {PANIC_DESCRIPTIONS.get(code, 'unknown code')} ({code:#04x})"


def tracer_revert_reason(output: bytes) -> Optional[str]:
    """A call tracer's revertReason: an ``Error(string)`` reason, or a panic's (geth's words)."""
    code = panic_code(output)
    if code is None:
        return revert_reason(output)
    return TRACER_PANIC_REASONS.get(code, f"unknown panic code: {code:#x}")


def revert_reason(output: bytes) -> Optional[str]:
    """The reason of an ``Error(string)`` revert, if ``output`` is one."""
    if not output.startswith(ERROR_STRING_SELECTOR):
        return None
    try:
        (reason,) = abi_decode(["string"], output[len(ERROR_STRING_SELECTOR):])
    except Exception:  # malformed revert data is still revert data, without a reason
        return None
    return reason
