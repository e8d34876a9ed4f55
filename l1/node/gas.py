"""
What gas a transaction needs: the least it may be sent with (intrinsic gas
and the EIP-7623 calldata floor), and the least it succeeds with (a gas
estimate, exact as anvil's, in a handful of runs).
"""

from contextlib import nullcontext
from functools import lru_cache
from typing import Callable

from eth.abc import ComputationAPI, SignedTransactionAPI
from eth.constants import GAS_TX
from eth.vm.forks.prague.constants import STANDARD_TOKEN_COST, TOTAL_COST_FLOOR_PER_TOKEN
from eth.vm.opcode_values import GAS, SSTORE
from eth.vm.spoof import SpoofTransaction

from precompile.engines.bytecode import instructions
from precompile.opcodes import with_opcodes
from precompile.spec_reads import ReadsFirst

from ..interface import ExecutionFailed

# EIP-2200: no SSTORE runs with this much gas left or less (the stipend a call passes on).
SSTORE_SENTRY = 2300
# A run of the transaction with the given gas: its computation (state reverted after).
Run = Callable[[int], ComputationAPI]


def minimum_gas(transaction: SignedTransactionAPI) -> int:
    """
    The least gas ``transaction`` can be included with: its intrinsic gas,
    and from Prague (EIP-7623) the floor its calldata sets.
    """
    zero_bytes = transaction.data.count(0)
    tokens = zero_bytes + STANDARD_TOKEN_COST * (len(transaction.data) - zero_bytes)
    floor = GAS_TX + TOTAL_COST_FLOOR_PER_TOKEN * tokens
    return max(transaction.intrinsic_gas, floor)


def least_gas(transaction: SignedTransactionAPI, cap: int, run: Run) -> int:
    """
    The least gas ``transaction`` succeeds with, at most ``cap``;
    ExecutionFailed with its run at ``cap`` if it fails even there.

    A search from the intrinsic gas up to the cap takes some twenty-five runs.
    A transaction that runs no code needs the least it may be sent with (one
    run). When the run cannot have seen its gas (``may_depend_on_its_gas``)
    any gas runs it the same way, so it needs what it consumes before refunds
    (``consumed``) and, for each SSTORE, more than 2,300 gas left there: one
    run has the answer where ``run`` notes the gas SSTOREs start with
    (``gauging_sstores``), two where it does not. Most others need exactly
    ``consumed`` too: if that succeeds and one less does not, three runs have
    the answer. Otherwise (a call keeping back 1/64 of its gas, a stipend,
    code reading GAS) the search runs between the bounds the first runs
    found, probing low first (geth's estimator narrows it so too).
    """
    lowest = minimum_gas(transaction)
    at_cap = run(cap)
    if at_cap.is_error:
        raise ExecutionFailed(at_cap)
    used = cap - at_cap.get_gas_remaining()
    if used <= transaction.intrinsic_gas:  # no code ran (a transfer): no gas to depend on
        return lowest
    consumed = max(used, lowest)

    def succeeds(gas: int) -> bool:
        return not run(gas).is_error

    if consumed >= cap:
        return cap
    if not may_depend_on_its_gas(at_cap) and gauges_sstores(at_cap):
        return max(consumed, sstore_sentries_pass_from(at_cap, cap))
    if succeeds(consumed):
        if consumed == lowest or not may_depend_on_its_gas(at_cap):
            return consumed
        if not succeeds(consumed - 1):
            return consumed
        failing, passing = lowest - 1, consumed - 1
    else:
        failing, passing = consumed, cap
    while passing - failing > 1:
        probe = min((failing + passing) // 2, 2 * failing)
        if succeeds(probe):
            passing = probe
        else:
            failing = probe
    return passing


def may_depend_on_its_gas(computation: ComputationAPI) -> bool:
    """
    Whether a run could go another way with other gas: it made a call or a
    create (each passes on gas by EIP-150's 63/64 and stipends) or its code
    can read GAS. The one other gas-dependent rule, SSTORE's EIP-2200 sentry
    (no write with 2,300 gas or less left), only ever adds failures: with
    less gas such a run follows the same path until it fails.
    """
    return bool(computation.children) or can_read_gas(bytes(computation.msg.code))


@lru_cache(maxsize=256)
def can_read_gas(code: bytes) -> bool:
    """Whether ``code`` holds the GAS instruction (outside the data of PUSHes)."""
    return GAS in code and GAS in instructions(code)


def note_gas_at_sstore(computation) -> None:
    """Keep on ``computation`` the least gas any of its SSTOREs started with."""
    left = computation.get_gas_remaining()
    computation.least_gas_at_sstore = min(left, computation.least_gas_at_sstore or left)


@lru_cache(maxsize=16)
def gauging_sstores(vm_class: type) -> type:
    """``vm_class`` whose computations note the least gas their SSTOREs start with."""

    def gauged(value: int, opcode):
        return ReadsFirst(opcode, note_gas_at_sstore) if value == SSTORE else opcode

    return with_opcodes(vm_class, gauged, computation_fields={"least_gas_at_sstore": None})


def gauges_sstores(computation: ComputationAPI) -> bool:
    """Whether ``computation`` is of a ``gauging_sstores`` class (py-evm's have no such notes)."""
    return hasattr(computation, "least_gas_at_sstore")


def sstore_sentries_pass_from(computation: ComputationAPI, cap: int) -> int:
    """
    The least transaction gas with which every SSTORE of ``computation``
    (run with ``cap``, calling nothing) has more than the stipend left, as
    EIP-2200 requires; 0 without SSTOREs.
    """
    if computation.least_gas_at_sstore is None:
        return 0
    return cap - computation.least_gas_at_sstore + SSTORE_SENTRY + 1


def state_runs(state, transaction: SignedTransactionAPI, limit: Callable = nullcontext) -> Run:
    """Runs of ``transaction`` on ``state`` with a chosen gas, each in ``limit()``, each undone."""

    def run(gas: int) -> ComputationAPI:
        snapshot = state.snapshot()
        try:
            with limit():
                return state.apply_transaction(SpoofTransaction(transaction, gas=gas))
        finally:
            state.revert(snapshot)

    return run
