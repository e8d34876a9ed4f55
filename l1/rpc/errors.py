"""
The JSON-RPC errors clients parse: EIP-1474's codes, code 3 with revert data
(as geth and anvil answer a reverting ``eth_call``), and this node's own.
"""

from typing import Any, Dict, Optional

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
TRANSACTION_REJECTED = -32003
# EIP-1474's "limit exceeded": a request past one of the node's bounds.
LIMIT_EXCEEDED = -32005
# In the server-defined range: a method this node serves but was told not to.
STATE_EDITS_DISABLED = -32001
EXECUTION_REVERTED = 3
# geth's code for a call stopped at its time limit (--rpc.evmtimeout).
EXECUTION_TIMED_OUT = -32000


class RpcError(Exception):
    def __init__(self, code: int, message: str, data: Optional[str] = None) -> None:
        super().__init__(message)
        self.code, self.message, self.data = code, message, data

    def as_json(self) -> Dict[str, Any]:
        error: Dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


def invalid_params(message: str) -> RpcError:
    return RpcError(INVALID_PARAMS, f"invalid params: {message}")
