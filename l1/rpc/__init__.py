"""
JSON-RPC over a ``Devnet``, by namespace as anvil serves it: ``eth``,
``net``/``web3``, the test controls (``evm``/``anvil``/``hardhat``),
``debug`` and this node's ``nr``; each method declares its parameters, which
the dispatcher checks before the method runs.
"""

from .dispatch import (
    ALIASES,
    CALL_METHODS,
    STATE_EDITING_METHODS,
    UNLOCKED_METHODS,
    Dispatcher,
)
from .envelope import MAX_NESTING_DEPTH, MAX_REQUEST_BYTES, parse_request
from .errors import (
    EXECUTION_REVERTED,
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    STATE_EDITS_DISABLED,
    TRANSACTION_REJECTED,
    RpcError,
    invalid_params,
)
from .eth import revert_reason
from .net import CLIENT_VERSION

__all__ = [
    "ALIASES",
    "CALL_METHODS",
    "CLIENT_VERSION",
    "Dispatcher",
    "EXECUTION_REVERTED",
    "INTERNAL_ERROR",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "MAX_NESTING_DEPTH",
    "MAX_REQUEST_BYTES",
    "METHOD_NOT_FOUND",
    "PARSE_ERROR",
    "RpcError",
    "STATE_EDITING_METHODS",
    "STATE_EDITS_DISABLED",
    "TRANSACTION_REJECTED",
    "UNLOCKED_METHODS",
    "invalid_params",
    "parse_request",
    "revert_reason",
]
