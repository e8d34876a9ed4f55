"""What a piece of EVM bytecode may do, read off its instructions."""

from typing import Set

PUSH1, PUSH32 = 0x60, 0x7F
GASPRICE, COINBASE, GASLIMIT, BASEFEE = 0x3A, 0x41, 0x45, 0x48
CREATE, CALL, CALLCODE, DELEGATECALL, CREATE2, STATICCALL = 0xF0, 0xF1, 0xF2, 0xF4, 0xF5, 0xFA
# EIP-7702: an account whose code is this prefix and an address delegates to it.
DELEGATION_PREFIX = b"\xef\x01\x00"


def instructions(code: bytes) -> Set[int]:
    """The opcodes ``code`` holds, push data skipped."""
    found, index = set(), 0
    while index < len(code):
        opcode = code[index]
        found.add(opcode)
        index += 1 + (opcode - PUSH1 + 1 if PUSH1 <= opcode <= PUSH32 else 0)
    return found


def is_delegation(code: bytes) -> bool:
    return code.startswith(DELEGATION_PREFIX)
