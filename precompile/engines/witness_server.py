"""
Pre-state reads for revm, served from a witness and recorded.

pyrevm 0.3.7 offers one way to hand revm a database that is consulted on
every read: a JSON-RPC endpoint it forks from. This module is that endpoint.
It answers ``eth_getBalance``, ``eth_getTransactionCount``, ``eth_getCode``,
``eth_getStorageAt`` and ``eth_getBlockByNumber`` from a witness alone, so
every account, slot, code and block hash revm reads passes through here,
including reads in frames that later revert (revm's journal forgets those).
A read the witness does not cover is answered as empty and recorded, as is
code revm cannot run faithfully; the engine asks for that record after the
block and declines if it is not empty.

revm blocks the calling thread (and holds the GIL) while it waits on an
answer, so the server runs in a process of its own. Each block opens a
session; the session id is the URL path revm is given.
"""

import asyncio
import itertools
import json
import os
import socket
import subprocess
import sys
from functools import lru_cache
from http.client import HTTPConnection
from typing import Any, Dict, List, Mapping, Optional, Sequence

from eth.constants import BLANK_ROOT_HASH, EMPTY_SHA3
from trie.exceptions import MissingTrieNode

from ..witness_state import WitnessTries
from .bytecode import BASEFEE, CREATE, CREATE2, GASLIMIT, instructions, is_delegation

# Addresses revm 0.3.7's Prague precompile set lacks (the EIP-2537 BLS12-381
# precompiles); a call to one reaches the database, and is refused there.
MISSING_PRECOMPILES = frozenset(i.to_bytes(20, "big") for i in range(0x0B, 0x12))
ZERO_WORD = "0x" + "00" * 32
# pyrevm 0.3.7 zeroes the base fee for every message, so BASEFEE reads 0; and
# initcode run by CREATE/CREATE2 comes from memory, where it cannot be read first.
UNSERVABLE_INSTRUCTIONS = {BASEFEE, CREATE, CREATE2}
# What makes the engine decline, and the one wording for each.
UNCOVERED = "read what the witness does not cover"
# EIP-7610: creating at an address with storage collides; revm sees accounts
# through this server without their storage root, so it cannot tell.
STORAGE_ONLY = "pyrevm 0.3.7 cannot see the storage of an account without code or nonce (EIP-7610)"


def is_storage_only(account) -> bool:
    """An account with storage but no code and no nonce: only EIP-7610 tells it from empty."""
    return (
        account.storage_root != BLANK_ROOT_HASH
        and account.nonce == 0
        and account.code_hash == EMPTY_SHA3
    )


@lru_cache(maxsize=4096)
def unservable_code(code: bytes) -> Optional[str]:
    """
    Why revm (through pyrevm 0.3.7) cannot run ``code`` faithfully, if it
    cannot. Cached: the same code is met by every message that loads it.
    """
    if is_delegation(code):
        return "pyrevm 0.3.7 has no EIP-7702 delegations"
    if GASLIMIT in instructions(code):  # its message calls set no block gas limit
        return "code may read GASLIMIT, which pyrevm 0.3.7 answers 2**64-1"
    if instructions(code) & UNSERVABLE_INSTRUCTIONS:
        return "code may read BASEFEE, which pyrevm 0.3.7 zeroes, or create code that may"
    return None


def quantity(value: int) -> str:
    return hex(value)


