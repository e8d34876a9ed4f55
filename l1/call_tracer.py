"""
geth's ``callTracer``: a transaction's calls as a tree of frames (type, from,
to, value, gas, gasUsed, input, output, error, revertReason, calls; with
``withLog`` the logs each frame emitted), as anvil answers.

py-evm keeps the tree itself: every computation holds its children. What it
does not keep is which opcode made a child (a DELEGATECALL and a CALLCODE both
run another's code on the caller's storage; a CREATE2 is a CREATE with a
salt) and where among its calls a frame emitted each log; the tracer notes
both as the opcodes run.
"""

from typing import Any, Dict, List, Set, Tuple

from eth._utils.numeric import ceil32
from eth.vm.forks.shanghai.computation import ShanghaiComputation
from eth.vm.forks.shanghai.constants import INITCODE_WORD_COST

from precompile.opcodes import stack_address

from .failures import failure_message, tracer_revert_reason
from .formatting import address, data, quantity

CALL_OPCODES = ("CALL", "CALLCODE", "DELEGATECALL", "STATICCALL", "CREATE", "CREATE2")
LOG_OPCODES = ("LOG0", "LOG1", "LOG2", "LOG3", "LOG4")
# No child computation runs for it, but geth shows it as a frame of the caller's.
SELFDESTRUCT = "SELFDESTRUCT"
# Frames that run another's code on their caller's storage: geth shows them
# from the caller to the code's address.
RUNS_CODE_ELSEWHERE = ("DELEGATECALL", "CALLCODE")


class CallTracer:
    def __init__(self, only_top_call: bool = False, with_log: bool = False) -> None:
        self.only_top_call, self.with_log = only_top_call, with_log
        self.watched = CALL_OPCODES + (SELFDESTRUCT,) + (LOG_OPCODES if with_log else ())
        self.active = False
        # The opcode that made each child computation, by the child's id.
        self.kinds: Dict[int, str] = {}
        # How many calls a frame had made when it emitted a log, by the log's counter.
        self.log_positions: Dict[int, int] = {}
        # The SELFDESTRUCT a frame ran, by the frame's id: its beneficiary and the value sent.
        self.self_destructs: Dict[int, Tuple[bytes, int]] = {}

    def before(self, computation, opcode) -> tuple:
        destructed = None
        if opcode.mnemonic == SELFDESTRUCT and computation._stack.values:
            beneficiary = stack_address(computation, 1)
            balance = computation.state.get_balance(computation.msg.storage_address)
            destructed = (beneficiary, balance)
        return opcode.mnemonic, len(computation.children), len(computation._log_entries), destructed

    def after(self, computation, noted: tuple) -> None:
        name, children, logs, destructed = noted
        if destructed is not None:  # it ran (a SELFDESTRUCT refused raises before this)
            self.self_destructs[id(computation)] = destructed
        if len(computation.children) > children:
            self.kinds[id(computation.children[-1])] = name
        if len(computation._log_entries) > logs:
            counter = computation._log_entries[-1][0]
            self.log_positions[counter] = len(computation.children)

    def result(self, computation, gas_used: int) -> Dict[str, Any]:
        """
        The transaction's frame: its gasUsed is the transaction's (intrinsic
        gas and refunds included), its gas what was left after intrinsic gas.
        """
        # The receipt's logs (none from a frame that failed or sits under one), by counter.
        kept = {entry[0] for entry in computation.get_raw_log_entries()}
        kind = "CREATE" if computation.msg.is_create else "CALL"
        root = self.frame(computation, kind, computation.msg.sender, kept)
        root["gas"] = quantity(computation.msg.gas - initcode_cost(computation))
        root["gasUsed"] = quantity(gas_used)
        return root

    def frame(self, computation, kind: str, caller: bytes, kept: Set[int]) -> Dict[str, Any]:
        """One call frame and, unless only the top call is asked for, those below it."""
        msg = computation.msg
        frame: Dict[str, Any] = {"type": kind, "from": address(caller)}
        if msg.is_create:
            # geth names no address for a creation that failed.
            if computation.is_success:
                frame["to"] = address(msg.storage_address)
        else:
            frame["to"] = address(msg.code_address if kind in RUNS_CODE_ELSEWHERE else msg.to)
        if kind != "STATICCALL":
            frame["value"] = quantity(msg.value)
        frame["gas"] = quantity(msg.gas)
        frame["gasUsed"] = quantity(computation.get_gas_used())
        frame["input"] = data(msg.code if msg.is_create else msg.data)
        # py-evm erases the output of a failure other than a revert, as geth leaves it out.
        if computation.output:
            frame["output"] = data(computation.output)
        if computation.is_error:
            frame["error"] = failure_message(computation.error)
            reason = tracer_revert_reason(computation.output)
            if reason is not None:
                frame["revertReason"] = reason
        if not self.only_top_call:
            calls = [
                self.frame(child, self.kind_of(child), msg.storage_address, kept)
                for child in computation.children
            ]
            destructed = self.self_destructs.get(id(computation))
            if destructed is not None:  # it ends the frame: after every call the frame made
                calls.append(self_destruct_frame(msg.storage_address, *destructed))
            if calls:
                frame["calls"] = calls
        logs = self.frame_logs(computation, kept)
        if logs:
            frame["logs"] = logs
        return frame

    def kind_of(self, child) -> str:
        """The opcode that made ``child`` (a message no opcode made is a CALL)."""
        return self.kinds.get(id(child), "CALL")

    def frame_logs(self, computation, kept: Set[int]) -> List[Dict[str, Any]]:
        """
        With ``withLog``: the logs this frame emitted that made the receipt;
        each log's index counts every log the transaction emitted before it,
        those of reverted frames too, as anvil counts.
        """
        if not self.with_log:
            return []
        return [
            {
                "address": address(account),
                "topics": [data(topic.to_bytes(32, "big")) for topic in topics],
                "data": data(payload),
                "position": quantity(self.log_positions.get(counter, 0)),
                "index": quantity(counter),
            }
            for counter, account, topics, payload in computation._log_entries
            if counter in kept
        ]


def self_destruct_frame(account: bytes, beneficiary: bytes, value: int) -> Dict[str, Any]:
    """geth's frame for a SELFDESTRUCT: the balance sent from the account to the beneficiary."""
    return {
        "type": SELFDESTRUCT,
        "from": address(account),
        "to": address(beneficiary),
        "value": quantity(value),
        "gas": quantity(0),
        "gasUsed": quantity(0),
        "input": data(b""),
    }


def initcode_cost(computation) -> int:
    """
    EIP-3860's charge for a creating transaction's init code: geth counts it
    in the intrinsic gas, before the frame; py-evm charges it in the frame.
    """
    if not (computation.msg.is_create and isinstance(computation, ShanghaiComputation)):
        return 0
    return INITCODE_WORD_COST * ceil32(len(computation.msg.code)) // 32
