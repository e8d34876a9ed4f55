"""
A prover and ``nr up`` when things go wrong: an L1 that sends a malformed
frame, an array instead of an object, or nothing; proof types a prover cannot
make; a settlement that waits for proofs when the process is told to stop;
a flood of proofs for payloads not seen yet. Each fails, stops or is bounded
within seconds and says why; they used to hang, or wait in silence.
"""

import asyncio
import json
import signal
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import Future
from typing import Callable, Dict, Optional

import pytest
from aiohttp import web
from web3 import Web3

from l1.peers import free_consecutive_ports
from prover.containers import ExecutionProof, PublicInput
from prover.pool import ProofPool, payload_key
from prover.proof_types import ProofDeclined
from prover.service import ProverError, ProverService
from prover.signing import demo_prover_key
from prover.workers import workers_for

from chains import free_port
from proving import PROVERS, sign
from rollups import read_until_ready

# A payload the fake L1 asks provers to prove, and how many proof types its EXECUTE needs.
ROOT = "0x" + "ab" * 32
THRESHOLD = 4


class FakeL1:
    """A WebSocket endpoint that answers each request's text with ``answer(text)`` (None: never)."""

    def __init__(self, answer: Callable[[str], Optional[str]]) -> None:
        self.answer, self.port = answer, free_port()
        ready = threading.Event()
        threading.Thread(target=self._serve, args=(ready,), daemon=True).start()
        assert ready.wait(10)

    def _serve(self, ready: threading.Event) -> None:
        async def handle(request):
            socket = web.WebSocketResponse()
            await socket.prepare(request)
            async for message in socket:
                reply = self.answer(message.data)
                if reply is not None:
                    await socket.send_str(reply)
            return socket

        async def main():
            app = web.Application()
            app.router.add_route("GET", "/", handle)
            runner = web.AppRunner(app)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", self.port).start()
            ready.set()
            await asyncio.Event().wait()

        asyncio.run(main())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def always(reply: Optional[str]) -> Callable[[str], Optional[str]]:
    return lambda text: reply


def proofs_mode_l1(held_types=("reexec-pyevm",)) -> Callable[[str], Optional[str]]:
    """An L1 in proofs mode asking for one payload, of which it holds ``held_types``."""
    results: Dict[str, object] = {
        "nr_proverRegistry": {
            "l1ChainId": "0x7a69",
            "provers": [{"pubkey": "0x" + demo_prover_key(0).public_key.hex(), "active": True}],
            "executeMode": "proofs",
            "threshold": THRESHOLD,
        },
        "eth_subscribe": "0x1",
        "nr_getProofRequests": [
            {"newPayloadRequestRoot": ROOT, "proofTypes": list(held_types), "input": "0x00"}
        ],
        "nr_submitExecutionProof": {"verdict": "accept", "reason": "", "queued": False},
    }

    def answer(text: str) -> str:
        request = json.loads(text)
        result = results[request["method"]]
        return json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": result})

    return answer


class StubWorkers:
    """Proving jobs that end as ``outcome`` says (None: never), kept for the test to see."""

    def __init__(self, outcome: Optional[Callable[[str, Future], None]]) -> None:
        self.outcome, self.jobs = outcome, []

    def submit(self, proof_type: str, *job_args) -> Future:
        job = Future()
        if self.outcome is not None:
            self.outcome(proof_type, job)
        self.jobs.append(job)
        return job

    def describe(self) -> str:
        return "stub workers"

    def close(self) -> None:
        pass


def declined(proof_type: str, job: Future) -> None:
    """What an engine that cannot run a block answers."""
    job.set_exception(ProofDeclined(f"{proof_type.split('-')[1]} cannot run this block"))


async def run_until(service: ProverService, done: Callable[[], bool], seconds: float = 5) -> None:
    """Run ``service`` until ``done()`` holds (or ``seconds`` pass), then stop it."""
    stop = asyncio.Event()
    running = asyncio.create_task(service.run(stop))
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline and not running.done():
        await asyncio.sleep(0.05)
    stop.set()
    await running


@pytest.mark.parametrize(
    "reply, reason",
    [
        ("not json{{{", "not JSON"),
        ("[1, 2, 3]", "not a JSON-RPC object"),
    ],
)
def test_a_malformed_frame_fails_the_prover_with_the_reason(reply, reason):
    l1 = FakeL1(always(reply))
    workers = workers_for(None, 1)
    service = ProverService(l1.url, ["reexec-pyevm"], workers, log=lambda line: None)
    started = time.monotonic()
    try:
        with pytest.raises(ProverError, match=reason):
            asyncio.run(asyncio.wait_for(service.run(), 10))
    finally:
        workers.close()
    assert time.monotonic() - started < 5


def test_a_call_the_l1_never_answers_fails_within_its_time_limit(monkeypatch):
    monkeypatch.setattr("prover.service.CALL_TIMEOUT_SECONDS", 0.5)
    l1 = FakeL1(always(None))
    service = ProverService(l1.url, ["reexec-pyevm"], StubWorkers(None), log=lambda line: None)
    with pytest.raises(ProverError, match="did not answer nr_proverRegistry within 0.5 s"):
        asyncio.run(asyncio.wait_for(service.run(), 10))