class Session:
    """One block's witness, what the block has deleted so far, and what was read outside it."""

    def __init__(self, tries: WitnessTries, block_hashes: Mapping[int, bytes]) -> None:
        self.tries = tries
        self.block_hashes = dict(block_hashes)
        # Accounts deleted or recreated in this block: their pre-state is gone.
        self.wiped: set = set()
        # (reason, detail) for each read revm could not be given faithfully
        self.declines: List[List[str]] = []

    def _decline(self, reason: str, detail: str) -> None:
        self.declines.append([reason, detail])

    def _account(self, address: bytes):
        if address in MISSING_PRECOMPILES:
            self._decline("pyrevm 0.3.7 has no BLS12-381 precompiles", f"0x{address.hex()}")
            return None
        if address in self.wiped:
            return None
        try:
            account = self.tries.account(address)
        except MissingTrieNode:
            self._decline(UNCOVERED, f"account 0x{address.hex()}")
            return None
        if account is not None and is_storage_only(account):
            self._decline(STORAGE_ONLY, f"0x{address.hex()}")
        return account

    def balance(self, address: bytes) -> str:
        account = self._account(address)
        return quantity(account.balance if account else 0)

    def nonce(self, address: bytes) -> str:
        account = self._account(address)
        return quantity(account.nonce if account else 0)

    def code(self, address: bytes) -> str:
        account = self._account(address)
        if account is None:
            return "0x"
        code = self.tries.code(account.code_hash)
        if code is None:
            self._decline(UNCOVERED, f"code of 0x{address.hex()}")
            return "0x"
        reason = unservable_code(code)
        if reason:
            self._decline(reason, f"0x{address.hex()}")
        return "0x" + code.hex()

    def storage(self, address: bytes, slot: int) -> str:
        account = self._account(address)
        if account is None or account.storage_root == BLANK_ROOT_HASH:
            return ZERO_WORD
        try:
            value = self.tries.storage(account.storage_root, slot)
        except MissingTrieNode:
            self._decline(UNCOVERED, f"slot {slot} of 0x{address.hex()}")
            return ZERO_WORD
        return "0x" + value.to_bytes(32, "big").hex()

    def block(self, number: int) -> Optional[Dict[str, Any]]:
        block_hash = self.block_hashes.get(number)
        if block_hash is None:
            self._decline(UNCOVERED, f"hash of block {number}")
            block_hash = b"\x00" * 32
        return block_object(number, block_hash)


def block_object(number: int, block_hash: bytes) -> Dict[str, Any]:
    """A block as an RPC client parses it; revm reads only the hash."""
    word = ZERO_WORD
    return {
        "number": quantity(number), "hash": "0x" + block_hash.hex(), "parentHash": word,
        "sha3Uncles": word, "miner": "0x" + "00" * 20, "stateRoot": word,
        "transactionsRoot": word, "receiptsRoot": word, "logsBloom": "0x" + "00" * 256,
        "difficulty": "0x0", "gasLimit": "0x0", "gasUsed": "0x0", "timestamp": "0x0",
        "extraData": "0x", "mixHash": word, "nonce": "0x0000000000000000",
        "transactions": [], "uncles": [], "size": "0x0",
    }


class WitnessService:
    """The sessions and the methods over them, apart from HTTP."""

    def __init__(self) -> None:
        self.sessions: Dict[str, Session] = {}
        self._ids = itertools.count(1)

    def call(self, path: str, method: str, params: List[Any]) -> Any:
        if method == "witness_open":
            state_root, entries, block_hashes = params
            tries = WitnessTries(
                {bytes.fromhex(k): bytes.fromhex(v) for k, v in entries.items()},
                bytes.fromhex(state_root),
            )
            hashes = {int(n): bytes.fromhex(h) for n, h in block_hashes.items()}
            session_id = str(next(self._ids))
            self.sessions[session_id] = Session(tries, hashes)
            return session_id
        if method == "witness_wipe":
            self.sessions[params[0]].wiped.add(bytes.fromhex(params[1]))
            return True
        if method == "witness_close":
            return self.sessions.pop(params[0]).declines
        session = self.sessions[path.strip("/")]
        if method == "eth_getBlockByNumber":
            return session.block(int(params[0], 16))
        address = bytes.fromhex(params[0][2:])
        if method == "eth_getBalance":
            return session.balance(address)
        if method == "eth_getTransactionCount":
            return session.nonce(address)
        if method == "eth_getCode":
            return session.code(address)
        if method == "eth_getStorageAt":
            return session.storage(address, int(params[1], 16))
        raise KeyError(method)


