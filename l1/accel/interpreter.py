"""
A faster py-evm interpreter loop, same semantics: the two costs that py-evm
pays on every opcode and that do not need to be paid.

- Charging an opcode's static gas goes through two method calls and a debug
  log check (``Computation.consume_gas`` -> ``GasMeter.consume_gas``); here
  it is one comparison and one subtraction on the gas meter.
- Popping integers from the stack builds a generator and a reversed slice;
  here it is a loop over ``list.pop``. Pushing validates through a helper
  call per value; here valid values (the only kind opcodes push) are checked
  inline and only others go to py-evm's validation, for its error.

Together about a fifth of py-evm's time on compute-heavy code. And each
frame remembers its SELFDESTRUCT beneficiaries once collected, reads
memory with one copy, not two, and lets go of a finished call's input and
memory; GAS, TSTORE and TLOAD skip checks that what they take from the frame
cannot fail (below). Fork classes
mix ``FasterInterpreter`` into their computation (``l1.accel.forks``).
"""

from typing import Dict, List, Optional, Tuple

from eth.abc import OpcodeAPI
from eth.constants import UINT_256_MAX
from eth.exceptions import FullStack, InsufficientStack, OutOfGas, WriteProtection
from eth.validation import validate_stack_bytes, validate_stack_int
from eth.vm.forks.cancun import logic as cancun_logic
from eth.vm.logic import flow
from eth.vm.memory import Memory
from eth.vm.opcode import _FastOpcode
from eth.vm.stack import Stack
from eth_typing import Address
from eth_utils import int_to_big_endian

# The EVM's stack limit (py-evm checks for more than this many before a push).
STACK_LIMIT = 1024


class GasChargingOpcode(_FastOpcode):
    """An opcode with a static cost, charged inline."""

    __slots__ = ()

    def __call__(self, computation) -> None:
        meter = computation._gas_meter
        if self.gas_cost > meter.gas_remaining:
            raise OutOfGas(
                f"Out of gas: Needed {self.gas_cost} - Remaining {meter.gas_remaining}"
                f" - Reason: {self.mnemonic}"
            )
        meter.gas_remaining -= self.gas_cost
        return self.logic_fn(computation)


def gas_left(computation) -> None:
    """
    GAS. py-evm's first asks whether the frame failed and burned its gas (a
    frame that is still running has not failed).
    """
    computation._stack.push_int(computation._gas_meter.gas_remaining)


def transient_key(computation, slot: int) -> bytes:
    """Where EIP-1153's storage keeps a slot of the running contract (py-evm's key)."""
    return computation.msg.storage_address + int_to_big_endian(slot)


def tstore(computation) -> None:
    """
    EIP-1153's TSTORE as py-evm's (at the verified version), without checking
    again that the address, slot and value it takes from the frame and the
    stack are well formed; the same journal written.
    """
    if computation.msg.is_static:
        raise WriteProtection("Cannot modify state while inside of a STATICCALL context")
    stack = computation._stack
    key = transient_key(computation, stack.pop1_int())
    computation.state.transient_storage._db[key] = stack.pop1_bytes()


def tload(computation) -> None:
    """EIP-1153's TLOAD, as ``tstore``."""
    key = transient_key(computation, computation._stack.pop1_int())
    computation._stack.push_bytes(computation.state.transient_storage._db.get(key, b""))


# py-evm's logic -> the same logic here, for the opcodes that run it.
FASTER_LOGIC = {flow.gas: gas_left, cancun_logic.tstore: tstore, cancun_logic.tload: tload}


def faster_opcodes(opcodes: Dict[int, OpcodeAPI]) -> Dict[int, OpcodeAPI]:
    """
    ``opcodes`` with every plain static-cost opcode charging inline, some
    running faster logic (``FASTER_LOGIC``); the rest as they are.
    """
    return {
        value: GasChargingOpcode(
            FASTER_LOGIC.get(opcode.logic_fn, opcode.logic_fn), opcode.mnemonic, opcode.gas_cost
        )
        if type(opcode) is _FastOpcode
        else opcode
        for value, opcode in opcodes.items()
    }


