"""The npm-installed peers (anvil, cast, ethers, ganache) that compatibility tests run against."""

import shutil

from l1.peers import PEERS_BIN, PeerMissing, peer_executable, start_node


def peer(tool: str) -> str:
    """The installed peer's executable; a missing peer fails the test, it never skips it."""
    try:
        return peer_executable(tool)
    except PeerMissing as missing:
        raise AssertionError(str(missing)) from None


def ethers_module() -> str:
    return str(PEERS_BIN.parent / "ethers")


def node_executable() -> str:
    node = shutil.which("node")
    if node is None:
        raise AssertionError("node is missing: the ethers peer needs Node.js")
    return node


def start_anvil(port: int):
    """
    Real anvil on ``port`` with the devnet's rules (Prague), recording steps for
    debug_traceTransaction as the devnet always does: (process, web3).
    """
    peer("anvil")
    return start_node("anvil", port, "--hardfork", "prague", "--steps-tracing")
