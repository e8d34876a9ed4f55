"""
End-of-block system calls whose outcome is already known.

Every Prague block calls the EIP-7002 and EIP-7251 request contracts from the
system address, with no data and no value. Their code reads nothing but its
own storage and the call itself, so the same code over the same storage does
the same thing every time, which on a devnet without requests is every block.
The first call runs the bytecode and records its storage reads and writes; a
later call with the same code and the same storage root repeats the reads (so
a witness recorded meanwhile holds the same trie nodes), the writes and the
output, without the EVM. Code that can see anything else (another account,
the block, the chain, the gas price of a call it makes) always runs.
"""

from collections import OrderedDict
from typing import List, NamedTuple, Optional, Tuple

# Opcodes whose result depends on more than the code, its own storage and the
# (fixed) system call: state of other accounts, the block, the chain, calls.
ENVIRONMENT_OPCODES = frozenset(
    [0x31, 0x3B, 0x3C, 0x3F]  # BALANCE, EXTCODESIZE, EXTCODECOPY, EXTCODEHASH
    + list(range(0x40, 0x4B))  # BLOCKHASH .. BLOBBASEFEE, CHAINID and SELFBALANCE among them
    + [0x5C, 0x5D]  # TLOAD, TSTORE
    + [0xF0, 0xF1, 0xF2, 0xF4, 0xF5, 0xFA, 0xFF]  # CREATE*, CALL*, SELFDESTRUCT
)
PUSH1, PUSH32 = 0x60, 0x7F
# Outcomes kept (a few per contract and storage root suffice).
MAX_REMEMBERED = 256

# One storage access of a system call: (address, slot, from_journal, None) for a
# read, (address, slot, None, value) for a write.
StorageAccess = Tuple[bytes, int, Optional[bool], Optional[int]]


class Outcome(NamedTuple):
    accesses: Tuple[StorageAccess, ...]
    output: bytes


def opcodes(code: bytes) -> List[int]:
    """The opcodes of ``code``, skipping push data."""
    found, position = [], 0
    while position < len(code):
        opcode = code[position]
        found.append(opcode)
        position += 1 + (opcode - PUSH1 + 1 if PUSH1 <= opcode <= PUSH32 else 0)
    return found


class SystemCallOutcomes:
    """Outcomes by (address, code hash, storage root) of code that sees only its storage."""

    def __init__(self) -> None:
        self.outcomes: "OrderedDict[tuple, Outcome]" = OrderedDict()
        self.self_contained: dict = {}

    def key(self, state, address: bytes, code: bytes) -> Optional[tuple]:
        """Where this call's outcome is filed, or None when it cannot be reused."""
        code_hash = state.get_code_hash(address)
        if code_hash not in self.self_contained:
            self.self_contained[code_hash] = ENVIRONMENT_OPCODES.isdisjoint(opcodes(code))
        # Storage changed earlier in the block is not yet in the account's storage root.
        if not self.self_contained[code_hash] or not state.storage_untouched(address):
            return None
        return (address, code_hash, state.storage_root_of(address))

    def replay(self, state, key: tuple) -> Optional[bytes]:
        """Repeat a remembered call's storage accesses; its output, or None if not seen."""
        outcome = self.outcomes.get(key)
        if outcome is None:
            return None
        for address, slot, from_journal, value in outcome.accesses:
            if value is None:
                state.get_storage(address, slot, from_journal=from_journal)
            else:
                state.set_storage(address, slot, value)
        return outcome.output

    def remember(self, key: tuple, accesses: List[StorageAccess], output: bytes) -> None:
        self.outcomes[key] = Outcome(tuple(accesses), output)
        while len(self.outcomes) > MAX_REMEMBERED:
            self.outcomes.popitem(last=False)

