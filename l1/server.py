"""
``nr devnet``'s transport: JSON-RPC over HTTP POST and WebSocket on one port,
as anvil serves it, plus ``eth_subscribe`` notifications and interval mining.
Besides anvil's newHeads and logs, a connection may subscribe to
``executionProofs`` (the ``execution_proof`` topic: each proof the pool
accepts) and ``proofRequests`` (each EXECUTE input the node meets).
"""

import asyncio
import gc
import json
import signal
import sys
import threading
from typing import Any, Dict, List, Optional

from aiohttp import WSMsgType, web

from .filters import log_matches
from .formatting import (
    format_block,
    format_block_logs,
    format_proof_request,
    format_signed_proof,
)
from .node import Devnet
from .rpc import INVALID_PARAMS, MAX_REQUEST_BYTES, Dispatcher, RpcError

# anvil saves --state only on exit unless told; saving also periodically loses less.
DEFAULT_STATE_INTERVAL = 30.0
# Seconds a thread holding the GIL runs before one waiting for it gets a turn
# (CPython's default is 5 ms). The event loop waits on a miner that way: an
# answered transaction would reach its client only when its block is done.
GIL_SWITCH_INTERVAL = 0.0005
# Longest a miner waits for the event loop to take an early answer (a busy loop
# only delays the block this long).
ANSWER_HANDOFF_SECONDS = 0.05
# How often an idle interval miner looks whether evm_setIntervalMining turned it on.
IDLE_POLL_SECONDS = 0.2
SUBSCRIPTION_KINDS = ("newHeads", "logs", "executionProofs", "proofRequests")


class Subscriptions:
    """WebSocket subscriptions of one connection: id -> (kind, filter)."""

    def __init__(self) -> None:
        self.by_id: Dict[str, tuple] = {}
        self.counter = 0

    def add(self, kind: str, criteria: Dict[str, Any]) -> str:
        self.counter += 1
        subscription_id = hex(self.counter)
        self.by_id[subscription_id] = (kind, criteria)
        return subscription_id


