"""
``nr prover`` against an L1 that misbehaves: a malformed frame, an array
instead of an object, silence. It fails its calls with the reason and stops,
and SIGTERM stops it within seconds; it used to hang for ever.
"""

import asyncio
import signal
import subprocess
import sys
import threading
import time

import pytest
from aiohttp import web

from prover.service import ProverError, ProverService
from prover.workers import workers_for

from chains import free_port


class FakeL1:
    """A WebSocket endpoint that answers every request with ``reply`` (None: never)."""

    def __init__(self, reply) -> None:
        self.reply, self.port = reply, free_port()
        ready = threading.Event()
        threading.Thread(target=self._serve, args=(ready,), daemon=True).start()
        assert ready.wait(10)

    def _serve(self, ready: threading.Event) -> None:
        async def handle(request):
            socket = web.WebSocketResponse()
            await socket.prepare(request)
            async for _ in socket:
                if self.reply is not None:
                    await socket.send_str(self.reply)
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


@pytest.mark.parametrize(
    "reply, reason",
    [
        ("not json{{{", "not JSON"),
        ("[1, 2, 3]", "not a JSON-RPC object"),
    ],
)
def test_a_malformed_frame_fails_the_prover_with_the_reason(reply, reason):
    l1 = FakeL1(reply)
    workers = workers_for(None, 1)
    service = ProverService(l1.url, ["reexec-pyevm"], workers, log=lambda line: None)
    started = time.monotonic()
    try:
        with pytest.raises(ProverError, match=reason):
            asyncio.run(asyncio.wait_for(service.run(), 10))
    finally:
        workers.close()
    assert time.monotonic() - started < 5


def test_sigterm_stops_a_prover_waiting_on_a_silent_l1():
    l1 = FakeL1(None)
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
