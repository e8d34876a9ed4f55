"""
Reads the specification makes that py-evm skips, made by the witness host so
that the witness proves them and every engine can judge the block.

py-evm fails a CALL whose memory expansion or gas it cannot pay before it
looks at the target, and refuses an SSTORE in a static context before it
looks at the slot. The specification (EELS) reads first: a call's target
account, and since EIP-7702 the code it may delegate to, before charging the
call; an SSTORE's original and current value (when more than the 2,300-gas
stipend is left) before refusing a write in a static context. And EELS loads
an account with its code, where py-evm often reads a balance or nonce alone,
and reads each transaction's sender before checking its fees, where py-evm
refuses a fee cap below the base fee without reading it. revm loads every
account and slot a transaction's EIP-2930 access list names, which py-evm
only marks warm: the host reads those too. A witness of
py-evm's reads alone lacks those nodes, and EELS had to decline such blocks
(60 of stSStoreTest's Prague cases, 27 of stMemoryStressTest's).

Only the host makes these reads: the guest's engines read what they need and
a witness with more than that is still a witness.
"""

from functools import lru_cache
from typing import Callable

from eth.constants import EMPTY_SHA3
from eth.vm import opcode_values

from .engines.bytecode import DELEGATION_PREFIX, is_delegation

# The stipend a call passes on: EELS checks an SSTORE's gas against it before reading.
CALL_STIPEND = 2300


class ReadsFirst:
    """An opcode that makes ``read(computation)`` before it runs (and fails) as py-evm runs it."""

    def __init__(self, opcode, read: Callable) -> None:
        self.opcode, self.read = opcode, read

    def __getattr__(self, name: str):
        return getattr(self.opcode, name)

    def __call__(self, computation) -> None:
        self.read(computation)
        return self.opcode(computation=computation)


def stack_address(computation, depth: int) -> bytes:
    value = computation._stack.values[-depth]
    word = value.to_bytes(32, "big") if isinstance(value, int) else bytes(value).rjust(32, b"\0")
    return word[-20:]


def read_call_target(computation) -> None:
    """A CALL-family opcode's target account, and the code it delegates to (EIP-7702)."""
    if len(computation._stack.values) < 2:
        return  # the opcode fails on its stack; nothing is read
    code = computation.state.get_code(stack_address(computation, 2))
    if is_delegation(code) and len(code) == len(DELEGATION_PREFIX) + 20:
        computation.state.get_code(code[len(DELEGATION_PREFIX):])


def read_static_sstore_slot(computation) -> None:
    """An SSTORE's slot, original and current, where it is refused in a static context."""
    if not computation.msg.is_static or computation.get_gas_remaining() <= CALL_STIPEND:
        return
    if not computation._stack.values:
        return
    value = computation._stack.values[-1]
    slot = value if isinstance(value, int) else int.from_bytes(value, "big")
    address = computation.msg.storage_address
    computation.state.get_storage(address, slot, from_journal=False)
    computation.state.get_storage(address, slot)


SPEC_READS = {
    opcode_values.CALL: read_call_target,
    opcode_values.CALLCODE: read_call_target,
    opcode_values.DELEGATECALL: read_call_target,
    opcode_values.STATICCALL: read_call_target,
    opcode_values.SSTORE: read_static_sstore_slot,
}


def reading_code_with_accounts(account_db_class: type) -> type:
    """``account_db_class`` that reads an account's code whenever it reads the account."""

    class CodeWithAccounts(account_db_class):
        def _get_account(self, address, from_journal: bool = True):
            account = super()._get_account(address, from_journal)
            if account.code_hash != EMPTY_SHA3:
                self._journaldb.get(account.code_hash)  # read through, so the witness holds it
            return account

    return CodeWithAccounts


def reading_senders_first(state_class: type) -> type:
    """
    ``state_class`` that reads each transaction's sender, and what its access
    list names, before it validates the transaction.
    """

    class SendersFirst(state_class):
        def apply_transaction(self, transaction):
            try:
                sender = transaction.sender
            except Exception:  # no sender to recover: py-evm refuses it in its own words
                pass
            else:
                self.get_code(sender)
            for address, slots in getattr(transaction, "access_list", ()):
                self.get_code(address)
                for slot in slots:
                    self.get_storage(address, slot)
            return super().apply_transaction(transaction)

    return SendersFirst


@lru_cache(maxsize=None)
def spec_reading(vm_class: type) -> type:
    """``vm_class`` that also makes the reads the specification makes and py-evm skips."""
    state_class = vm_class.get_state_class()
    computation_class = state_class.computation_class
    opcodes = dict(computation_class.opcodes)
    for value, read in SPEC_READS.items():
        if value in opcodes:
            opcodes[value] = ReadsFirst(opcodes[value], read)
    computation = type(computation_class.__name__, (computation_class,), {"opcodes": opcodes})
    state = type(
        state_class.__name__,
        (reading_senders_first(state_class),),
        {
            "computation_class": computation,
            "account_db_class": reading_code_with_accounts(state_class.account_db_class),
        },
    )
    return type(vm_class.__name__, (vm_class,), {"_state_class": state})
