"""
``nr bench prove``: what proving and verifying cost per proof type, against
L2 gas used.

Compute-heavy L2 blocks (the ``Workload`` contract, as ``nr bench execute``
builds them) of 1M to 30M gas are proven with every proof type and verified
again; the run prints prove and verify time, proof size, and how many
parallel provers a proving window needs. Signature costs (sign, verify, and
batched verify per signature) are measured in the same run.
"""

import math
import statistics
import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence

from nr.bench.execute import WorkloadChain
from precompile.engines import get_engine
from prover.constants import DEFAULT_PROOF_TYPES
from prover.proof_types import ProofRefused, proof_system, run_guest
from prover.registry import ProverSet
from prover.signing import demo_prover_key, verify, verify_batch

DEFAULT_GAS_POINTS = (1_000_000, 10_000_000, 30_000_000)
# Proving windows: without ePBS a proof must be ready within about 1-2 s of the
# block; with ePBS's deferred execution about 6-9 s.
WINDOWS_SECONDS = (1.0, 2.0, 6.0, 9.0)
# The attested proofs' verification budget per proof.
ATTESTED_VERIFY_BUDGET_MS = 5.0
BENCH_L1_CHAIN_ID = 31337
SIGNATURES_IN_BATCH = 64
# Verifications that take under this much in all are repeated, up to this many times.
QUICK_VERIFY_SECONDS = 0.2
VERIFY_ROUNDS = 25


@dataclass
class ProofMeasurement:
    proof_type: str
    gas_used: int
    prove_seconds: float
    verify_seconds: Optional[float]
    proof_size: Optional[int]
    # Why there is no proof (too large for MAX_PROOF_SIZE), if none.
    refused: Optional[str] = None

    def provers_for(self, window: float) -> int:
        """Parallel provers so that one block's proof fits ``window`` (perfect splitting)."""
        return max(1, math.ceil(self.prove_seconds / window))


@dataclass
class HashingMeasurement:
    nodes: int
    # Seconds per backend that ran ("cpu", "numpy", "cupy"); why the GPU did not, if not.
    seconds: Dict[str, float]
    no_gpu: Optional[str] = None


@dataclass
class SignatureMeasurement:
    sign_ms: float
    verify_ms: float
    batch_verify_ms_each: float


def curve_blocks(gas_points: Sequence[int], log: Callable[[str], None]) -> List[tuple]:
    """(gas used, encoded StatelessInput) of one compute-heavy block per gas point."""
    blocks = []
    for target in gas_points:
        started = time.perf_counter()
        chain = WorkloadChain(int(target / 0.97))
        iterations = chain.units_for("compute", target, lambda n: (n,))
        workload = chain.witnessed("compute-heavy", "compute", (iterations,))
        blocks.append((workload.gas_used, workload.encoded_input))
        log(
            f"built a {workload.gas_used / 1e6:.1f}M gas block"
            f" ({len(workload.encoded_input)} bytes) in {time.perf_counter() - started:.1f}s"
        )
    return blocks


def measure_proof(proof_type: str, gas_used: int, data: bytes, provers: ProverSet):
    index = DEFAULT_PROOF_TYPES.index(proof_type)
    system = proof_system(proof_type, provers, (index, demo_prover_key(index)))
    started = time.perf_counter()
    try:
        proof = system.prove(data)
    except ProofRefused as refused:
        seconds = time.perf_counter() - started
        return ProofMeasurement(proof_type, gas_used, seconds, None, None, str(refused))
    prove_seconds = time.perf_counter() - started
    return ProofMeasurement(
        proof_type, gas_used, prove_seconds, verify_time(system, proof), len(proof.proof_data)
    )


def verify_time(system, proof) -> float:
    """Seconds to verify ``proof``: the median of several runs where one is quick."""
    times = []
    while len(times) < VERIFY_ROUNDS and sum(times) < QUICK_VERIFY_SECONDS:
        started = time.perf_counter()
        if not system.verify(proof):
            raise RuntimeError(f"{system.name} proof of a valid block did not verify")
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure_signatures(rounds: int = 200) -> SignatureMeasurement:
    key = demo_prover_key(0)
    message = b"\x5a" * 32
    started = time.perf_counter()
    for _ in range(rounds):
        signature = key.sign(message)
    sign_ms = (time.perf_counter() - started) / rounds * 1e3
    started = time.perf_counter()
    for _ in range(rounds):
        assert verify(key.public_key, message, signature)
    verify_ms = (time.perf_counter() - started) / rounds * 1e3
    keys = [demo_prover_key(i % 8) for i in range(SIGNATURES_IN_BATCH)]
    items = [(k.public_key, bytes([i]) * 32, k.sign(bytes([i]) * 32)) for i, k in enumerate(keys)]
    started = time.perf_counter()
    assert verify_batch(items)
    batch_ms = (time.perf_counter() - started) / len(items) * 1e3
    return SignatureMeasurement(sign_ms, verify_ms, batch_ms)


