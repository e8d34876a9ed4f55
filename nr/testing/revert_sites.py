"""
Where a revert happened in the source: the Vyper line a failing call stopped
at and the ``# dev:`` comment on it (the convention titanoboa and brownie
read), for ``reverts(dev=...)``.

A node's answer says only that a call reverted. The clients the plugin makes
note each request a node answered with a revert; the site is found by
tracing that request again (``debug_traceCall``), following its calls to the
frame whose REVERT came first, and mapping the last source position that
frame executed through the Vyper source map of a contract ``deploy`` made.
"""

import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from eth_utils import to_canonical_address
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError, Web3RPCError
from web3.middleware import Web3Middleware

# geth's code for a call that reverted (eth_call, eth_estimateGas, eth_sendTransaction).
EXECUTION_REVERTED = 3
# Requests whose revert can be traced again as a call: method -> where its block is.
TRACEABLE = {"eth_call": 1, "eth_estimateGas": 1, "eth_sendTransaction": None}
CALLS = {"CALL", "CALLCODE", "DELEGATECALL", "STATICCALL"}
CREATES = {"CREATE", "CREATE2"}
RECORDER = "native-rollups revert sites"
DEV_COMMENT = re.compile(r"#\s*dev:\s*(.*?)\s*$")


def revert_reason(message: str) -> str:
    """The reason alone, without the node's "execution reverted: " (and what came before)."""
    reason = message.split("execution reverted: ", 1)[-1]
    return "" if reason == "execution reverted" else reason


def revert_of(error: ContractLogicError) -> Tuple[str, Optional[bytes]]:
    """The reason of a revert web3.py raised, and its data where it is a custom error's
    (whose reason web3.py gives as that data in hex)."""
    if isinstance(error, ContractCustomError):
        return str(error.message), bytes.fromhex(str(error.data).removeprefix("0x"))
    return revert_reason(str(error.message or "")), None


def mined_revert(web3: Web3, transaction_hash) -> Tuple[str, Optional[bytes]]:
    """
    What a mined transaction that failed reverted with, traced again: its
    reason, else its revert data (a custom error's) if it gave any. The hash
    in hex, as a node answers it, or as bytes, as web3.py returns it.
    """
    if not isinstance(transaction_hash, str):
        transaction_hash = "0x" + bytes(transaction_hash).hex()
    trace = web3.provider.make_request(
        "debug_traceTransaction", [transaction_hash, {"tracer": "callTracer"}]
    ).get("result") or {}
    output = bytes.fromhex(str(trace.get("output") or "0x").removeprefix("0x"))
    reason = trace.get("revertReason") or ""
    return reason, output if output and not reason else None


def node_message(error: Web3RPCError) -> str:
    """The node's own words in a JSON-RPC error web3.py raised (not its dict)."""
    response = getattr(error, "rpc_response", None) or {}
    return str((response.get("error") or {}).get("message") or error.user_message or error)


@dataclass(frozen=True)
class VyperSource:
    """A deployed contract's Vyper source and its runtime code's source map."""

    name: str
    text: str
    # pc -> (line, column, end line, end column), 1-based lines, as vyper maps them.
    positions: Dict[int, Tuple[int, int, int, int]]

    def line_at(self, pc: int) -> Optional[int]:
        position = self.positions.get(pc)
        return None if position is None else position[0]

    def dev_comment(self, line: int) -> Optional[str]:
        """The ``# dev:`` comment on ``line``, if it has one."""
        lines = self.text.splitlines()
        if not 1 <= line <= len(lines):
            return None
        found = DEV_COMMENT.search(lines[line - 1])
        return found.group(1) if found else None

    def source_line(self, line: int) -> str:
        lines = self.text.splitlines()
        return lines[line - 1].strip() if 1 <= line <= len(lines) else ""


@dataclass(frozen=True)
class RevertSite:
    """The contract and line a revert came from, and the dev comment there."""

    contract: str
    line: int
    code: str
    dev: Optional[str]

    def __str__(self) -> str:
        return f"{self.contract} line {self.line} (`{self.code}`)"


@dataclass(frozen=True)
class FailedRequest:
    web3: Web3
    method: str
    params: List[Any]


# Requests that send a transaction, whose answer is its hash.
SENDS = ("eth_sendTransaction", "eth_sendRawTransaction")
# The sent transactions remembered (a ``reverts`` block looks at those it sent).
MAX_SENT_REMEMBERED = 64


