"""
Tracing a mined transaction or a call as geth's tracers answer
(``debug_traceTransaction``, ``debug_traceCall``): the default struct logger,
in the shape anvil answers with (``--steps-tracing``), or ``callTracer``'s
tree of call frames (``l1.call_tracer``).

A traced run uses a copy of the VM whose opcodes report to a tracer before
and after they run. A mined transaction's block is run again on its parent
state up to that transaction; a call runs on a throwaway state. Nothing is
written to the chain.
"""

import re
from dataclasses import dataclass, field
from typing import Any, Collection, Dict, List, Optional

from eth.abc import BlockAPI, ChainAPI
from eth.vm import opcode_values

from precompile.opcodes import stack_int, with_opcodes
from precompile.witness import RecordingDB, replay_vm

from .call_tracer import CallTracer
from .formatting import data, shown
from .interface import InvalidArgument, LimitReached

OPCODE_NAMES = {
    value: name for name, value in vars(opcode_values).items() if name.isupper()
}
# py-evm's old names where geth and anvil print the current ones.
CURRENT_NAMES = {"SHA3": "KECCAK256"}
# Options geth takes with every tracer that change nothing here.
IGNORED_OPTIONS = ("enableReturnData",)
# A Go duration, as geth's ``timeout`` option takes it: "500ms", "5s", "1m30s".
GO_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
GO_DURATION_UNITS = {
    "ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0
}
# callTracer's tracerConfig, each a boolean.
CALL_TRACER_CONFIG = {"onlyTopCall": "only_top_call", "withLog": "with_log"}


class TracingOptionError(InvalidArgument):
    """A tracer or option this node does not offer."""


# The most a struct-log trace holds: steps, and words of stack, memory and storage
# over all its steps (each a hex string: a step of 1 KB of memory is 32 of them).
# A loop runs a million steps a second, and a trace that copies its memory at each
# one would otherwise fill the machine's memory before its timeout.
MAX_TRACE_STEPS = 500_000
MAX_TRACE_WORDS = 2_000_000


@dataclass
class StructLogger:
    enable_memory: bool = False
    disable_stack: bool = False
    disable_storage: bool = False
    logs: List[Dict[str, Any]] = field(default_factory=list)
    # Every opcode is logged.
    watched: Optional[Collection[str]] = None
    active: bool = False
    # Storage each contract has touched in the trace so far, as geth shows it.
    storage: Dict[bytes, Dict[str, str]] = field(default_factory=dict)
    # The refund counter as the enclosing frames left it, by depth.
    refund_base: Dict[int, int] = field(default_factory=dict)
    # Words of stack, memory and storage the steps logged so far hold.
    words: int = 0

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
            step["stack"] = [hex(stack_int(value)) for value in stack]
        if self.enable_memory:
            memory = bytes(computation._memory._bytes)
            step["memory"] = [
                "0x" + memory[start:start + 32].hex() for start in range(0, len(memory), 32)
            ]
        if not self.disable_storage and opcode.mnemonic in ("SLOAD", "SSTORE") and stack:
            address = computation.msg.storage_address
            slot = stack_int(stack[-1])
            if opcode.mnemonic == "SSTORE" and len(stack) > 1:
                value = stack_int(stack[-2])
            else:
                value = computation.state.get_storage(address, slot)
            touched = self.storage.setdefault(address, {})
            touched[_word(slot)] = _word(value)
            step["storage"] = dict(touched)
        step["refund"] = self.refund_base[depth] + computation.get_gas_refund()
        self.logs.append(step)
        self.words += sum(len(step.get(part, ())) for part in ("stack", "memory", "storage"))
        if len(self.logs) > MAX_TRACE_STEPS or self.words > MAX_TRACE_WORDS:
            raise LimitReached(
                f"trace too large: more than {MAX_TRACE_STEPS} steps or {MAX_TRACE_WORDS} words"
                " of stack, memory and storage; trace a shorter run, leave enableMemory off,"
                " or use the callTracer"
            )
        return step

    def after(self, computation, step: Dict[str, Any]) -> None:
        step["gasCost"] = step["gas"] - computation.get_gas_remaining()

    def result(self, computation, gas_used: int) -> Dict[str, Any]:
        """geth's default trace: the transaction's gas, outcome, output and steps."""
        return {
            "gas": gas_used,
            "failed": computation.is_error,
            "returnValue": data(computation.output),
            "structLogs": self.logs,
        }


