"""
``nr bench execute``: stateless verification throughput per engine.

Two L2 blocks of about the target gas are built on a Prague chain, one
compute-heavy and one storage-heavy, both from the Vyper ``Workload``
contract. Each is witnessed, encoded and then verified end to end from bytes
(SSZ decode, witness load, execution, checks, post-state root) with every
engine. The same workload run on the raw pyrevm interpreter, with no witness
and no checks, is measured in the same run as the ceiling on this machine,
and on stock py-evm (full state, no witness) as the reference's baseline.
"""

import cProfile
import io
import pstats
import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence

from eth._utils.address import generate_contract_address
from eth.vm.chain_context import ChainContext
from eth.vm.forks import PragueVM
from eth_keys import keys

from contracts import compile_contract
from l1.builder import build_block
from precompile.constants import FORK_PRAGUE
from precompile.encoding import decode, encode
from precompile.engines import get_engine
from precompile.forks import FORK_RULES, ForkRules, Prague
from precompile.genesis import GenesisAccount, new_chain
from precompile.guest import verify_stateless_new_payload
from precompile.ssz import ChainConfig, StatelessInput
from precompile.witness import prove_block

BENCH_CHAIN_ID = 901
GAS_PRICE = 10**9
# Account 0 of the standard test mnemonic pays for the workloads.
BENCH_KEY = keys.PrivateKey(
    bytes.fromhex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
)
# Headroom between the block gas limit and the workload, for the call's own overhead.
GAS_HEADROOM = 0.97


@dataclass
class Workload:
    label: str
    encoded_input: bytes
    gas_used: int
    function: str
    arguments: tuple
    # The same transaction on stock py-evm with full state, no witness.
    raw_pyevm: "Measurement" = None


@dataclass
class Measurement:
    workload: str
    engine: str
    gas_used: int
    seconds: float
    declined: Optional[str] = None

    @property
    def mgas_per_second(self) -> float:
        return self.gas_used / self.seconds / 1e6


class WorkloadChain:
    """A Prague chain with the Workload contract deployed, one transaction per block."""

    def __init__(self, gas_limit: int) -> None:
        self.contract = compile_contract("Workload")
        self.sender = BENCH_KEY.public_key.to_canonical_address()
        self.chain = new_chain(
            Prague,
            BENCH_CHAIN_ID,
            {self.sender: GenesisAccount(balance=10**24)},
            gas_limit=gas_limit,
        )
        self.nonce = 0
        self.gas_limit = gas_limit
        self.address = generate_contract_address(self.sender, 0)
        deployment = self._transaction(b"", self.contract.deployment(), min(gas_limit, 1_000_000))
        build_block(self.chain, [deployment])

    def _transaction(self, to: bytes, data: bytes, gas: int):
        unsigned = self.chain.get_vm().create_unsigned_transaction(
            nonce=self.nonce, gas_price=GAS_PRICE, gas=gas, to=to, value=0, data=data
        )
        self.nonce += 1
        return unsigned.as_signed_transaction(BENCH_KEY, chain_id=BENCH_CHAIN_ID)

    def gas_of(self, function: str, *arguments) -> int:
        """Gas one call would use at the head, without persisting it."""
        return self.run_at_head(function, *arguments)[0]

    def run_at_head(self, function: str, *arguments) -> tuple:
        """(gas used, seconds) of one call on stock py-evm at the head (full state), not kept."""
        head = self.chain.get_canonical_head()
        header = self.chain.create_header_from_parent(head).copy(gas_limit=head.gas_limit)
        # Stock py-evm, as released: the baseline the guest's interpreter is compared with.
        vm = PragueVM(
            header=header,
            chaindb=self.chain.chaindb,
            chain_context=ChainContext(BENCH_CHAIN_ID),
            consensus_context=self.chain.consensus_context,
        )
        unsigned = vm.create_unsigned_transaction(
            nonce=self.nonce,
            gas_price=GAS_PRICE,
            gas=self.gas_limit,
            to=self.address,
            value=0,
            data=self.contract.encode_call(function, *arguments),
        )
        transaction = unsigned.as_signed_transaction(BENCH_KEY, chain_id=BENCH_CHAIN_ID)
        started = time.perf_counter()
        receipt, _ = vm.apply_transaction(header, transaction)
        return receipt.gas_used, time.perf_counter() - started

    def units_for(
        self, function: str, target_gas: int, make_arguments: Callable[[int], tuple]
    ) -> int:
        """How many loop iterations of ``function`` spend about ``target_gas``."""
        small, large = 2, 6
        gas_small = self.gas_of(function, *make_arguments(small))
        gas_large = self.gas_of(function, *make_arguments(large))
        per_unit = (gas_large - gas_small) / (large - small)
        return max(1, int((target_gas - gas_small) / per_unit) + small)

    def witnessed(self, label: str, function: str, arguments: tuple) -> Workload:
        raw_gas, raw_seconds = self.run_at_head(function, *arguments)
        data = self.contract.encode_call(function, *arguments)
        block = build_block(self.chain, [self._transaction(self.address, data, self.gas_limit)])
        stateless_input, execution = prove_block(
            self.chain, block, ChainConfig(chain_id=BENCH_CHAIN_ID, fork=FORK_PRAGUE)
        )
        if execution.error is not None:
            raise RuntimeError(f"{label} block is invalid: {execution.error}")
        (receipt,) = block.get_receipts(self.chain.chaindb)
        if receipt.state_root != b"\x01":
            raise RuntimeError(f"{label} workload failed; try a larger --gas")
        raw = Measurement(label, "raw py-evm", raw_gas, raw_seconds)
        return Workload(
            label, encode(stateless_input), block.header.gas_used, function, arguments, raw
        )


