"""
Synchronous calls between L1 and L2 inside one based block, after Jordi
Baylina's execution tables (ethresear.ch t/23998), on EXECUTE.

An L1 contract calls ``CrossCalls.call_l2(target, data)`` from a based
block's actions and gets the L2 contract's result in the same transaction;
the L2 code may call back into L1 (``L2CrossCalls.call_l1``), under try/catch
if it likes. What makes it synchronous is the table the builder puts in the
based block, one entry per call into L2: the L2 block that runs the call
(settled through EXECUTE at that moment, on the L2 head of that moment), its
result, the L1 calls the L2 code made with the results they were given, and a
proof of the outcome the L2 block stored. L1 performs those L1 calls itself
and refuses the whole based block if any result, the outcome, the order or the
caller differs (``CrossCalls.vy``).

The builder fills the table by simulation: it runs the L2 blocks on a scratch
copy of the L2 chain and traces which L1 calls the L2 code asks for, then
traces the based block on L1 (the next block, ``blockOverrides``) to see which
calls into L2 the L1 actions make and what the L1 calls really return, and
repeats until L1 accepts the block.
"""

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from eth.abc import BlockAPI, ChainAPI
from eth_abi import decode as abi_decode
from eth_hash.auto import keccak
from eth_keys import keys
from eth_utils import to_checksum_address

from contracts import compile_contract
from l1.builder import run_block, scratch_chain
from l1.call_tracer import CallTracer
from l1.state_proofs import prove_account
from l1.tracing import trace_transaction
from precompile.constants import FORK_PRAGUE
from precompile.encoding import encode
from precompile.ssz import ChainConfig
from precompile.witness import prove_block

from .based import Action, Assertion, BasedBlock, BasedBuilder, chained
from .l1_contract import RollupError
from .l2 import L2_BRIDGE, L2_CROSS_CALLS
from .sequencer import CALL, QueuedMessage, relay_gas

# Gas of the L2 transaction that runs a call from L1.
CALL_GAS = 2_000_000
# Simulation rounds before the builder gives up (each learns at least one call or result).
MAX_ROUNDS = 12
# What an L1 call is assumed to return before L1 has been asked.
UNKNOWN_RESULT = (True, b"")


@dataclass(frozen=True)
class L1Call:
    """A call the L2 code made into L1, with the result it was given (CrossCalls.L1Call)."""

    l2_caller: str
    target: str
    data: bytes
    success: bool
    returned: bytes
    # Whether the L2 frame that made it returned (else L1 undoes it too).
    kept: bool
    # How many kept L1 calls came before it.
    position: int

    def as_struct(self) -> tuple:
        return (
            self.l2_caller, self.target, self.data, self.success, self.returned, self.kept,
            self.position,
        )


@dataclass
class CallEntry:
    """One entry of the table: a call into L2, the L2 block that runs it, and its outcome."""

    caller: str
    target: str
    data: bytes
    block: BlockAPI
    stateless_input: bytes
    success: bool
    returned: bytes
    l1_calls: List[L1Call]
    account_proof: List[bytes]
    storage_proof: List[bytes]

    def as_struct(self) -> tuple:
        return (
            self.caller, self.target, keccak(self.data), self.stateless_input, self.success,
            self.returned, [call.as_struct() for call in self.l1_calls], self.account_proof,
            self.storage_proof,
        )


def table_calldata(entries: Sequence[CallEntry]) -> bytes:
    """``CrossCalls.load``'s calldata: what ``Sequencing.build_based`` takes as ``calls``."""
    if not entries:
        return b""
    return compile_contract("CrossCalls").encode_call(
        "load", [entry.as_struct() for entry in entries]
    )


def outcome_slot(index: int) -> int:
    """Where L2CrossCalls keeps ``outcomes[index]``: keccak(slot || key), as Vyper lays out maps."""
    slot = compile_contract("L2CrossCalls").slots["outcomes"]
    key = slot.to_bytes(32, "big") + index.to_bytes(32, "big")
    return int.from_bytes(keccak(key), "big")