def trace_timeout(options: Optional[Dict[str, Any]]) -> Optional[float]:
    """
    The seconds geth's ``timeout`` option gives a trace (a Go duration such
    as "500ms" or "10s"); None when it names none. TracingOptionError if it
    is not a positive duration.
    """
    text = (options or {}).get("timeout")
    if text is None:
        return None
    if not isinstance(text, str) or not text or not _is_duration_sequence(text):
        raise TracingOptionError(
            f'timeout must be a duration such as "5s" or "500ms", got {shown(text)}'
        )
    seconds = sum(
        float(amount) * GO_DURATION_UNITS[unit] for amount, unit in GO_DURATION.findall(text)
    )
    if seconds <= 0:
        raise TracingOptionError(f"timeout must be more than zero, got {shown(text)}")
    return seconds


def _is_duration_sequence(text: str) -> bool:
    """Whether ``text`` is one or more amount-unit pairs and nothing else ("1m30s")."""
    return "".join(amount + unit for amount, unit in GO_DURATION.findall(text)) == text


# geth's blockOverrides fields served: the block a traced call runs in.
BLOCK_OVERRIDE_FIELDS = ("number", "time")
# A JSON-RPC quantity as geth's hexutil reads one: no leading zero digits.
HEX_QUANTITY = re.compile(r"0[xX](0|[1-9a-fA-F][0-9a-fA-F]*)")


@dataclass(frozen=True)
class BlockOverrides:
    """The block number and timestamp a traced call runs with (None: the block's own)."""

    number: Optional[int] = None
    time: Optional[int] = None


def block_overrides(overrides: Any) -> Optional[BlockOverrides]:
    """
    geth's ``blockOverrides`` option of debug_traceCall (``number``, ``time``:
    hex quantities; null as absent), None when absent; TracingOptionError
    for anything else.
    """
    if overrides is None:
        return None
    if not isinstance(overrides, dict):
        raise TracingOptionError(f"blockOverrides must be an object, got {shown(overrides)}")
    unknown = sorted(set(overrides) - set(BLOCK_OVERRIDE_FIELDS))
    if unknown:
        raise TracingOptionError(
            f"blockOverrides: {', '.join(unknown)} not served (only number and time are)"
        )
    values = {}
    for name, value in overrides.items():
        if value is None:
            continue
        if not (isinstance(value, str) and HEX_QUANTITY.fullmatch(value)):
            raise TracingOptionError(
                f"blockOverrides.{name} must be a hex quantity such as 0x10, got {shown(value)}"
            )
        values[name] = int(value, 16)
        if values[name] >= 2**64:
            raise TracingOptionError(f"blockOverrides.{name} must be below 2**64, got {value}")
    return BlockOverrides(**values)


def tracer_from_options(options: Optional[Dict[str, Any]]):
    """
    The tracer ``options`` ask for (geth's TraceConfig): the struct logger
    with its options, or callTracer with its ``tracerConfig``;
    TracingOptionError for any other tracer or an option not understood.
    """
    options = dict(options or {})
    trace_timeout(options)  # checked here; the node applies it
    options.pop("timeout", None)
    name = options.pop("tracer", None)
    config = options.pop("tracerConfig", None)
    for ignored in IGNORED_OPTIONS:
        options.pop(ignored, None)
    # geth takes the struct logger's options with any tracer, and uses them only with it.
    logger = StructLogger(
        enable_memory=bool(options.pop("enableMemory", False)),
        disable_stack=bool(options.pop("disableStack", False)),
        disable_storage=bool(options.pop("disableStorage", False)),
    )
    if options:
        raise TracingOptionError(f"unknown tracer options {sorted(options)}")
    if name in (None, "", "structLogger"):
        return logger
    if name == "callTracer":
        return CallTracer(**call_tracer_config(config))
    raise TracingOptionError(
        f"tracer {name!r} is not served: only the default struct logger and callTracer are"
    )


