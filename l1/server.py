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
import logging
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, Callable, Dict, List, Optional

from aiohttp import WSMsgType, web

from .filters import log_matches
from .formatting import (
    format_block,
    format_block_logs,
    format_proof_request,
    format_signed_proof,
    shown,
)
from .node import Devnet
from .rpc import (
    CALL_METHODS,
    INVALID_PARAMS,
    MAX_REQUEST_BYTES,
    Dispatcher,
    RpcError,
    parse_request,
)

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
# Threads for calls, gas estimates, access lists and traced calls (CALL_METHODS).
CALL_LANE_WORKERS = 32
# Bodies up to this size are read on the event loop (to answer a quick read at
# once); larger ones are parsed on a thread, where a slow parse blocks no one.
QUICK_READ_BYTES = 4096
SUBSCRIPTION_KINDS = ("newHeads", "logs", "executionProofs", "proofRequests")
# Subscriptions one WebSocket connection may hold at once.
MAX_SUBSCRIPTIONS = 128
# Messages waiting to be sent to one connection; a client that falls this far
# behind is disconnected, so that it never holds up the others.
SEND_QUEUE_LIMIT = 1024
logger = logging.getLogger(__name__)


class Subscriptions:
    """WebSocket subscriptions of one connection: id -> (kind, filter)."""

    def __init__(self) -> None:
        self.by_id: Dict[str, tuple] = {}
        self.counter = 0

    def add(self, kind: str, criteria: Dict[str, Any]) -> str:
        if len(self.by_id) >= MAX_SUBSCRIPTIONS:
            raise RpcError(
                INVALID_PARAMS,
                f"invalid params: a connection may hold at most {MAX_SUBSCRIPTIONS}"
                " subscriptions; unsubscribe one first",
            )
        self.counter += 1
        subscription_id = hex(self.counter)
        self.by_id[subscription_id] = (kind, criteria)
        return subscription_id


class Connection:
    """
    One WebSocket client: its subscriptions and the messages on their way to
    it. One task sends them in order; a client that stops reading fills its
    queue and is disconnected instead of slowing the notifications of others.
    """

    def __init__(self, socket: web.WebSocketResponse, transport) -> None:
        self.socket, self.transport = socket, transport
        self.subscriptions = Subscriptions()
        self.outbox: "asyncio.Queue[Optional[str]]" = asyncio.Queue(SEND_QUEUE_LIMIT)
        self.sender = asyncio.create_task(self._send_all())

    def send(self, text: str) -> None:
        """Queue ``text``; a connection too far behind is closed."""
        if self.socket.closed or self.sender.done():
            return
        try:
            self.outbox.put_nowait(text)
        except asyncio.QueueFull:
            # A closing handshake would wait on the same full buffer: cut the connection.
            logger.warning(
                "disconnected a WebSocket client %d messages behind (it does not read)",
                SEND_QUEUE_LIMIT,
            )
            self.sender.cancel()
            if self.transport is not None:
                self.transport.abort()

    async def _send_all(self) -> None:
        while True:
            text = await self.outbox.get()
            if text is None:
                return
            try:
                await self.socket.send_str(text)
            except (ConnectionError, RuntimeError):  # the client went away
                return

    async def close(self) -> None:
        self.sender.cancel()
        await self.socket.close()


def subscription_result(method: str, params: Any, subscriptions: Subscriptions) -> Any:
    """eth_subscribe's new id or eth_unsubscribe's verdict; RpcError for bad params."""
    if not isinstance(params, list):
        raise RpcError(INVALID_PARAMS, "invalid params: params must be an array")
    if method == "eth_unsubscribe":
        return subscriptions.by_id.pop(params[0] if params else None, None) is not None
    kind = params[0] if params else None
    if kind not in SUBSCRIPTION_KINDS:
        raise RpcError(INVALID_PARAMS, f"invalid params: unsupported subscription {shown(kind)}")
    criteria = params[1] if len(params) > 1 and isinstance(params[1], dict) else {}
    return subscriptions.add(kind, criteria)