class Connection(asyncio.Protocol):
    """
    One client connection: keep-alive HTTP/1.1, POSTed JSON-RPC in, one
    answer per request out. Parsed by hand and served on one event loop:
    pyrevm opens a new connection for every read it makes, so the cost per
    connection and per request is the engine's cost per slot.
    """

    def __init__(self, service: WitnessService) -> None:
        self.service = service
        self.buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end].decode("latin-1").split("\r\n")
            length = 0
            for line in head[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            body_end = head_end + 4 + length
            if len(self.buffer) < body_end:
                return
            body, self.buffer = self.buffer[head_end + 4 : body_end], self.buffer[body_end:]
            self.reply(head[0].split(" ")[1], json.loads(body))

    def reply(self, path: str, body: Any) -> None:
        if isinstance(body, list):
            answer: Any = [self.answer(path, request) for request in body]
        else:
            answer = self.answer(path, body)
        data = json.dumps(answer).encode()
        self.transport.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(data), data)
        )

    def answer(self, path: str, request: Dict[str, Any]) -> Dict[str, Any]:
        reply: Dict[str, Any] = {"jsonrpc": "2.0", "id": request.get("id")}
        try:
            params = request.get("params") or []
            reply["result"] = self.service.call(path, request["method"], params)
        except Exception as failure:  # any failure is this request's, not the server's
            reply["error"] = {"code": -32603, "message": f"{type(failure).__name__}: {failure}"}
        return reply


async def serve_until_stdin_closes() -> None:
    loop = asyncio.get_running_loop()
    service = WitnessService()
    server = await loop.create_server(lambda: Connection(service), "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    # The parent holds our stdin; when it exits, so do we.
    await loop.run_in_executor(None, sys.stdin.read)


def serve() -> None:
    """Serve on a free local port; print the port, then serve until stdin closes."""
    asyncio.run(serve_until_stdin_closes())


class WitnessServer:
    """The engine's handle on a server process, started on first use."""

    def __init__(self) -> None:
        self._process: Optional[subprocess.Popen] = None
        self._connection: Optional[HTTPConnection] = None
        self._owner = 0
        self.port = 0

    def start(self) -> None:
        # A forked worker inherits the handle but must not share the connection.
        running = self._process is not None and self._process.poll() is None
        if running and self._owner == os.getpid():
            return
        self._owner = os.getpid()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "precompile.engines.witness_server"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        )
        self.port = int(self._process.stdout.readline())
        self._connection = HTTPConnection("127.0.0.1", self.port)
        self._connection.connect()
        self._connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _call(self, method: str, params: Sequence[Any]) -> Any:
        self.start()
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})
        self._connection.request("POST", "/", body, {"Content-Type": "application/json"})
        reply = json.loads(self._connection.getresponse().read())
        if "error" in reply:
            raise RuntimeError(f"witness server: {reply['error']['message']}")
        return reply["result"]

    def open(
        self, state_root: bytes, entries: Mapping[bytes, bytes], block_hashes: Mapping[int, bytes]
    ) -> str:
        """A new session over this witness; returns its id."""
        return self._call("witness_open", [
            state_root.hex(),
            {key.hex(): value.hex() for key, value in entries.items()},
            {str(number): block_hash.hex() for number, block_hash in block_hashes.items()},
        ])

    def url(self, session: str) -> str:
        return f"http://127.0.0.1:{self.port}/{session}"

    def wipe(self, session: str, address: bytes) -> None:
        self._call("witness_wipe", [session, address.hex()])

    def close(self, session: str) -> List[List[str]]:
        """End the session; returns (reason, detail) for each read revm could not be served."""
        return self._call("witness_close", [session])


if __name__ == "__main__":
    serve()