class RevertSites:
    """The Vyper sources deployed on each chain; the last request a node answered with a revert."""

    def __init__(self) -> None:
        self.sources: Dict[Tuple[int, bytes], VyperSource] = {}
        self.failures = 0
        self.last_failure: Optional[FailedRequest] = None
        # Transactions the clients sent (a client, its hash), the last ones, and how many in
        # all: one sent with its own gas is mined even when it reverts, and only its receipt
        # says so. (A hash can come again: a restore takes the sender's nonce back.)
        self.sent: List[Tuple[Web3, str]] = []
        self.sends = 0

    def add_source(self, web3: Web3, address: str, source: Optional[VyperSource]) -> None:
        """The Vyper source of the code now at ``address`` (None: code of no known source)."""
        key = (web3.eth.chain_id, to_canonical_address(address))
        if source is None:
            self.sources.pop(key, None)
        else:
            self.sources[key] = source

    # A snapshot holds the sources as deployed then: an address a restore emptied may get
    # other code next, which must not be read with this source.

    def saved(self) -> Dict[Tuple[int, bytes], VyperSource]:
        return dict(self.sources)

    def restore(self, saved: Dict[Tuple[int, bytes], VyperSource]) -> None:
        self.sources = dict(saved)

    def record_failure(self, web3: Web3, method: str, params: List[Any]) -> None:
        self.failures += 1
        self.last_failure = FailedRequest(web3, method, list(params))

    def record_sent(self, web3: Web3, transaction_hash: str) -> None:
        self.sends += 1
        self.sent.append((web3, transaction_hash))
        del self.sent[:-MAX_SENT_REMEMBERED]

    def sent_since(self, sends_before: int) -> List[Tuple[Web3, str]]:
        """The transactions sent after the first ``sends_before`` (the last ones remembered)."""
        count = self.sends - sends_before
        return self.sent[len(self.sent) - count:] if count else []

    def site_of(self, failure: FailedRequest) -> Optional[RevertSite]:
        """Where ``failure`` reverted, if the frame that reverted first runs a known source."""
        call = failure.params[0]
        block_index = TRACEABLE[failure.method]
        block = "latest"
        if block_index is not None and len(failure.params) > block_index:
            block = failure.params[block_index]
        answer = failure.web3.provider.make_request("debug_traceCall", [call, block, {}])
        return self.site_in(answer, call.get("to"), failure.web3)

    def site_of_transaction(self, web3: Web3, transaction_hash: str, to: Optional[str]):
        """Where a mined transaction reverted, as ``site_of`` finds it for a request."""
        answer = web3.provider.make_request("debug_traceTransaction", [transaction_hash, {}])
        return self.site_in(answer, to, web3)

    def site_in(self, answer: Dict[str, Any], to: Optional[str], web3: Web3):
        """The revert site in a struct-log trace ``answer`` of a run that started at ``to``."""
        steps = (answer.get("result") or {}).get("structLogs") or []
        found = first_revert(steps, to)
        if found is None:
            return None
        address, pcs = found
        chain_id = web3.eth.chain_id
        source = self.sources.get((chain_id, to_canonical_address(address))) if address else None
        if source is None:
            return None
        for pc in reversed(pcs):  # a shared revert block has no position: the jump to it has
            line = source.line_at(pc)
            if line is not None:
                code, dev = source.source_line(line), source.dev_comment(line)
                return RevertSite(source.name, line, code, dev)
        return None


def first_revert(steps: List[Dict[str, Any]], to: Optional[str]) -> Optional[Tuple[str, List[int]]]:
    """
    The code address of the frame whose REVERT ran first in a struct-log
    trace, and the pcs that frame ran up to it; None if nothing reverted.
    """
    frames: List[Tuple[Optional[str], List[int]]] = [(to, [])]
    for index, step in enumerate(steps):
        depth = step["depth"]
        while len(frames) > depth:  # returned from a call
            frames.pop()
        code_address, pcs = frames[-1]
        pcs.append(step["pc"])
        if step["op"] == "REVERT":
            return code_address, pcs
        entered = index + 1 < len(steps) and steps[index + 1]["depth"] > depth
        if entered and step["op"] in CALLS:
            frames.append((callee(step["stack"][-2]), []))
        elif entered and step["op"] in CREATES:
            frames.append((None, []))  # initcode: no runtime source map covers it
    return None


def callee(word: str) -> str:
    """The address a CALL-family step's stack word names."""
    return "0x" + int(word, 16).to_bytes(32, "big")[-20:].hex()


class RevertRecorder(Web3Middleware):
    """Notes, in the session's ``SITES``, each request its client's node answered with a revert."""

    def wrap_make_request(self, make_request):
        def record(method, params):
            response = make_request(method, params)
            error = response.get("error") if isinstance(response, dict) else None
            if (
                method in TRACEABLE
                and isinstance(error, dict)
                and error.get("code") == EXECUTION_REVERTED
            ):
                SITES.record_failure(self._w3, method, params)
            elif method in SENDS and isinstance(response, dict) and "result" in response:
                SITES.record_sent(self._w3, response["result"])
            return response

        return record


def watch(web3: Web3) -> Web3:
    """Note every revert ``web3``'s node answers (the recorder is added once per client)."""
    if RECORDER not in web3.middleware_onion:
        web3.middleware_onion.add(RevertRecorder, name=RECORDER)
    return web3


# The test session's sites: the plugin starts a new one with each session.
SITES = RevertSites()
