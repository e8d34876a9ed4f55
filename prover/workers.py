"""
Where proving jobs run: a local process pool, or a Ray cluster for going past
one machine. A job is a plain function of bytes, so both run the same code
and give the same proofs.
"""

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Optional

from .containers import ProverRegistry
from .proof_types import proof_system
from .registry import ProverSet
from .signing import SecretKey


def prove_job(
    proof_type: str,
    data: bytes,
    l1_chain_id: int,
    registry: bytes,
    prover_index: int,
    secret: bytes,
) -> bytes:
    """
    Prove one encoded StatelessInput with one proof type: the SSZ
    ExecutionProof (``ProofRefused`` if there is none to make).
    """
    provers = ProverSet(l1_chain_id, ProverRegistry.decode_bytes(registry))
    system = proof_system(proof_type, provers, (prover_index, SecretKey.from_bytes(secret)))
    return system.prove(data).encode_bytes()


class LocalWorkers:
    """Jobs in worker processes on this machine (each proof type's engine runs in parallel)."""

    def __init__(self, workers: Optional[int] = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        # Spawned, not forked: a forked worker would inherit the service's open
        # sockets and keep its connections alive after it exits.
        self.executor = ProcessPoolExecutor(
            max_workers=self.workers, mp_context=multiprocessing.get_context("spawn")
        )

    def submit(self, *job_args) -> Future:
        return self.executor.submit(prove_job, *job_args)

    def describe(self) -> str:
        return f"{self.workers} local worker processes"

    def close(self) -> None:
        """Stop now: queued jobs are dropped and running ones killed (a block may take minutes)."""
        processes = list(getattr(self.executor, "_processes", {}).values())  # no public handle
        self.executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()


class RayWorkers:
    """Jobs as Ray tasks: ``address`` is a cluster's (``ray://...`` or ``host:port``) or 'local'."""

    def __init__(self, address: str) -> None:
        try:
            import ray
        except ImportError:
            raise RuntimeError(
                "--ray needs Ray: pip install 'native-rollups[ray]' (or pip install ray)"
            ) from None
        self.ray = ray
        self.address = address
        ray.init(
            address=None if address == "local" else address,
            ignore_reinit_error=True,
            include_dashboard=False,
            log_to_driver=False,
        )
        self.remote = ray.remote(prove_job)

    def submit(self, *job_args) -> Future:
        return self.remote.remote(*job_args).future()

    def describe(self) -> str:
        resources = self.ray.cluster_resources()
        return f"Ray cluster {self.address} ({int(resources.get('CPU', 0))} CPUs)"

    def close(self) -> None:
        self.ray.shutdown()


def workers_for(ray_address: Optional[str], workers: Optional[int] = None):
    return RayWorkers(ray_address) if ray_address else LocalWorkers(workers)