class DevnetServer:
    def __init__(self, devnet: Devnet, host: str, port: int, namespaces=()) -> None:
        self.devnet, self.host, self.port = devnet, host, port
        self.dispatcher = Dispatcher(devnet, namespaces)
        # Calls and their kin run EVM code for up to the call timeout each, on threads of
        # their own: not ahead of sends and reads, and many at once, sharing the CPU
        # rather than waiting in line (a gas estimate a send needs gets a thread at once).
        self.call_lane = ThreadPoolExecutor(CALL_LANE_WORKERS, thread_name_prefix="nr-calls")
        self.connections: List[Connection] = []
        self.loop: Optional[asyncio.AbstractEventLoop] = None
        devnet.block_listeners.append(self._on_block)
        devnet.proof_pool.proof_listeners.append(self._on_proof)
        devnet.proof_pool.request_listeners.append(self._on_proof_request)

    def _request(self, message, payload, protocol, writer, task) -> web.BaseRequest:
        """A request that may carry a body up to the RPC's limit (aiohttp's default is 1 MiB)."""
        return web.BaseRequest(
            message, payload, protocol, writer, task, self.loop, client_max_size=MAX_REQUEST_BYTES
        )

    async def handle_http(self, request: web.BaseRequest) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self.handle_websocket(request)
        if request.method != "POST":
            return web.Response(text="JSON-RPC: POST a request\n")
        body = await request.read()
        if len(body) > QUICK_READ_BYTES:
            response = await self._dispatch(partial(self.dispatcher.handle_bytes, body))
        else:
            response = await self._answer_parsed(body)
        if response is None:  # notifications only: nothing to answer (JSON-RPC 2.0, as anvil)
            return web.Response(status=204)
        return web.Response(body=response, content_type="application/json")

    async def _answer_parsed(self, body: bytes) -> Optional[bytes]:
        """
        A small body, read once here on the loop: a quick read is answered at
        once if the node is free, anything else goes to a thread already parsed.
        """
        try:
            request = parse_request(body)
        except RpcError as error:
            return self.dispatcher.refusal(error)
        if self.dispatcher.is_quick_read(request):
            answered = self.dispatcher.answer_at_once(request)
            if answered is not None:
                return answered
        accepted = self.dispatcher.accept_small_send_at_once(request)
        if accepted is not None:
            response, mine_and_let_go = accepted
            # Runs once this handler has written the response and waits for the
            # next request, so the client reads its hash while the block is mined.
            self.loop.call_soon(mine_and_let_go)
            return response
        return await self._dispatch(
            partial(self.dispatcher.handle_parsed, request), self._lane(request)
        )

    def _lane(self, request: Any) -> Optional[ThreadPoolExecutor]:
        """The call lane for a call, a gas estimate, an access list or a traced call."""
        if isinstance(request, dict) and request.get("method") in CALL_METHODS:
            return self.call_lane
        return None  # the loop's own executor

    async def _dispatch(
        self, handle: Callable[..., Optional[bytes]], lane: Optional[ThreadPoolExecutor] = None
    ) -> Optional[bytes]:
        """
        The response ``handle`` (a dispatcher method, given the answer
        callback) makes, as soon as it has it: a transaction is answered once
        accepted, while its block is mined.
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

        work = loop.run_in_executor(lane, handle, answer)
        work.add_done_callback(finished)
        return await answered

    async def handle_websocket(self, request: web.BaseRequest) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(max_msg_size=MAX_REQUEST_BYTES)
        await socket.prepare(request)
        connection = Connection(socket, request.transport)
        self.connections.append(connection)
        loop = asyncio.get_running_loop()
        try:
            async for message in socket:
                if message.type != WSMsgType.TEXT:
                    continue
                # Read once, off the event loop (a large body takes a while).
                try:
                    parsed = await loop.run_in_executor(
                        None, parse_request, message.data.encode()
                    )
                except RpcError as error:
                    connection.send(self.dispatcher.refusal(error).decode())
                    continue
                answer = self._subscription_request(parsed, connection.subscriptions)
                if answer is None and self.dispatcher.is_quick_read(parsed):
                    answer = self.dispatcher.answer_at_once(parsed)
                if answer is None:
                    answer = await self._dispatch(
                        partial(self.dispatcher.handle_parsed, parsed), self._lane(parsed)
                    )
                if answer:
                    connection.send(answer.decode() if isinstance(answer, bytes) else answer)
        finally:
            self.connections.remove(connection)
            connection.sender.cancel()
        return socket

    def _subscription_request(self, request: Any, subscriptions: Subscriptions) -> Optional[str]:
        """The answer to eth_subscribe or eth_unsubscribe; None for any other request."""
        if not isinstance(request, dict):
            return None
        method, params = request.get("method"), request.get("params") or []
        if method not in ("eth_subscribe", "eth_unsubscribe"):
            return None
        try:
            result = subscription_result(method, params, subscriptions)
        except RpcError as error:
            reply = {"jsonrpc": "2.0", "id": request.get("id"), "error": error.as_json()}
            return json.dumps(reply)
        return json.dumps({"jsonrpc": "2.0", "id": request.get("id"), "result": result})

    def _on_block(self, block) -> None:
        """Called on the mining thread; notifications go out on the server's loop."""
        if self.loop is None or not self.connections:
            return
        self._publish("newHeads", [format_block(block, False)])
        self._publish("logs", format_block_logs(block, self.devnet.block_receipts(block)))

    def _on_proof(self, signed) -> None:
        self._publish("executionProofs", [format_signed_proof(signed)])

    def _on_proof_request(self, payload) -> None:
        self._publish("proofRequests", [format_proof_request(payload)])

    def _publish(self, kind: str, results: List[Dict[str, Any]]) -> None:
        """From any thread: send ``results`` to the subscribers of ``kind``."""
        if self.loop is not None and self.connections and results:
            asyncio.run_coroutine_threadsafe(self._notify(kind, results), self.loop)

    async def _notify(self, kind: str, results: List[Dict[str, Any]]) -> None:
        for connection in list(self.connections):
            for subscription_id, (subscribed, criteria) in list(
                connection.subscriptions.by_id.items()
            ):
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
                    connection.send(json.dumps(message))

    async def _interval_mining(self) -> None:
        """
        Mine every ``devnet.block_time`` seconds, following changes to it. A
        block that fails is logged and the next one tried: this never stops.
        """
        loop = asyncio.get_running_loop()
        last_failure = None
        while True:
            seconds = self.devnet.block_time
            if not await self._interval_passed(seconds):
                continue  # the interval changed (or mining went off): wait the new one
            if seconds:
                try:
                    mining = loop.run_in_executor(None, self.devnet.mine)
                except RuntimeError:  # the process is exiting: no executor left to mine on
                    return
                try:
                    await mining
                    last_failure = None
                except Exception as error:  # logged once per reason; the timer keeps going
                    if str(error) != last_failure:
                        logger.error("interval mining: the block failed: %s", error)
                    last_failure = str(error)

    async def _interval_passed(self, seconds: Optional[float]) -> bool:
        """
        Wait ``seconds`` (idle a moment if None), looking every moment for a
        new interval: False as soon as ``block_time`` is no longer ``seconds``.
        A long interval set by mistake is left at once for the next one set.
        """
        loop = asyncio.get_running_loop()
        due = loop.time() + (seconds or IDLE_POLL_SECONDS)
        while True:
            await asyncio.sleep(min(IDLE_POLL_SECONDS, max(0.0, due - loop.time())))
            if self.devnet.block_time != seconds:
                return False
            if loop.time() >= due:
                return True

    async def _slot_mining(self) -> None:
        """
        Slot mode: mine each slot's block at the slot's start. A slot whose
        block failed, or that the head already covers (a block mined by
        hand), is passed over; this never stops.
        """
        loop = asyncio.get_running_loop()
        while True:
            slots = self.devnet.slots
            now = time.time() + self.devnet.time_offset
            slot = slots.slot_of(int(now)) + 1
            await asyncio.sleep(max(0.0, slots.start_of(slot) - now))
            try:
                await loop.run_in_executor(None, self.devnet.mine_slot, slot)
            except RuntimeError:  # the process is exiting: no executor left to mine on
                return
            except Exception as error:  # logged; the next slot is tried
                logger.error("slot %d: no block: %s", slot, error)

    async def stop(self, runner: web.BaseRunner) -> None:
        # Open WebSockets (provers, subscribers) would hold the shutdown for a minute.
        for connection in list(self.connections):
            await connection.close()
        await runner.cleanup()
        self.call_lane.shutdown(wait=False, cancel_futures=True)

    async def start(self) -> web.BaseRunner:
        self.loop = asyncio.get_running_loop()
        # aiohttp's low-level server: one handler for every path, as a JSON-RPC
        # node answers, without an application's router and middleware chain.
        server = web.Server(self.handle_http, request_factory=self._request, access_log=None)
        runner = web.ServerRunner(server)
        await runner.setup()
        await web.TCPSite(runner, self.host, self.port).start()
        asyncio.create_task(self._interval_mining())
        if self.devnet.config.slot_mode:
            asyncio.create_task(self._slot_mining())
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
    """
    Save every ``seconds``; a failed save is logged (once per reason, with
    when the last one succeeded) and tried again at the next interval.
    """
    loop = asyncio.get_running_loop()
    last_saved: Optional[float] = None
    last_failure = None
    while True:
        await asyncio.sleep(seconds)
        try:
            await loop.run_in_executor(None, devnet.save_state, path)
        except Exception as error:  # a full disk, a removed directory: retried
            if str(error) != last_failure:
                since = (
                    "never yet"
                    if last_saved is None
                    else f"{time.monotonic() - last_saved:.0f} s ago"
                )
                logger.error(
                    "saving state to %s failed: %s (last saved %s; retrying every %g s)",
                    path,
                    error,
                    since,
                    seconds,
                )
            last_failure = str(error)
        else:
            if last_failure is not None:
                logger.warning("saving state to %s works again", path)
            last_saved, last_failure = time.monotonic(), None