def test_held_proofs_are_bounded_in_bytes_across_provers(monkeypatch):
    """Every prover within its own bound, the pool still keeps only MAX_HELD_BYTES: the newest."""
    pool = ProofPool(PROVERS)
    flood = [
        sign(for_unseen_payload(index, proof_data=bytes(300 * 1024)), index % 5)
        for index in range(6)
    ]
    size = len(flood[0].encode_bytes())
    monkeypatch.setattr("prover.pool.MAX_HELD_BYTES", 3 * size)
    for signed in flood:
        pool.submit(signed)
    assert [held.payload for held in pool.queued] == [
        payload_key(signed.message.public_input) for signed in flood[-3:]
    ]
    assert sum(len(held.data) for held in pool.queued) == 3 * size


def for_unseen_payload(number: int, proof_data: bytes) -> ExecutionProof:
    """A proof for a payload no node has seen (it is held, not judged)."""
    return ExecutionProof(
        proof_data=proof_data,
        proof_type=1,
        public_input=PublicInput(new_payload_request_root=number.to_bytes(32, "big")),
    )


def test_sigterm_stops_a_prover_waiting_on_a_silent_l1():
    l1 = FakeL1(always(None))
    process = subprocess.Popen(
        [sys.executable, "-m", "nr.cli", "prover", "--l1", l1.url, "--workers", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    time.sleep(3)  # connected, its first call unanswered
    assert process.poll() is None
    sent = time.monotonic()
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=10)
    assert time.monotonic() - sent < 5
    assert "Traceback" not in process.stderr.read()


def test_a_prover_says_when_the_types_it_cannot_make_leave_a_block_short():
    """
    Proofs mode at 4 types; the node holds 1 and this prover's engines decline
    the other two: it says the block stays short, which types it could not
    make and why, rather than leave the block waiting in silence.
    """
    l1 = FakeL1(proofs_mode_l1())
    lines = []
    service = ProverService(
        l1.url, ["reexec-revm", "attested-revm"], StubWorkers(declined),
        log=lines.append, shortfall_hint="no other prover runs here",
    )
    asyncio.run(run_until(service, lambda: any("distinct types" in line for line in lines)))
    (shortfall,) = [line for line in lines if "distinct types" in line]
    assert shortfall.startswith(ROOT[:18])
    assert f"the L1 holds proofs of 1 of the {THRESHOLD} distinct types" in shortfall
    assert "EXECUTE needs (reexec-pyevm)" in shortfall
    assert "reexec-revm (revm cannot run this block)" in shortfall
    assert "attested-revm (revm cannot run this block)" in shortfall
    assert shortfall.endswith("; no other prover runs here")


def test_stopping_a_prover_leaves_no_proof_job_running():
    """Jobs still proving when the prover stops are cancelled, not left to publish to no one."""
    l1 = FakeL1(proofs_mode_l1(held_types=()))
    workers = StubWorkers(outcome=None)
    service = ProverService(l1.url, ["reexec-pyevm"], workers, log=lambda line: None)

    async def main():
        await run_until(service, lambda: workers.jobs)
        assert workers.jobs, "no proving job started"
        await asyncio.sleep(0.1)  # what was cancelled winds down
        return [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]

    assert asyncio.run(main()) == []


# A sequencer round that waits as a settlement in proofs mode waits for proofs that never come.
STUCK_SEQUENCER = textwrap.dedent("""
    import time
    from types import SimpleNamespace
    from rollup.service import serve

    def step():
        print("settling", flush=True)
        time.sleep(600)

    rollup = SimpleNamespace(
        config=SimpleNamespace(stage=0, l2_chain_id=900), sequencer=SimpleNamespace(step=step)
    )
    serve([], [rollup], "127.0.0.1", settle_interval=0.1)
""")


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGINT"])
def test_a_signal_stops_the_rollup_service_while_a_settlement_waits(signal_name):
    process = subprocess.Popen(
        [sys.executable, "-c", STUCK_SEQUENCER],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout.readline() == "settling\n"
        stopped_within(process, getattr(signal, signal_name))
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 0
    assert "Traceback" not in process.stderr.read()


def stopped_within(process: subprocess.Popen, signal_number: int, seconds: float = 5) -> None:
    """Send ``signal_number``; the process must exit within ``seconds``."""
    sent = time.monotonic()
    process.send_signal(signal_number)
    try:
        process.wait(timeout=seconds + 5)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"still running {seconds + 5:g} s after the signal") from None
    assert time.monotonic() - sent < seconds


@pytest.mark.slow
def test_sigterm_stops_nr_up_while_a_settlement_waits_for_proofs():
    """``nr up --execute-mode proofs --threshold 4/5`` stopped while its first block waits."""
    port = free_consecutive_ports(2)
    process = subprocess.Popen(
        [
            sys.executable, "-m", "nr.cli", "up", "--port", str(port), "--stages", "0",
            "--execute-mode", "proofs", "--threshold", "4/5", "--settle-interval", "0.5",
        ],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        read_until_ready(process)
        l2 = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{port + 1}"))
        l2.eth.send_transaction(
            {"from": l2.eth.accounts[0], "to": l2.eth.accounts[1], "value": 10**18}
        )
        l1 = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{port}"))
        deadline = time.monotonic() + 30
        while not l1.provider.make_request("nr_awaitingProofs", [])["result"]:
            assert time.monotonic() < deadline, "the settlement never waited for proofs"
            time.sleep(0.1)
        stopped_within(process, signal.SIGTERM)
    finally:
        process.kill()
        process.wait()
    assert "Traceback" not in process.stdout.read()
