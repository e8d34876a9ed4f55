"""The npm-installed peers (anvil, cast, ethers, ganache) that compatibility tests run against."""

import shutil
import subprocess
import time
from pathlib import Path

from web3 import Web3

PEERS_BIN = Path(__file__).resolve().parent.parent / "peers" / "node_modules" / ".bin"


def peer(tool: str) -> str:
    """The installed peer's executable; a missing peer fails the test, it never skips it."""
    path = PEERS_BIN / tool
    if not path.exists():
        raise AssertionError(f"{tool} is missing: run ./bootstrap.sh (npm install --prefix peers)")
    return str(path)


def node_executable() -> str:
    node = shutil.which("node")
    if node is None:
        raise AssertionError("node is missing: the ethers peer needs Node.js")
    return node


def start_anvil(port: int):
    """Real anvil on ``port`` with the devnet's rules (Prague): (process, web3)."""
    process = subprocess.Popen(
        [peer("anvil"), "--port", str(port), "--hardfork", "prague", "--silent"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    w3 = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{port}"))
    for _ in range(150):
        try:
            if w3.is_connected():
                return process, w3
        except Exception:  # not listening yet
            pass
        time.sleep(0.1)
    process.kill()
    raise AssertionError("anvil did not start")
