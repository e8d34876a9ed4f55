"""
web3.py clients of the session's embedded nodes, with the requests web3.py
makes around each transaction cut to what these nodes need.

web3.py's default middlewares ask the node, for every ``transact()``: its chain
id (``validation``), the latest block twice, each formatted field by field
(``gas_price_strategy`` for the fee caps, ``gas_estimate`` for the gas limit
to cap its estimate at), and the priority fee. On an in-process node the two
block reads cost more than mining the transaction's block. The embedded nodes
refuse a request for another chain themselves, as geth does, and fill in
missing fee caps exactly as web3.py would (the priority fee plus twice the
base fee), so those middlewares go; the gas estimate stays, with web3.py's
buffer and its revert errors, but reads the block gas limit without
formatting a whole block. Only the clients this plugin makes are changed;
an external node's client keeps web3.py's defaults.
"""

from typing import Any

from web3 import Web3
from web3.middleware import Web3Middleware

# What web3.py adds to an estimate for the transaction's gas limit (its own default).
GAS_BUFFER = 100_000
# web3.py's middlewares whose requests the embedded nodes make unnecessary.
UNNEEDED_MIDDLEWARES = ("validation", "gas_price_strategy", "ens_name_to_address", "gas_estimate")


class BufferedEstimate(Web3Middleware):
    """
    A transaction sent without gas gets web3.py's: the estimate (whose revert
    raises ``ContractLogicError``, as web3.py's does) plus a buffer, at most
    the block gas limit.
    """

    def request_processor(self, method: str, params: Any) -> Any:
        if method != "eth_sendTransaction" or "gas" in params[0]:
            return method, params
        transaction = params[0]
        estimate = self._w3.eth.estimate_gas(transaction)
        latest = self._w3.provider.make_request("eth_getBlockByNumber", ["latest", False])
        gas_limit = int(latest["result"]["gasLimit"], 16)
        return method, ({**transaction, "gas": hex(min(gas_limit, estimate + GAS_BUFFER))},)


def lean_client(web3: Web3) -> Web3:
    """``web3`` (a client of an embedded node) without the requests that node does not need."""
    for name in UNNEEDED_MIDDLEWARES:
        if name in web3.middleware_onion:
            web3.middleware_onion.remove(name)
    web3.middleware_onion.add(BufferedEstimate, "buffered_estimate")
    return web3