class FasterStack(Stack):
    __slots__ = ()

    def push_int(self, value: int) -> None:
        if len(self.values) >= STACK_LIMIT:
            raise FullStack("Stack limit reached")
        if type(value) is not int or not 0 <= value <= UINT_256_MAX:
            validate_stack_int(value)
        self.values.append(value)

    def push_bytes(self, value: bytes) -> None:
        if len(self.values) >= STACK_LIMIT:
            raise FullStack("Stack limit reached")
        if type(value) is not bytes or len(value) > 32:
            validate_stack_bytes(value)
        self.values.append(value)

    def pop1_int(self) -> int:
        try:
            value = self.values.pop()
        except IndexError:
            raise InsufficientStack("Wanted 1 stack item, had none") from None
        return value if type(value) is int else int.from_bytes(value, "big")

    def pop1_bytes(self) -> bytes:
        try:
            value = self.values.pop()
        except IndexError:
            raise InsufficientStack("Wanted 1 stack item, had none") from None
        return value if type(value) is bytes else int_to_big_endian(value)

    def pop_ints(self, num_items: int) -> Tuple[int, ...]:
        values = self.values
        if num_items > len(values):
            raise InsufficientStack(f"Wanted {num_items} stack items, only had {len(values)}")
        popped = []
        for _ in range(num_items):
            value = values.pop()
            popped.append(value if type(value) is int else int.from_bytes(value, "big"))
        return tuple(popped)


class FasterMemory(Memory):
    def read_bytes(self, start_position: int, size: int) -> bytes:
        # py-evm's slices the bytearray (a copy) and copies that into bytes: one copy
        # here. Every call reads its input so; tests with 50,000 calls spent a tenth
        # of their time in the two copies.
        return memoryview(self._bytes)[start_position : start_position + size].tobytes()


class FasterInterpreter:
    """Mixed in before a py-evm computation class; its ``opcodes`` must be set with it."""

    # The frame's SELFDESTRUCT beneficiaries and those of the frames below it, with the
    # shape of the frame they were collected from (children, own beneficiaries, failed).
    _collected_beneficiaries: Optional[Tuple[Tuple[int, int, bool], List[Address]]] = None

    # Whether finished calls keep their input and memory (a tracer reads them afterwards).
    keeps_finished_calls = False

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._stack = FasterStack()
        self._memory = FasterMemory()

    def add_child_computation(self, child_computation) -> None:
        super().add_child_computation(child_computation)
        if not self.keeps_finished_calls:
            let_go_of_finished_call(child_computation)

    def get_self_destruct_beneficiaries(self) -> List[Address]:
        # py-evm walks the whole call tree below a frame to answer, and EIP-161's
        # touched-account collection asks every frame of the tree: quadratic in its
        # depth, half the time of some tests with 50,000 calls. Each frame keeps its
        # answer while its shape is unchanged (frames only grow, then may fail).
        shape = (len(self.children), len(self.beneficiaries), self.is_error)
        collected = self._collected_beneficiaries
        if collected is None or collected[0] != shape:
            collected = (shape, super().get_self_destruct_beneficiaries())
            self._collected_beneficiaries = collected
        return list(collected[1])


def let_go_of_finished_call(computation) -> None:
    """
    Drop what a finished call frame no longer needs: its input, its memory and
    its failure's traceback. py-evm keeps every frame of a transaction until
    the transaction ends (for refunds, logs and touched accounts, which need
    none of them); a traceback holds the Python frames it passed through, and
    through them their callers', with the calling frame's copy of the input.
    50,000 failing calls with 50 KB of input each held 3.5 GB, and allocating
    it cost more than running the calls.
    """
    computation.msg.data = b""
    if len(computation._memory):
        computation._memory = FasterMemory()
    if computation._error is not None:
        computation._error.__traceback__ = None
