"""
Local nodes as processes: ``nr devnet`` and the npm peers (anvil, ganache)
that ``bootstrap.sh`` installs into ``peers/``; where they are, how to start
them on a port, and waiting until they answer.
"""

import random
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional, Tuple

from web3 import Web3

from .accounts import DEFAULT_MNEMONIC

PEERS_BIN = Path(__file__).resolve().parent.parent / "peers" / "node_modules" / ".bin"
NODES = ("nr devnet", "anvil", "ganache")


class PeerMissing(RuntimeError):
    """An npm peer that is not installed."""


def peer_executable(tool: str) -> str:
    path = PEERS_BIN / tool
    if not path.exists():
        raise PeerMissing(f"{tool} is missing ({path}): run ./bootstrap.sh")
    return str(path)


def free_port() -> int:
    """A TCP port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cannot_listen(host: str, port: int) -> Optional[str]:
    """Why a server could not listen on ``host:port`` now (taken, no such address); else None."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
        try:
            probe.bind((host, port))
        except OSError as error:
            return error.strerror or str(error)
    return None


# Below Linux's ephemeral range: no client connection takes one between the check and the bind.
CONSECUTIVE_PORTS_RANGE = (20000, 32000)


def free_consecutive_ports(count: int) -> int:
    """The first of ``count`` consecutive TCP ports nothing listens on (``nr up`` takes a run)."""
    for _ in range(100):
        base = random.randrange(*CONSECUTIVE_PORTS_RANGE)
        probes = []
        try:
            for port in range(base, base + count):
                probe = socket.socket()
                probes.append(probe)
                probe.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for probe in probes:
                probe.close()
    raise RuntimeError(f"no {count} consecutive free ports in {CONSECUTIVE_PORTS_RANGE}")


def node_command(name: str, port: int) -> list:
    """How to start ``name`` on ``port`` with chain id 31337 and the standard test accounts."""
    if name == "nr devnet":
        return [sys.executable, "-m", "nr.cli", "devnet", "--port", str(port)]
    if name == "anvil":
        return [peer_executable("anvil"), "--silent", "--port", str(port)]
    if name == "ganache":
        return [
            peer_executable("ganache"),
            "--logging.quiet",
            "--server.port",
            str(port),
            "--chain.chainId",
            "31337",
            "--wallet.mnemonic",
            DEFAULT_MNEMONIC,
            "--wallet.defaultBalance",
            "10000",
        ]
    raise ValueError(f"unknown node {name!r}; known: {', '.join(NODES)}")


def start_node(name: str, port: int, *flags: str, **popen) -> Tuple[subprocess.Popen, Web3]:
    """Start ``name`` on ``port``; return it and a web3 client once it answers."""
    popen.setdefault("stdout", subprocess.DEVNULL)
    popen.setdefault("stderr", subprocess.DEVNULL)
    process = subprocess.Popen([*node_command(name, port), *flags], **popen)
    w3 = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{port}"))
    for _ in range(600):
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with status {process.returncode}")
        try:
            if w3.is_connected():
                return process, w3
        except Exception:  # not listening yet
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{name} did not start on port {port}")
