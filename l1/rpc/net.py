"""The ``net_`` and ``web3_`` namespaces: which network and which client answers."""

from .params import method

CLIENT_VERSION = "native-rollups/v0.1.0"


class NetNamespace:
    def __init__(self, devnet) -> None:
        self.devnet = devnet

    @method()
    def web3_clientVersion(self) -> str:
        return CLIENT_VERSION

    @method()
    def net_version(self) -> str:
        return str(self.devnet.chain_id)

    @method()
    def net_listening(self) -> bool:
        return True