class DevnetServer:
    def __init__(self, devnet: Devnet, host: str, port: int) -> None:
        self.devnet, self.host, self.port = devnet, host, port
        self.dispatcher = Dispatcher(devnet)
        self.sockets: List[tuple] = []
        self.loop: Optional[asyncio.AbstractEventLoop] = None
        devnet.block_listeners.append(self._on_block)
        devnet.proof_pool.proof_listeners.append(self._on_proof)
        devnet.proof_pool.request_listeners.append(self._on_proof_request)

    async def handle_http(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self.handle_websocket(request)
        if request.method != "POST":
            return web.Response(text="JSON-RPC: POST a request\n")
        body = await request.read()
        response = await self._dispatch(body)
        if response is None:  # notifications only: nothing to answer (JSON-RPC 2.0, as anvil)
            return web.Response(status=204)
        return web.Response(body=response, content_type="application/json")

    async def _dispatch(self, body: bytes) -> Optional[bytes]:
        """
        The response to ``body``, as soon as the dispatcher has it: a
        transaction is answered once accepted, while its block is mined.
        """
        loop = asyncio.get_running_loop()
        answered = loop.create_future()

        def deliver(response: Optional[bytes], taken: threading.Event) -> None:
            if not answered.done():
                answered.set_result(response)
            taken.set()

        def finished(work: asyncio.Future) -> None:
            if answered.done():
                return
            if work.cancelled():
                answered.cancel()
            elif work.exception() is not None:
                answered.set_exception(work.exception())
            else:
                answered.set_result(work.result())

        def answer(response: Optional[bytes]) -> None:
            # The miner waits (without the GIL) until the loop holds the answer, so
            # the loop sends it now rather than after a GIL switch interval of mining.
            taken = threading.Event()
            loop.call_soon_threadsafe(deliver, response, taken)
            taken.wait(ANSWER_HANDOFF_SECONDS)

        work = loop.run_in_executor(None, self.dispatcher.handle_bytes, body, answer)
        work.add_done_callback(finished)
        return await answered

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(max_msg_size=MAX_REQUEST_BYTES)
        await socket.prepare(request)
        subscriptions = Subscriptions()
        entry = (socket, subscriptions)
        self.sockets.append(entry)
        try:
            async for message in socket:
                if message.type != WSMsgType.TEXT:
                    continue
                answer = self._subscription_request(message.data, subscriptions)
                if answer is None:
                    answer = await self._dispatch(message.data.encode())
                if answer:
                    await socket.send_str(answer.decode() if isinstance(answer, bytes) else answer)
        finally:
            self.sockets.remove(entry)
        return socket

    def _subscription_request(self, text: str, subscriptions: Subscriptions) -> Optional[str]:
        try:
            request = json.loads(text)
        except json.JSONDecodeError:
            return None
        if not isinstance(request, dict):
            return None
        method, params = request.get("method"), request.get("params") or []
        if method == "eth_subscribe":
            kind = params[0] if params else None
            if kind not in SUBSCRIPTION_KINDS:
                error = RpcError(
                    INVALID_PARAMS, f"invalid params: unsupported subscription {kind!r}"
                )
                return json.dumps(
                    {"jsonrpc": "2.0", "id": request.get("id"), "error": error.as_json()}
                )
            criteria = params[1] if len(params) > 1 and isinstance(params[1], dict) else {}
            result = subscriptions.add(kind, criteria)
        elif method == "eth_unsubscribe":
            result = subscriptions.by_id.pop(params[0] if params else None, None) is not None
        else:
            return None
        return json.dumps({"jsonrpc": "2.0", "id": request.get("id"), "result": result})

    def _on_block(self, block) -> None:
        """Called on the mining thread; notifications go out on the server's loop."""
        if self.loop is None or not self.sockets:
            return
        self._publish("newHeads", [format_block(block, False)])
        self._publish("logs", format_block_logs(block, self.devnet.block_receipts(block)))

    def _on_proof(self, signed) -> None:
        self._publish("executionProofs", [format_signed_proof(signed)])

    def _on_proof_request(self, payload) -> None:
        self._publish("proofRequests", [format_proof_request(payload)])

    def _publish(self, kind: str, results: List[Dict[str, Any]]) -> None:
        """From any thread: send ``results`` to the subscribers of ``kind``."""
        if self.loop is not None and self.sockets and results:
            asyncio.run_coroutine_threadsafe(self._notify(kind, results), self.loop)

    async def _notify(self, kind: str, results: List[Dict[str, Any]]) -> None:
        for socket, subscriptions in list(self.sockets):
            for subscription_id, (subscribed, criteria) in list(subscriptions.by_id.items()):
                if subscribed != kind:
                    continue
                if kind == "logs":
                    matching = [log for log in results if log_matches(log, criteria)]
                else:
                    matching = results
                for result in matching:
                    message = {
                        "jsonrpc": "2.0",
                        "method": "eth_subscription",
                        "params": {"subscription": subscription_id, "result": result},
                    }
                    await socket.send_str(json.dumps(message))

    async def _interval_mining(self) -> None:
        """Mine every ``devnet.block_time`` seconds, following changes to it."""
        loop = asyncio.get_running_loop()
        while True:
            seconds = self.devnet.block_time
            await asyncio.sleep(seconds or IDLE_POLL_SECONDS)
            if seconds and self.devnet.block_time:
                try:
                    mining = loop.run_in_executor(None, self.devnet.mine)
                except RuntimeError:  # the process is exiting: no executor left to mine on
                    return
                await mining

    async def stop(self, runner: web.AppRunner) -> None:
        # Open WebSockets (provers, subscribers) would hold the shutdown for a minute.
        for socket, _ in list(self.sockets):
            await socket.close()
        await runner.cleanup()

    async def start(self) -> web.AppRunner:
        self.loop = asyncio.get_running_loop()
        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        app.router.add_route("*", "/", self.handle_http)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, self.host, self.port).start()
        asyncio.create_task(self._interval_mining())
        return runner


def stop_on_signals() -> asyncio.Event:
    """An event SIGINT or SIGTERM sets (in the main thread; elsewhere the caller stops us)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signal_number, stop.set)
        except (RuntimeError, ValueError):  # not the main thread
            pass
    return stop


def serve_forever(
    devnet: Devnet,
    host: str,
    port: int,
    ready: Optional[threading.Event] = None,
    state_path: Optional[str] = None,
    state_interval: float = DEFAULT_STATE_INTERVAL,
):
    """
    Run the server until SIGINT or SIGTERM. With ``state_path``, save the
    chain there every ``state_interval`` seconds and on the way out.
    """

    async def main() -> None:
        sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_INTERVAL))
        # What start-up built (libraries, compiled contracts, genesis) lives as long as
        # the server: the collector need not walk it again on every full collection.
        gc.freeze()
        server = DevnetServer(devnet, host, port)
        runner = await server.start()
        stop = stop_on_signals()
        loop = asyncio.get_running_loop()
        if state_path:
            asyncio.create_task(_save_periodically(devnet, state_path, state_interval))
        if ready is not None:
            ready.set()
        try:
            await stop.wait()
        finally:
            await server.stop(runner)
            if state_path:
                await loop.run_in_executor(None, devnet.save_state, state_path)

    asyncio.run(main())


async def _save_periodically(devnet: Devnet, path: str, seconds: float) -> None:
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(seconds)
        await loop.run_in_executor(None, devnet.save_state, path)