def measure_hashing(encoded_inputs: Sequence[bytes], copies: int = 64) -> HashingMeasurement:
    """
    Hash every witness node of ``copies`` x the given blocks (as a prover
    verifying that many blocks would) with each available backend; the
    digests must agree.
    """
    from precompile.encoding import decode
    from precompile.ssz import StatelessInput
    from prover.hashing import NoGpu, keccak_batch

    nodes = [
        bytes(node)
        for data in encoded_inputs
        for node in decode(data, StatelessInput).witness.state
    ] * copies
    seconds, digests, no_gpu = {}, {}, None
    for backend in ("cpu", "numpy", "cupy"):
        started = time.perf_counter()
        try:
            digests[backend] = keccak_batch(nodes, backend)
        except NoGpu as missing:
            no_gpu = str(missing)
            continue
        seconds[backend] = time.perf_counter() - started
    if any(result != digests["cpu"] for result in digests.values()):
        raise RuntimeError("hashing backends disagree")
    return HashingMeasurement(len(nodes), seconds, no_gpu)


def run_bench(
    gas_points: Sequence[int] = DEFAULT_GAS_POINTS,
    proof_types: Sequence[str] = DEFAULT_PROOF_TYPES,
    log: Callable[[str], None] = print,
):
    provers = ProverSet.demo(BENCH_L1_CHAIN_ID)
    blocks = curve_blocks(gas_points, log)
    for engine in {proof_system(t, provers).engine for t in proof_types}:
        get_engine(engine).warm_up()
    run_guest(blocks[0][1], "pyevm")  # first-use imports out of the timings
    measurements = []
    for gas_used, data in blocks:
        for proof_type in proof_types:
            measurement = measure_proof(proof_type, gas_used, data, provers)
            log(f"{proof_type} at {gas_used / 1e6:.1f}M gas: {measurement.prove_seconds:.2f}s")
            measurements.append(measurement)
    return measurements, measure_signatures(), measure_hashing([data for _, data in blocks])


def format_hashing(hashing: HashingMeasurement) -> str:
    cpu = hashing.seconds["cpu"]
    parts = [
        f"{backend} {seconds * 1e3:.1f} ms ({cpu / seconds:.2f}x cpu)"
        for backend, seconds in hashing.seconds.items()
    ]
    gpu = f"; cupy not run: {hashing.no_gpu}" if hashing.no_gpu else ""
    return f"witness hashing, {hashing.nodes} nodes: {', '.join(parts)}{gpu}"


def format_results(
    measurements: List[ProofMeasurement],
    signatures: SignatureMeasurement,
    hashing: Optional[HashingMeasurement] = None,
) -> str:
    windows = " ".join(f"{f'@{w:g}s':>5}" for w in WINDOWS_SECONDS)
    rows = [
        f"{'proof type':<15} {'gas':>6} {'prove s':>8} {'Mgas/s':>7} {'verify ms':>10}"
        f" {'size B':>8}  provers {windows}"
    ]
    for m in measurements:
        verify_ms = "-" if m.verify_seconds is None else f"{m.verify_seconds * 1e3:.2f}"
        size = "-" if m.proof_size is None else str(m.proof_size)
        needed = " ".join(f"{m.provers_for(w):>5}" for w in WINDOWS_SECONDS)
        note = f"  (no proof: {m.refused})" if m.refused else ""
        rows.append(
            f"{m.proof_type:<15} {m.gas_used / 1e6:>5.1f}M {m.prove_seconds:>8.2f}"
            f" {m.gas_used / m.prove_seconds / 1e6:>7.2f} {verify_ms:>10} {size:>8}"
            f"          {needed}{note}"
        )
    attested = [
        m.verify_seconds * 1e3
        for m in measurements
        if m.proof_type.startswith("attested") and m.verify_seconds is not None
    ]
    if attested:
        worst = max(attested)
        verdict = "within" if worst <= ATTESTED_VERIFY_BUDGET_MS else "OVER"
        rows.append(
            f"\nattested verify: worst {worst:.2f} ms per proof, {verdict} the"
            f" {ATTESTED_VERIFY_BUDGET_MS:g} ms budget"
        )
    rows += [
        f"BLS (blspy): sign {signatures.sign_ms:.2f} ms, verify {signatures.verify_ms:.2f} ms,"
        f" batched verify {signatures.batch_verify_ms_each:.2f} ms per signature"
        f" ({SIGNATURES_IN_BATCH} in one aggregate check,"
        f" {signatures.verify_ms / signatures.batch_verify_ms_each:.1f}x one by one)",
        *([format_hashing(hashing)] if hashing else []),
        "provers @Ns: parallel provers so one block's proof is ready within N s (1-2 s without"
        " ePBS, 6-9 s with it), assuming a proof splits into equal independent parts as zkVM"
        " continuations do; re-execution and attestation do not split, so where one prover"
        " takes longer than the window, that proof type cannot meet it on this machine.",
        "reexec-* and attested-* are not zero-knowledge proofs: re-execution carries the input"
        " (bounded by MAX_PROOF_SIZE); attestations are trust in the registered signers.",
    ]
    return "\n".join(rows)