def build_workloads(target_gas: int) -> List[Workload]:
    gas_limit = int(target_gas / GAS_HEADROOM)
    chain = WorkloadChain(gas_limit)
    iterations = chain.units_for("compute", target_gas, lambda n: (n,))
    slots = chain.units_for("fill", target_gas, lambda n: (10**9, n))
    return [
        chain.witnessed("compute-heavy", "compute", (iterations,)),
        chain.witnessed("storage-heavy", "fill", (0, slots)),
    ]


def measure_engine(workload: Workload, engine: str, rules: ForkRules = FORK_RULES) -> Measurement:
    """End to end from bytes, as EXECUTE runs it."""
    started = time.perf_counter()
    stateless_input = decode(workload.encoded_input, StatelessInput)
    report = verify_stateless_new_payload(stateless_input, engine, rules=rules)
    seconds = time.perf_counter() - started
    if report.error is not None:
        raise RuntimeError(f"{engine} rejected the {workload.label} block: {report.error}")
    return Measurement(workload.label, engine, workload.gas_used, seconds, report.declined)


def measure_raw_pyrevm(workload: Workload, gas_limit: int) -> Measurement:
    """The same call on pyrevm's interpreter alone: no witness, no trie, no checks."""
    from pyrevm import EVM, AccountInfo

    contract = compile_contract("Workload")
    evm = EVM(spec_id="PRAGUE")
    caller = "0x" + BENCH_KEY.public_key.to_canonical_address().hex()
    evm.insert_account_info(caller, AccountInfo(balance=10**24, nonce=0))
    address = evm.deploy(caller, contract.bytecode, gas=1_000_000)
    data = contract.encode_call(workload.function, *workload.arguments)
    started = time.perf_counter()
    evm.message_call(caller, address, data, 0, gas_limit)
    seconds = time.perf_counter() - started
    return Measurement(workload.label, "raw pyrevm", evm.result.gas_used, seconds)


def profile_engine(
    workload: Workload, engine: str, rules: ForkRules = FORK_RULES, lines: int = 18
) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    measure_engine(workload, engine, rules)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(lines)
    return out.getvalue()


def run_bench(
    target_gas: int,
    engines: Sequence[str],
    profile: Sequence[str] = (),
    log=print,
    rules: ForkRules = FORK_RULES,
) -> Dict[str, List[Measurement]]:
    """
    Each engine on both blocks, the guest under ``rules`` (the devnet's
    accelerated rules when the speed-ups are on), beside raw pyrevm and stock py-evm.
    """
    log(f"building two L2 blocks of about {target_gas / 1e6:.1f}M gas ...")
    started = time.perf_counter()
    workloads = build_workloads(target_gas)
    log(f"built and witnessed in {time.perf_counter() - started:.1f}s")
    for engine in engines:
        get_engine(engine).warm_up()
    results: Dict[str, List[Measurement]] = {}
    for workload in workloads:
        raw = measure_raw_pyrevm(workload, int(target_gas / GAS_HEADROOM))
        engine_runs = [measure_engine(workload, e, rules) for e in engines]
        results[workload.label] = [raw, workload.raw_pyevm, *engine_runs]
        for engine in profile:
            log(f"profile: {engine} on the {workload.label} block")
            log(profile_engine(workload, engine, rules))
    return results


def format_results(results: Dict[str, List[Measurement]]) -> str:
    header = f"{'block':<15} {'engine':<11} {'gas':>8} {'seconds':>9} {'Mgas/s':>9}"
    rows = [f"{header} {'vs raw pyrevm':>14}"]
    for label, measurements in results.items():
        raw = measurements[0]
        for m in measurements:
            ratio = m.mgas_per_second / raw.mgas_per_second
            note = f"  (declined: {m.declined}; ran on pyevm)" if m.declined else ""
            rows.append(
                f"{label:<15} {m.engine:<11} {m.gas_used / 1e6:>7.2f}M {m.seconds:>9.3f} "
                f"{m.mgas_per_second:>9.2f} {ratio:>13.5f}x{note}"
            )
    return "\n".join(rows)
