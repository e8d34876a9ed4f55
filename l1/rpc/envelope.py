"""
Reading a JSON-RPC request body safely: its size and its nesting depth are
checked before the JSON parser sees it. Python's parser recurses once per
level on the C stack, and the libraries the node runs (py-evm, py_ecc) raise
the recursion limit far past what a thread's stack holds, so a body nested
100,000 levels deep would crash the process instead of raising an error.
"""

import json
import math
import re
from typing import Any

import numpy

from .errors import INVALID_REQUEST, PARSE_ERROR, RpcError

# Larger request bodies are refused before parsing (anvil's own limit is similar).
MAX_REQUEST_BYTES = 32 * 1024 * 1024
# Deepest nesting of arrays and objects a request may have (serde_json's
# default, which anvil parses with); real requests use fewer than ten levels.
MAX_NESTING_DEPTH = 128

# A JSON string (escapes included): brackets inside one do not nest.
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*+"', re.DOTALL)
_NOT_A_BRACKET = bytes(set(range(256)) - set(b"[]{}"))
# +1 for an opening bracket, -1 for a closing one.
_STEP = numpy.zeros(256, dtype=numpy.int8)
_STEP[list(b"[{")] = 1
_STEP[list(b"]}")] = -1


def nesting_depth(body: bytes) -> int:
    """How deep the arrays and objects of ``body`` nest (an upper bound if it is not JSON)."""
    brackets = _STRING.sub(b'""', body).translate(None, _NOT_A_BRACKET)
    if not brackets:
        return 0
    steps = _STEP[numpy.frombuffer(brackets, dtype=numpy.uint8)]
    return int(numpy.cumsum(steps, dtype=numpy.int64).max())


def parse_request(body: bytes) -> Any:
    """The request ``body`` holds; RpcError if it is too large, too deep or not JSON."""
    if len(body) > MAX_REQUEST_BYTES:
        raise RpcError(INVALID_REQUEST, f"request too large: more than {MAX_REQUEST_BYTES} bytes")
    # A body with fewer opening brackets than the limit cannot nest past it.
    openings = body.count(b"[") + body.count(b"{")
    if openings > MAX_NESTING_DEPTH and nesting_depth(body) > MAX_NESTING_DEPTH:
        raise RpcError(
            INVALID_REQUEST,
            f"invalid request: arrays and objects nested deeper than {MAX_NESTING_DEPTH} levels",
        )
    try:
        return json.loads(
            body, parse_int=bounded_integer, parse_float=finite_number, parse_constant=no_constant
        )
    except NotAJsonNumber as refused:
        raise RpcError(PARSE_ERROR, f"parse error: {refused}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RpcError(PARSE_ERROR, f"parse error: {error}") from error


class NotAJsonNumber(ValueError):
    """A number this node does not read: too long for any quantity, infinite, or NaN."""


# 2**256 has 78 decimal digits: no quantity a request may hold is longer.
MAX_INTEGER_DIGITS = 78


def bounded_integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise NotAJsonNumber(
            f"a number of {len(text.lstrip('-'))} digits (no quantity has more than"
            f" {MAX_INTEGER_DIGITS})"
        )
    return int(text)


def finite_number(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise NotAJsonNumber(f"{text[:20]} is too large a number")
    return number


def no_constant(name: str) -> None:
    raise NotAJsonNumber(f"{name} is not JSON")
