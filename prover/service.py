"""
``nr prover``: a shared prover following an L1 node.

It subscribes to the node's new heads and proof requests over WebSocket,
asks which EXECUTE inputs the node has met, proves each with its proof types
in a worker pool (or on Ray), signs every proof with its registered BLS key
and publishes it on the node's ``execution_proof`` topic
(``nr_submitExecutionProof``), reporting the node's gossip verdict.
"""

import asyncio
import json
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

import aiohttp

from .constants import RESENDS
from .containers import ExecutionProof
from .pool import sign_proof
from .registry import ProverSet
from .signing import SecretKey, demo_prover_key

# A head or request notification may miss a request; a prover also looks this often.
POLL_SECONDS = 1.0
# Longest a prover waits for the L1 to answer one call.
CALL_TIMEOUT_SECONDS = 30.0
# What a block short of proofs waits for, where other provers may follow the same L1.
OTHER_PROVERS_HINT = "it waits for other provers to supply the rest"


class ProverError(Exception):
    """The prover cannot work against this node (unreachable, not registered)."""


def websocket_url(url: str) -> str:
    if url.startswith("http://"):
        return "ws://" + url[len("http://"):]
    if url.startswith("https://"):
        return "wss://" + url[len("https://"):]
    return url


class RpcSocket:
    """JSON-RPC calls and subscriptions over one WebSocket; every call has a time limit."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket
        self.counter = 0
        self.answers: Dict[int, asyncio.Future] = {}
        self.notifications: asyncio.Queue = asyncio.Queue()
        # Why the connection is no longer usable, once it is not.
        self.broken: Optional[ProverError] = None

    async def call(self, method: str, *params: Any) -> Any:
        if self.broken is not None:
            raise self.broken
        if self.socket.closed:
            raise ProverError("the L1 closed the connection")
        self.counter += 1
        request_id = self.counter
        answer = asyncio.get_running_loop().create_future()
        self.answers[request_id] = answer
        await self.socket.send_str(
            json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        )
        try:
            response = await asyncio.wait_for(answer, CALL_TIMEOUT_SECONDS)
        except asyncio.TimeoutError:
            self.answers.pop(request_id, None)
            raise ProverError(
                f"the L1 did not answer {method} within {CALL_TIMEOUT_SECONDS:g} s"
            ) from None
        if "error" in response:
            raise ProverError(f"{method}: {response['error'].get('message')}")
        return response["result"]

    async def read(self) -> None:
        """
        Route answers to their calls and notifications to the queue, until the
        socket closes or the L1 sends something that is not a JSON-RPC message;
        either way every pending call fails with the reason.
        """
        reason = ProverError("the L1 closed the connection")
        try:
            async for message in self.socket:
                if message.type != aiohttp.WSMsgType.TEXT:
                    continue
                body = parse_message(message.data)
                if body.get("method") == "eth_subscription":
                    await self.notifications.put(body["params"])
                elif body.get("id") in self.answers:
                    self.answers.pop(body["id"]).set_result(body)
        except ProverError as malformed:
            reason = malformed
        finally:
            self.broken = reason
            for answer in self.answers.values():
                if not answer.done():
                    answer.set_exception(reason)
            self.answers.clear()
            self.notifications.put_nowait(None)


def parse_message(text: str) -> Dict[str, Any]:
    """One JSON-RPC message from the L1; ProverError if it is not one."""
    try:
        body = json.loads(text)
    except ValueError:
        raise ProverError(f"the L1 sent a message that is not JSON: {text[:60]!r}") from None
    if not isinstance(body, dict):
        raise ProverError(f"the L1 sent a message that is not a JSON-RPC object: {text[:60]!r}")
    return body


async def until_stopped(work, stop: asyncio.Event) -> None:
    """Run ``work`` until it ends (its error raised) or ``stop`` is set (it is cancelled)."""
    working = asyncio.ensure_future(work)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({working, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (working, stopping):
            task.cancel()
    if working.done() and not working.cancelled() and working.exception() is not None:
        raise working.exception()


async def publish(rpc, encoded: bytes) -> Dict[str, Any]:
    """
    ``nr_submitExecutionProof``: the node's verdict, sent again (up to
    ``RESENDS`` times) while the node says a revert overtook its judging.
    """
    for _ in range(1 + RESENDS):
        verdict = await rpc.call("nr_submitExecutionProof", "0x" + encoded.hex())
        if not verdict.get("resend"):
            break
    return verdict


class ProverService:
    def __init__(
        self,
        l1_url: str,
        proof_types: Sequence[str],
        workers,
        prover_index: int = 0,
        key: Optional[SecretKey] = None,
        log: Callable[[str], None] = print,
        shortfall_hint: str = OTHER_PROVERS_HINT,
    ) -> None:
        self.l1_url, self.proof_types, self.workers = l1_url, tuple(proof_types), workers
        self.prover_index = prover_index
        self.key = key or demo_prover_key(prover_index)
        self.log = log
        # What a block short of proofs after this prover is done waits for.
        self.shortfall_hint = shortfall_hint
        # (payload root, proof type) already proven or refused by this prover.
        self.done: Set[Tuple[str, str]] = set()
        # Distinct proof types EXECUTE needs, once the registry says the L1 is in proofs mode.
        self.threshold: Optional[int] = None

    async def run(self, stop: Optional[asyncio.Event] = None) -> None:
        """Prove for the L1 until ``stop`` is set (at once, whatever it waits on) or it fails."""
        stop = stop or asyncio.Event()
        await until_stopped(self._follow(stop), stop)

    async def _follow(self, stop: asyncio.Event) -> None:
        async with aiohttp.ClientSession() as session:
            try:
                socket = await session.ws_connect(
                    websocket_url(self.l1_url), max_msg_size=64 * 2**20
                )
            except aiohttp.ClientError as error:
                raise ProverError(f"cannot reach the L1 at {self.l1_url}: {error}") from error
            rpc = RpcSocket(socket)
            reader = asyncio.create_task(rpc.read())
            try:
                provers = await self._registry(rpc)
                await rpc.call("eth_subscribe", "newHeads")
                await rpc.call("eth_subscribe", "proofRequests")
                self.log(
                    f"prover {self.prover_index} following {self.l1_url}: proof types"
                    f" {', '.join(self.proof_types)} on {self.workers.describe()}"
                )
                await self._serve(rpc, provers, stop)
            finally:
                reader.cancel()
                await socket.close()

    async def _registry(self, rpc: RpcSocket) -> ProverSet:
        registry = await rpc.call("nr_proverRegistry")
        provers = ProverSet.of_registry(registry)
        if registry.get("executeMode") == "proofs":
            self.threshold = int(registry["threshold"])
        entry = provers.prover(self.prover_index)
        if entry is None or bytes(entry.pubkey) != self.key.public_key:
            raise ProverError(
                f"this key is not registered as prover {self.prover_index} on the L1: pass the"
                " key the devnet printed (--prover-key), or start it with --deterministic-provers"
            )
        return provers

    async def _serve(self, rpc: RpcSocket, provers: ProverSet, stop: asyncio.Event) -> None:
        jobs: Set[asyncio.Task] = set()
        try:
            while not stop.is_set():
                for request in await self._requests(rpc):
                    wanted = list(self._wanted(request))
                    if wanted:
                        job = asyncio.create_task(
                            self._prove_payload(rpc, provers, request, wanted)
                        )
                        jobs.add(job)
                        job.add_done_callback(jobs.discard)
                try:
                    notification = await asyncio.wait_for(rpc.notifications.get(), POLL_SECONDS)
                except asyncio.TimeoutError:
                    continue
                if notification is None:
                    raise rpc.broken or ProverError("the L1 closed the connection")
        finally:
            # Stopped or failed: proofs still being made would publish on a closed connection.
            for job in jobs:
                job.cancel()

    async def _requests(self, rpc: RpcSocket) -> List[Dict[str, Any]]:
        """What the node asks provers to prove; payloads it no longer asks about are forgotten."""
        requests = await rpc.call("nr_getProofRequests")
        asked = {request["newPayloadRequestRoot"] for request in requests}
        self.done = {entry for entry in self.done if entry[0] in asked}
        return requests

    def _wanted(self, request: Dict[str, Any]):
        root = request["newPayloadRequestRoot"]
        for proof_type in self.proof_types:
            if proof_type in request["proofTypes"] or (root, proof_type) in self.done:
                continue
            self.done.add((root, proof_type))
            yield proof_type

    async def _prove_payload(
        self, rpc: RpcSocket, provers: ProverSet, request: Dict[str, Any], proof_types: List[str]
    ) -> None:
        """
        Prove one request with each of ``proof_types`` at once; then, if the
        node still holds too few proof types for EXECUTE, say so and why: this
        prover does not try again, so without other provers the block never
        settles.
        """
        root = request["newPayloadRequestRoot"]
        try:
            refusals = await asyncio.gather(
                *(self._prove(rpc, provers, request, proof_type) for proof_type in proof_types)
            )
            if self.threshold is not None:
                held = await self._held_types(rpc, root)
                refused = dict(zip(proof_types, refusals))
                if len(held) < self.threshold:
                    self.log(self._shortfall(root, held, refused))
        except ProverError as error:
            self.log(f"{root[:18]}: {error}")

    async def _held_types(self, rpc: RpcSocket, root: str) -> List[str]:
        """The proof types the node holds for the payload ``root`` now."""
        for request in await rpc.call("nr_getProofRequests"):
            if request["newPayloadRequestRoot"] == root:
                return list(request["proofTypes"])
        return []

    def _shortfall(self, root: str, held: List[str], refused: Dict[str, Optional[str]]) -> str:
        """Why a block's proofs stay short of EXECUTE's threshold once this prover is done."""
        unmade = [f"{proof_type} ({why})" for proof_type, why in refused.items() if why]
        return (
            f"{root[:18]}: the L1 holds proofs of {len(held)} of the {self.threshold}"
            f" distinct types EXECUTE needs ({', '.join(held) or 'none'})"
            + (f"; this prover could not make {', '.join(unmade)}" if unmade else "")
            + f"; {self.shortfall_hint}"
        )

    async def _prove(
        self, rpc: RpcSocket, provers: ProverSet, request: Dict[str, Any], proof_type: str
    ) -> Optional[str]:
        """Prove and publish one proof type for one request; why no proof was made, if none was."""
        root = request["newPayloadRequestRoot"]
        started = time.monotonic()
        job = self.workers.submit(
            proof_type,
            bytes.fromhex(request["input"][2:]),
            provers.l1_chain_id,
            provers.registry.encode_bytes(),
            self.prover_index,
            self.key.to_bytes(),
        )
        try:
            proof = ExecutionProof.decode_bytes(await asyncio.wrap_future(job))
        except Exception as refused:  # ProofRefused, or the worker failed
            self.log(f"{proof_type} {root[:18]}: no proof ({refused})")
            return str(refused)
        seconds = time.monotonic() - started
        signed = sign_proof(proof, self.prover_index, self.key, provers)
        verdict = await publish(rpc, signed.encode_bytes())
        reason = f" ({verdict['reason']})" if verdict["reason"] else ""
        self.log(
            f"{proof_type} {root[:18]}: proved in {seconds:.2f}s,"
            f" {len(proof.proof_data)} bytes -> {verdict['verdict']}{reason}"
        )
        return None
