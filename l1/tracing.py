"""
``debug_traceTransaction`` with the default tracer: geth's struct logger, in
the shape anvil answers with (``--steps-tracing``).

The transaction's block is run again on its parent state, in a copy of the
VM whose opcodes log each step (pc, op, gas before the step and the step's
cost, depth, stack, refund counter; storage on SLOAD and SSTORE; memory on
request) while the traced transaction runs. Nothing is written to the chain.
"""

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from eth.abc import BlockAPI, ChainAPI
from eth.vm import opcode_values

from precompile.witness import RecordingDB, replay_vm

OPCODE_NAMES = {
    value: name for name, value in vars(opcode_values).items() if name.isupper()
}
# py-evm's old names where geth and anvil print the current ones.
CURRENT_NAMES = {"SHA3": "KECCAK256"}


class TracingOptionError(ValueError):
    """A tracer or option this node does not offer."""


@dataclass
class StructLogger:
    enable_memory: bool = False
    disable_stack: bool = False
    disable_storage: bool = False
    logs: List[Dict[str, Any]] = field(default_factory=list)
    active: bool = False
    # Storage each contract has touched in the trace so far, as geth shows it.
    storage: Dict[bytes, Dict[str, str]] = field(default_factory=dict)
    # The refund counter as the enclosing frames left it, by depth.
    refund_base: Dict[int, int] = field(default_factory=dict)

    @classmethod
    def from_options(cls, options: Optional[Dict[str, Any]]) -> "StructLogger":
        options = dict(options or {})
        tracer = options.pop("tracer", None)
        if tracer not in (None, "", "structLogger"):
            raise TracingOptionError(f"tracer {tracer!r}: only the default struct logger is served")
        options.pop("tracerConfig", None)
        options.pop("timeout", None)
        options.pop("enableReturnData", None)
        logger = cls(
            enable_memory=bool(options.pop("enableMemory", False)),
            disable_stack=bool(options.pop("disableStack", False)),
            disable_storage=bool(options.pop("disableStorage", False)),
        )
        if options:
            raise TracingOptionError(f"unknown tracer options {sorted(options)}")
        return logger

    def before(self, computation, opcode) -> Dict[str, Any]:
        depth = computation.msg.depth + 1
        if depth not in self.refund_base or (self.logs and self.logs[-1]["depth"] < depth):
            self.refund_base[depth] = self.logs[-1]["refund"] if self.logs else 0
        step: Dict[str, Any] = {
            "pc": computation.code.program_counter - 1,
            "op": opcode.mnemonic,
            "gas": computation.get_gas_remaining(),
            "gasCost": 0,
            "depth": depth,
        }
        stack = computation._stack.values
        if not self.disable_stack:
            step["stack"] = [hex(_as_int(value)) for value in stack]
        if self.enable_memory:
            memory = bytes(computation._memory._bytes)
            step["memory"] = [
                "0x" + memory[start:start + 32].hex() for start in range(0, len(memory), 32)
            ]
        if not self.disable_storage and opcode.mnemonic in ("SLOAD", "SSTORE") and stack:
            address = computation.msg.storage_address
            slot = _as_int(stack[-1])
            if opcode.mnemonic == "SSTORE" and len(stack) > 1:
                value = _as_int(stack[-2])
            else:
                value = computation.state.get_storage(address, slot)
            touched = self.storage.setdefault(address, {})
            touched[_word(slot)] = _word(value)
            step["storage"] = dict(touched)
        step["refund"] = self.refund_base[depth] + computation.get_gas_refund()
        return step


def _as_int(value) -> int:
    return value if isinstance(value, int) else int.from_bytes(value, "big")


def _word(value: int) -> str:
    return "0x" + value.to_bytes(32, "big").hex()


class TracedOpcode:
    """An opcode that logs its step to ``logger`` while the traced transaction runs."""

    def __init__(self, value: int, opcode, logger: StructLogger) -> None:
        self.opcode, self.logger = opcode, logger
        # py-evm wraps a few opcodes (SELFDESTRUCT) in plain functions without a mnemonic.
        name = getattr(opcode, "mnemonic", None) or OPCODE_NAMES[value]
        self.mnemonic = CURRENT_NAMES.get(name, name)

    def __getattr__(self, name: str):
        return getattr(self.opcode, name)

    def __call__(self, computation) -> None:
        # py-evm runs code-less messages as one STOP; geth runs no step for them.
        if not self.logger.active or not computation.msg.code:
            return self.opcode(computation=computation)
        step = self.logger.before(computation, self)
        self.logger.logs.append(step)
        try:
            return self.opcode(computation=computation)
        finally:
            step["gasCost"] = step["gas"] - computation.get_gas_remaining()


class _TracedTransactionDone(Exception):
    """Stops the replay once the traced transaction has run."""


def trace_transaction(
    chain: ChainAPI, block: BlockAPI, index: int, options: Optional[Dict[str, Any]] = None
) -> Dict[str, Any]:
    """The struct-logger trace of transaction ``index`` of ``block``."""
    logger = StructLogger.from_options(options)
    target = block.transactions[index]
    vm_class = chain.get_vm_class(block.header)
    state_class = vm_class.get_state_class()
    computation_class = state_class.computation_class
    traced_computation = type(
        computation_class.__name__,
        (computation_class,),
        {"opcodes": {k: TracedOpcode(k, v, logger) for k, v in computation_class.opcodes.items()}},
    )
    traced_state = type(
        state_class.__name__, (state_class,), {"computation_class": traced_computation}
    )
    outcome: Dict[str, Any] = {}

    class TracingVM(vm_class):
        _state_class = traced_state

        def apply_transaction(self, header, transaction):
            logger.active = transaction.hash == target.hash
            receipt, computation = super().apply_transaction(header, transaction)
            if logger.active:
                outcome.update(
                    gas=receipt.gas_used - header.gas_used,
                    failed=computation.is_error,
                    returnValue="0x" + computation.output.hex(),
                )
                raise _TracedTransactionDone
            return receipt, computation

    vm = replay_vm(chain, block, RecordingDB(chain.chaindb.db), TracingVM)
    try:
        vm.import_block(block)
    except _TracedTransactionDone:
        pass
    return {**outcome, "structLogs": logger.logs}