# A planned L1 call: who calls, what, and at which position among the kept ones.
PlanKey = Tuple[str, str, bytes, int]


@dataclass
class _Observed:
    """What one L2 run of a call from L1 showed."""

    success: bool
    returned: bytes
    # The L1 calls the L2 code asked for, in order: (key, served, kept).
    requests: List[Tuple[PlanKey, bool, bool]] = field(default_factory=list)


class ExecutionTableBuilder:
    """
    Builds based blocks whose L1 actions call into L2, for ``builder``'s
    rollup (a ComposableRollup with its ``cross_calls`` contract).
    """

    def __init__(self, builder: BasedBuilder) -> None:
        self.builder = builder
        self.rollup = builder.rollup
        self.cross_calls = self.rollup.cross_calls
        self.l2_cross_calls = compile_contract("L2CrossCalls")

    def build(
        self,
        transactions=(),
        before: Sequence[Action] = (),
        after: Sequence[Action] = (),
        assertions: Sequence[Assertion] = (),
        new_messages: Sequence[QueuedMessage] = (),
        slot_ending=None,
    ) -> BasedBlock:
        """
        The based block (as ``BasedBuilder.build`` takes it) with the
        execution table its actions' calls into L2 need. RollupError if L1
        would still refuse it, with L1's reason.
        """
        # The calls into L2 (L1 caller, L2 target, calldata) seen so far on L1.
        calls: List[Tuple[str, str, bytes]] = []
        results: Dict[Tuple[int, PlanKey], Tuple[bool, bytes]] = {}
        reason = "no simulation ran"
        # The based block's own L2 block does not depend on the table: built once.
        based = self.builder.build(
            transactions, before=before, after=after, assertions=assertions,
            new_messages=new_messages, slot_ending=slot_ending,
        )
        for _ in range(MAX_ROUNDS):
            based.entries = self._entries(based, calls, results, len(new_messages))
            based.calls = table_calldata(based.entries)
            trace = self.simulate(based)
            if "error" not in trace:
                return based
            reason = trace.get("revertReason") or trace["error"]
            seen, observed = self._seen_on_l1(trace, based.entries)
            learned = seen != calls or any(results.get(k) != v for k, v in observed.items())
            calls = seen
            results.update(observed)
            if not learned:
                break
        raise RollupError(f"the based block's calls into L2 fail on L1: {reason}")

    # -- the L2 side --

    def _entries(
        self, based: BasedBlock, calls, results, new_messages: int
    ) -> List[CallEntry]:
        """An entry per call, each L2 block on the one before (the first on the based block)."""
        if not calls:
            return []
        rollup = self.rollup
        contract = rollup.contract
        first_index = contract.view("message_count") + new_messages + 1
        previous = contract.view("queue_hash", first_index - 1) if not new_messages else None
        anchor = based.block.header.parent_beacon_block_root
        if previous is not None and bytes(previous) != anchor:
            raise RollupError(
                "calls into L2 need the based block to take in the whole L1 queue first"
            )
        chain = scratch_chain(rollup.l2.chain)
        chain.chaindb.persist_block(based.block)
        entries = []
        for number, (caller, target, data) in enumerate(calls):
            message = chained(
                QueuedMessage(CALL, first_index + number, caller, target, 0, keccak(data), b""),
                anchor, rollup.config.l2_chain_id,
            )
            entries.append(self._entry(chain, number, message, data, results))
            anchor = message.queue_hash
        return entries

    def _entry(self, chain: ChainAPI, number: int, message: QueuedMessage, data: bytes, results):
        """The L2 block running ``message``'s call, with the L1 calls it asks for planned in."""
        plan: List[PlanKey] = []

        def planned(kept: Dict[PlanKey, bool]) -> List[L1Call]:
            return [
                L1Call(*key[:3], *results.get((number, key), UNKNOWN_RESULT),
                       kept.get(key, False), key[3])
                for key in plan
            ]

        # Until the L2 code asks for no L1 call the plan lacks (a result may change its
        # path). Which calls are kept matters to L1 only, not to the L2 code.
        for _ in range(MAX_ROUNDS):
            _, observed = self._run_call(chain, message, data, planned({}))
            asked = [key for key, _, _ in observed.requests]
            if asked == plan:
                break
            plan = asked
        kept = {key: was_kept for key, served, was_kept in observed.requests if served}
        table = self.served(number, planned(kept))
        built, observed = self._run_call(chain, message, data, table)
        chain.chaindb.persist_block(built.block)
        stateless_input, _ = prove_block(
            chain, built.block,
            ChainConfig(chain_id=self.rollup.l2.chain_id, fork=FORK_PRAGUE),
        )
        proven = prove_account(
            chain.chaindb.db, built.block.header.state_root, L2_CROSS_CALLS,
            [outcome_slot(message.index)],
        )
        return CallEntry(
            message.sender, message.recipient, data, built.block, encode(stateless_input),
            observed.success, observed.returned, table, list(proven.proof),
            list(proven.storage[0].proof),
        )

    def served(self, number: int, table: List[L1Call]) -> List[L1Call]:
        """
        The L1 calls call ``number``'s L2 block is served, as planned. A
        builder that lies overrides this (the tests' attackers do): the L2
        block then runs with what it returns, and L1 must refuse the lie.
        """
        return table

    def _run_call(self, chain: ChainAPI, message: QueuedMessage, data: bytes, table):
        """The L2 block of ``message``'s call with ``table``, run not kept, and what it showed."""
        parent = chain.get_canonical_head()
        key = self.builder.key
        nonce = chain.get_vm().state.get_nonce(key.address)
        fee = 2 * parent.base_fee_per_gas + 1
        timestamp = parent.timestamp + 1
        bridge = compile_contract("L2Bridge")
        relay = self._signed(
            nonce, fee, relay_gas([message]), L2_BRIDGE,
            bridge.encode_call("relay", [message.as_struct()], timestamp),
        )
        execute = self._signed(
            nonce + 1, fee, CALL_GAS, L2_CROSS_CALLS,
            self.l2_cross_calls.encode_call(
                "execute", message.index, message.sender, message.recipient, data,
                [call.as_struct() for call in table],
            ),
        )
        built = run_block(
            chain, [relay, execute], timestamp=timestamp,
            parent_beacon_block_root=message.queue_hash, gas_limit=self.rollup.l2.config.gas_limit,
        )
        if any(receipt.state_root != b"\x01" for receipt in built.receipts):
            raise RollupError(
                f"the L2 block of the call to {message.recipient} failed to run it (out of gas?)"
            )
        trace = trace_transaction(chain, built.block, 1, CallTracer())
        return built, self._seen_on_l2(trace, message.recipient)

    def _signed(self, nonce: int, fee: int, gas: int, to: bytes, data: bytes):
        builder = self.rollup.l2.vm_class.get_transaction_builder()
        unsigned = builder.new_unsigned_dynamic_fee_transaction(
            chain_id=self.rollup.l2.chain_id, nonce=nonce, max_priority_fee_per_gas=0,
            max_fee_per_gas=fee, gas=gas, to=to, value=0, data=data, access_list=(),
        )
        return unsigned.as_signed_transaction(keys.PrivateKey(self.builder.key.private_key))

    def _seen_on_l2(self, trace: Dict[str, Any], target: str) -> _Observed:
        """The call's result and the L1 calls its code asked for (served, kept, position)."""
        called = next(
            (frame for frame in trace.get("calls", [])
             if frame.get("to", "").lower() == target.lower()),
            None,
        )
        if called is None:
            raise RollupError(f"the L2 block of the call to {target} never called it")
        observed = _Observed("error" not in called, _bytes(called.get("output")))
        selector = self.l2_cross_calls.selector("call_l1")
        cross = "0x" + L2_CROSS_CALLS.hex()
        served: List[Tuple[List[int], List[int]]] = []  # (path, errored frames on it)

        def visit(frame, path):
            path = path + [frame]
            inputs = _bytes(frame.get("input"))
            if frame.get("to", "").lower() == cross and inputs[:4] == selector:
                l1_target, l1_data = abi_decode(["address", "bytes"], inputs[4:])
                ids = [id(f) for f in path]
                errored = [id(f) for f in path if "error" in f]
                # Its position: served calls before it whose frames are all still running.
                position = sum(
                    all(e in ids for e in earlier_errored) for _, earlier_errored in served
                )
                key = (to_checksum_address(frame["from"]), to_checksum_address(l1_target),
                       bytes(l1_data), position)
                was_served = "error" not in frame
                observed.requests.append((key, was_served, was_served and not errored))
                if was_served:
                    served.append((ids, errored))
            for child in frame.get("calls", []):
                visit(child, path)

        visit(called, [])
        return observed

    # -- the L1 side --

    def simulate(self, based: BasedBlock) -> Dict[str, Any]:
        """
        The based block traced (callTracer) on L1 as the next block would run
        it: after the transactions pending there (the sequencer's settlements).
        """
        l1 = self.rollup.l1
        head = l1.eth.get_block("latest")
        timestamp = head.timestamp + 1
        if based.slot_ending is not None:
            timestamp = max(timestamp, self.rollup.slots.start_of(based.slot_ending.slot))
        call = {
            "from": self.builder.key.checksum_address,
            "to": self.rollup.sequencing.address,
            "data": "0x" + self.rollup.sequencing.compiled.encode_call(
                "build_based", *based.arguments()
            ).hex(),
            "value": hex(based.value),
            "gas": hex(self.builder.landing_gas(based)),
        }
        options = {
            "tracer": "callTracer",
            "blockOverrides": {"number": hex(head.number + 1), "time": hex(timestamp)},
        }
        traced = l1.provider.make_request("debug_traceCall", [call, "pending", options])
        if "result" not in traced:
            message = (traced.get("error") or {}).get("message", "no answer")
            raise RollupError(f"cannot simulate the based block on L1: {message}")
        return traced["result"]

    def _seen_on_l1(self, trace: Dict[str, Any], entries: List[CallEntry]):
        """
        The calls into L2 the L1 actions made, in order, and what each planned
        L1 call really returned where L1 performed it.
        """
        address = self.cross_calls.address.lower()
        compiled = self.cross_calls.compiled
        call_l2, undo = compiled.selector("call_l2"), compiled.selector("perform_and_undo")
        seen: List[Tuple[str, str, bytes]] = []
        observed: Dict[Tuple[int, PlanKey], Tuple[bool, bytes]] = {}

        def visit(frame):
            inputs = _bytes(frame.get("input"))
            if frame.get("to", "").lower() == address and inputs[:4] == call_l2:
                target, data = abi_decode(["address", "bytes"], inputs[4:])
                number = len(seen)
                seen.append((to_checksum_address(frame["from"]), to_checksum_address(target),
                             bytes(data)))
                # CrossCalls.call_l2's own CALLs: settle_call first, then each L1 call
                # performed (directly, or through perform_and_undo); its reads are STATICCALLs.
                performed = [c for c in frame.get("calls", []) if c.get("type") == "CALL"][1:]
                planned = entries[number].l1_calls if number < len(entries) else []
                for call, made in zip(planned, performed):
                    if _bytes(made.get("input"))[:4] == undo and made.get("calls"):
                        made = made["calls"][0]
                    key = (call.l2_caller, call.target, call.data, call.position)
                    observed[(number, key)] = ("error" not in made, _bytes(made.get("output")))
                return
            for child in frame.get("calls", []):
                visit(child)

        visit(trace)
        return seen, observed

    def land(self, based: BasedBlock) -> bytes:
        """Send the based block with its table to L1; the transaction hash."""
        return self.builder.land(based)


def _bytes(text: Optional[str]) -> bytes:
    return bytes.fromhex(text[2:]) if text else b""