def call_tracer_config(config: Any) -> Dict[str, bool]:
    """callTracer's ``tracerConfig`` (onlyTopCall, withLog) as CallTracer's arguments."""
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise TracingOptionError(f"tracerConfig must be an object, got {shown(config)}")
    unknown = sorted(set(config) - set(CALL_TRACER_CONFIG))
    if unknown:
        raise TracingOptionError(f"unknown callTracer options {unknown}")
    arguments = {}
    for name, value in config.items():
        if not isinstance(value, bool):
            raise TracingOptionError(
                f"tracerConfig.{name} must be true or false, got {shown(value)}"
            )
        arguments[CALL_TRACER_CONFIG[name]] = value
    return arguments


def _word(value: int) -> str:
    return "0x" + value.to_bytes(32, "big").hex()


class TracedOpcode:
    """An opcode that reports to ``tracer`` before and after it runs in a traced transaction."""

    def __init__(self, opcode, mnemonic: str, tracer) -> None:
        self.opcode, self.mnemonic, self.tracer = opcode, mnemonic, tracer

    def __getattr__(self, name: str):
        return getattr(self.opcode, name)

    def __call__(self, computation) -> None:
        # py-evm runs code-less messages as one STOP; geth runs no step for them.
        if not self.tracer.active or not computation.msg.code:
            return self.opcode(computation=computation)
        noted = self.tracer.before(computation, self)
        try:
            return self.opcode(computation=computation)
        finally:
            self.tracer.after(computation, noted)


def mnemonic(value: int, opcode) -> str:
    """An opcode's name as geth prints it."""
    # py-evm wraps a few opcodes (SELFDESTRUCT) in plain functions without a mnemonic.
    name = getattr(opcode, "mnemonic", None) or OPCODE_NAMES[value]
    return CURRENT_NAMES.get(name, name)


def traced_vm_class(vm_class: type, tracer) -> type:
    """
    ``vm_class`` whose opcodes report to ``tracer``: those it watches
    (``tracer.watched``, by name), or every one when it watches None.
    """

    def traced(value: int, opcode):
        name = mnemonic(value, opcode)
        watched = tracer.watched is None or name in tracer.watched
        return TracedOpcode(opcode, name, tracer) if watched else opcode

    # Tracers read finished calls' inputs and memory, which the speed-ups let go of.
    return with_opcodes(vm_class, traced, computation_fields={"keeps_finished_calls": True})


def traced_copy(vm, tracer):
    """A VM on ``vm``'s header and database whose opcodes report to ``tracer``."""
    return traced_vm_class(type(vm), tracer)(
        header=vm.get_header(),
        chaindb=vm.chaindb,
        chain_context=vm.chain_context,
        consensus_context=vm.consensus_context,
    )


class _TracedTransactionDone(Exception):
    """Stops the replay once the traced transaction has run."""


def trace_transaction(
    chain: ChainAPI, block: BlockAPI, index: int, tracer, pre_state_root: Optional[bytes] = None
) -> Dict[str, Any]:
    """
    Transaction ``index`` of ``block`` traced by ``tracer``
    (``tracer_from_options``), the block replayed from ``pre_state_root``
    when it ran on an edited state (``replay_vm``).
    """
    target = block.transactions[index]
    traced: Dict[str, Any] = {}

    class TracingVM(traced_vm_class(chain.get_vm_class(block.header), tracer)):
        def apply_transaction(self, header, transaction):
            tracer.active = transaction.hash == target.hash
            receipt, computation = super().apply_transaction(header, transaction)
            if tracer.active:
                traced.update(tracer.result(computation, receipt.gas_used - header.gas_used))
                raise _TracedTransactionDone
            return receipt, computation

    vm = replay_vm(chain, block, RecordingDB(chain.chaindb.db), TracingVM, pre_state_root)
    try:
        vm.import_block(block)
    except _TracedTransactionDone:
        pass
    return traced
