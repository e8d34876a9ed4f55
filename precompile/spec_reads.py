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
only marks warm, and loads the account or slot an instruction names before
charging for it (BALANCE, EXTCODE*, SELFDESTRUCT's beneficiary, SLOAD, and an
SSTORE's slot before its 2,300-gas check), where py-evm and the specification
run out of gas first: the host reads those too. py-evm writes EIP-4788's
beacon root and EIP-2935's parent hash into their contracts' storage without
running the contracts, whose SSTOREs read each slot first: on a block that
fails later, nothing else reads that storage, so the host reads those slots
as it writes them. A witness of
py-evm's reads alone lacks those nodes, and EELS had to decline such blocks
(60 of stSStoreTest's Prague cases, 27 of stMemoryStressTest's).

Only the host makes these reads: the guest's engines read what they need and
a witness with more than that is still a witness.
"""

from contextlib import contextmanager
from functools import lru_cache
from typing import Callable, Iterator

from eth.constants import EMPTY_SHA3
from eth.vm import opcode_values

from .engines.bytecode import DELEGATION_PREFIX, is_delegation
from .opcodes import stack_address, stack_int, with_opcodes

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


def read_call_target(computation) -> None:
    """A CALL-family opcode's target account, and the code it delegates to (EIP-7702)."""
    if len(computation._stack.values) < 2:
        return  # the opcode fails on its stack; nothing is read
    code = computation.state.get_code(stack_address(computation, 2))
    if is_delegation(code) and len(code) == len(DELEGATION_PREFIX) + 20:
        computation.state.get_code(code[len(DELEGATION_PREFIX):])


def read_named_account(computation) -> None:
    """The account (with its code) an instruction names on top of the stack."""
    if computation._stack.values:
        computation.state.get_code(stack_address(computation, 1))


def read_named_slot(computation) -> None:
    """The slot an SLOAD or SSTORE names on top of the stack, original and current."""
    if not computation._stack.values:
        return
    slot = stack_int(computation._stack.values[-1])
    address = computation.msg.storage_address
    computation.state.get_storage(address, slot, from_journal=False)
    computation.state.get_storage(address, slot)


def read_sstore_slot(computation) -> None:
    """
    An SSTORE's slot: EELS reads it before refusing a write in a static
    context (with more than the stipend left), revm before its stipend check
    outside one; in a static context revm refuses first.
    """
    if computation.msg.is_static and computation.get_gas_remaining() <= CALL_STIPEND:
        return
    read_named_slot(computation)


SPEC_READS = {
    opcode_values.CALL: read_call_target,
    opcode_values.CALLCODE: read_call_target,
    opcode_values.DELEGATECALL: read_call_target,
    opcode_values.STATICCALL: read_call_target,
    opcode_values.SSTORE: read_sstore_slot,
    opcode_values.SLOAD: read_named_slot,
    opcode_values.BALANCE: read_named_account,
    opcode_values.EXTCODESIZE: read_named_account,
    opcode_values.EXTCODECOPY: read_named_account,
    opcode_values.EXTCODEHASH: read_named_account,
    opcode_values.SELFDESTRUCT: read_named_account,
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


def read_sender_and_access_list(state, transaction) -> None:
    """A transaction's sender, and what its access list names, as the state reads them."""
    try:
        sender = transaction.sender
    except Exception:  # no sender to recover: py-evm refuses it in its own words
        pass
    else:
        state.get_code(sender)
    for address, slots in getattr(transaction, "access_list", ()):
        state.get_code(address)
        for slot in slots:
            state.get_storage(address, slot)


def reading_senders_first(apply_transaction: Callable) -> Callable:
    """A state's ``apply_transaction`` that reads the sender and access list first."""

    def apply(state, transaction):
        read_sender_and_access_list(state, transaction)
        return apply_transaction(state, transaction)

    return apply


@contextmanager
def slots_read_before_written(state) -> Iterator[None]:
    """While open, each ``state.set_storage`` reads the slot's pre-block value first."""
    write = state.set_storage

    def read_then_write(address: bytes, slot: int, value: int) -> None:
        state.get_storage(address, slot, from_journal=False)
        write(address, slot, value)

    state.set_storage = read_then_write
    try:
        yield
    finally:
        del state.set_storage


def reading_before_system_writes(vm_class: type) -> type:
    """``vm_class`` whose pre-block system writes read each slot first, as the contracts do."""

    class SystemWritesRead(vm_class):
        def block_preprocessing(self, block) -> None:
            with slots_read_before_written(self.state):
                super().block_preprocessing(block)

    return SystemWritesRead


@lru_cache(maxsize=None)
def spec_reading(vm_class: type) -> type:
    """``vm_class`` that also makes the reads the specification makes and py-evm skips."""

    def reading_first(value: int, opcode):
        read = SPEC_READS.get(value)
        return opcode if read is None else ReadsFirst(opcode, read)

    state_class = vm_class.get_state_class()
    return with_opcodes(
        reading_before_system_writes(vm_class),
        reading_first,
        apply_transaction=reading_senders_first(state_class.apply_transaction),
        account_db_class=reading_code_with_accounts(state_class.account_db_class),
    )
