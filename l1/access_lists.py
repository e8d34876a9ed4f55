"""
EIP-2930 access lists for ``eth_createAccessList``: the accounts and storage
slots a call touches, noted from its opcodes as anvil's (revm's) inspector
notes them, and the call again as an access-list transaction listing them,
for the gas it uses then.
"""

from dataclasses import dataclass
from typing import Dict, List, Set, Tuple

from eth._utils.address import generate_contract_address
from eth.vm.spoof import SpoofTransaction

from precompile.opcodes import stack_int

STORAGE_OPCODES = ("SLOAD", "SSTORE")
# Opcodes that touch the account the top of the stack names.
ACCOUNT_OPCODES = ("EXTCODECOPY", "EXTCODEHASH", "EXTCODESIZE", "BALANCE", "SELFDESTRUCT")
# Opcodes that call the account second from the top of the stack.
CALL_OPCODES = ("CALL", "CALLCODE", "DELEGATECALL", "STATICCALL")
ADDRESS_MASK = (1 << 160) - 1

# An access list: each address with the storage slots listed for it.
AccessList = List[Tuple[bytes, List[int]]]


class AccessListTracer:
    """Notes what a run touches, in the order it first touches it."""

    watched = STORAGE_OPCODES + ACCOUNT_OPCODES + CALL_OPCODES

    def __init__(self, left_out: Set[bytes]) -> None:
        self.left_out = left_out
        self.active = True
        self.touched: Dict[bytes, Dict[int, None]] = {}

    def before(self, computation, opcode) -> None:
        stack = computation._stack.values
        if opcode.mnemonic in STORAGE_OPCODES and stack:
            # Storage the call touches is listed even for the accounts left out.
            slots = self.touched.setdefault(computation.msg.storage_address, {})
            slots[stack_int(stack[-1])] = None
        elif opcode.mnemonic in ACCOUNT_OPCODES and stack:
            self.touch(stack[-1])
        elif opcode.mnemonic in CALL_OPCODES and len(stack) > 1:
            self.touch(stack[-2])

    def touch(self, word) -> None:
        account = (stack_int(word) & ADDRESS_MASK).to_bytes(20, "big")
        if account not in self.left_out:
            self.touched.setdefault(account, {})

    def after(self, computation, noted: None) -> None:
        pass

    @property
    def access_list(self) -> AccessList:
        return [(account, list(slots)) for account, slots in self.touched.items()]


def left_out_of_access_lists(vm, transaction) -> Set[bytes]:
    """
    The accounts an access list leaves out, as anvil's does: the sender, the
    account called or created, and the precompiles (each warm already).
    """
    sender = transaction.sender
    target = transaction.to or generate_contract_address(sender, transaction.nonce)
    precompiles = vm.get_state_class().computation_class.get_precompiles()
    return {sender, target, *precompiles}


def with_access_list(vm, transaction, access_list: AccessList) -> SpoofTransaction:
    """The call ``transaction`` as an EIP-2930 transaction listing ``access_list``."""
    unsigned = vm.get_transaction_builder().new_unsigned_access_list_transaction(
        chain_id=vm.chain_context.chain_id,
        nonce=transaction.nonce,
        gas_price=transaction.gas_price,
        gas=transaction.gas,
        to=transaction.to,
        value=transaction.value,
        data=transaction.data,
        access_list=access_list,
    )
    return SpoofTransaction(unsigned, from_=transaction.sender)


@dataclass(frozen=True)
class AccessListOutcome:
    """What a call touched, the gas it uses listing it, and that run (or the failed first)."""

    access_list: AccessList
    gas_used: int
    computation: object

