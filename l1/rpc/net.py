"""The ``net_`` and ``web3_`` namespaces: which network and which client answers."""

from eth_hash.auto import keccak

from .params import DATA, Param, method

CLIENT_VERSION = "native-rollups/v0.1.0"


class NetNamespace:
    def __init__(self, devnet) -> None:
        self.devnet = devnet

    @method()
    def web3_clientVersion(self) -> str:
        return CLIENT_VERSION

    @method(Param("data", DATA))
    def web3_sha3(self, data: bytes) -> str:
        """Keccak-256 of the bytes given (not SHA3-256, despite the name)."""
        return "0x" + keccak(data).hex()

    @method()
    def net_version(self) -> str:
        return str(self.devnet.chain_id)

    @method()
    def net_listening(self) -> bool:
        return True
