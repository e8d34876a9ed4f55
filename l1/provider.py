"""A web3.py provider that talks to an in-process devnet without sockets."""

from typing import Any

from web3 import Web3
from web3.providers.base import JSONBaseProvider

from .rpc import Dispatcher


class DevnetProvider(JSONBaseProvider):
    """Encodes each request to JSON and back, so it sees exactly what a socket would carry."""

    def __init__(self, devnet) -> None:
        super().__init__()
        self.dispatcher = Dispatcher(devnet)

    def make_request(self, method: str, params: Any) -> Any:
        response = self.dispatcher.handle_bytes(self.encode_rpc_request(method, params))
        return self.decode_rpc_response(response)

    def is_connected(self, show_traceback: bool = False) -> bool:
        return True


def web3_for(devnet) -> Web3:
    """A web3.py client for ``devnet`` (an ``l1.node.Devnet``), in-process."""
    return Web3(DevnetProvider(devnet))
