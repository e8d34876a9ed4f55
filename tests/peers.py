"""The npm-installed peers (anvil, cast, ethers, ganache) that compatibility tests run against."""

import shutil
import subprocess
from pathlib import Path

from chains import wait_until_serving

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
    return process, wait_until_serving(process, port, "anvil")
