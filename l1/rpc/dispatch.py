"""
The JSON-RPC envelope over a devnet: requests in (single, batch, raw bytes),
each method's declared parameters checked before it runs, and the error codes
clients parse (EIP-1474; -32602 names the parameter, -32603 is a bug here).
"""

import json
import sys
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from eth_utils import ValidationError

from ..accounts import InvalidMnemonic
from ..filters import InstalledFilters
from ..interface import (
    ExecutionFailed,
    InvalidArgument,
    LimitReached,
    TimedOut,
    TransactionRejected,
)
from ..raw_transactions import transaction_gas
from .anvil import AnvilNamespace
from .debug import DebugNamespace
from .envelope import parse_request
from .errors import (
    EXECUTION_TIMED_OUT,
    INTERNAL_ERROR,
    INVALID_REQUEST,
    LIMIT_EXCEEDED,
    METHOD_NOT_FOUND,
    STATE_EDITS_DISABLED,
    TRANSACTION_REJECTED,
    RpcError,
    invalid_params,
)
from .eth import EthNamespace, execution_error
from .net import NetNamespace
from .nr import NrNamespace
from .params import InvalidParams, Param, bind
from .txpool import TxpoolNamespace

# Methods that change state or history other than by a signed transaction.
STATE_EDITING_METHODS = (
    "anvil_setBalance",
    "anvil_setNonce",
    "anvil_setCode",
    "anvil_setStorageAt",
    "anvil_impersonateAccount",
    "anvil_autoImpersonateAccount",
    # Headers that do not follow from their parent's by the rules.
    "anvil_setNextBlockBaseFeePerGas",
    "evm_setBlockGasLimit",
    # Which signatures the chain takes, and what CHAINID says.
    "anvil_setChainId",
    "anvil_loadState",
    "anvil_reset",
    "evm_revert",
)

# Methods that control the chain: its clock, when blocks are mined, snapshots
# and dumps. On an L2 node the sequencer alone does that (a timestamp pushed
# past what L1 accepts, or a block mined out of turn, stalls settlement), so
# its endpoint, which serves users, refuses them with the state edits.
CHAIN_CONTROL_METHODS = (
    "evm_setNextBlockTimestamp",
    "evm_increaseTime",
    "evm_setAutomine",
    "evm_setIntervalMining",
    "evm_mine",
    "anvil_mine",
    "evm_snapshot",
    "anvil_dumpState",
    "anvil_setCoinbase",
    "anvil_dropTransaction",
    "anvil_dropAllTransactions",
)

# Methods that run EVM code on a state of their own, up to the call timeout.
CALL_METHODS = ("eth_call", "eth_estimateGas", "eth_createAccessList", "debug_traceCall")
# Methods answered without the node's lock (each request otherwise holds it
# throughout, so it sees one state): those that read no chain state (web3.py
# asks the chain id right after sending a transaction; it need not wait for
# the block); proof submission, whose verification runs outside it and for a
# re-execution proof takes as long as the block; and calls, gas estimates,
# access lists and call traces, which take the lock only to prepare and then
# run on a state of their own, so that a long one never holds up other clients.
UNLOCKED_METHODS = (
    "eth_chainId",
    "eth_syncing",
    "net_version",
    "net_listening",
    "web3_clientVersion",
    "web3_sha3",
    "eth_accounts",
    "nr_submitExecutionProof",
    *CALL_METHODS,
    # Reads the rollup's L1 contract: never with the L2 node's lock held.
    "nr_settlementStatus",
    # Up to 10,000 blocks: the lock is taken for each, so others are answered meanwhile.
    "anvil_mine",
    "hardhat_mine",
)

# Reads quick enough to answer on the server's event loop when the node's lock
# is free at once (a thread hop costs more than they do); while a block is being
# mined they wait on a thread like any other request.
QUICK_READS = (
    "eth_chainId",
    "net_version",
    "web3_clientVersion",
    "eth_accounts",
    "eth_syncing",
    "eth_blockNumber",
    "eth_gasPrice",
    "eth_maxPriorityFeePerGas",
    "eth_blobBaseFee",
    "eth_getBalance",
    "eth_getTransactionCount",
    "eth_getCode",
    "eth_getStorageAt",
    "eth_getTransactionReceipt",
    "eth_getTransactionByHash",
    "eth_getBlockByNumber",
    "eth_getBlockByHash",
    "eth_getBlockTransactionCountByNumber",
    "eth_getBlockTransactionCountByHash",
    "eth_getTransactionByBlockNumberAndIndex",
    "eth_getTransactionByBlockHashAndIndex",
)

# A signed transaction asking for at most this much gas is accepted, and its
# block mined, on the server's event loop when nothing else is pending and the
# node is free: such a block costs less than handing the request to a thread and
# back (each hop wakes a thread that must take the GIL from the other), and the
# receipt clients ask for next waits for the block anyway. It stays below
# EXECUTE's base gas, so no such block verifies an L2 block. eth_sendTransaction
# keeps its thread: web3.py asks the chain id after each one (its validation
# middleware), which the loop answers while a thread mines.
SMALL_SEND_GAS = 60_000


def raw_transaction_gas(request: Any) -> Optional[int]:
    """
    The gas an ``eth_sendRawTransaction`` request's transaction names, or None
    (another method, bytes that are not a transaction): a guess for scheduling
    only; the method itself decodes and checks the transaction.
    """
    try:
        if request["method"] != "eth_sendRawTransaction":
            return None
        return transaction_gas(bytes.fromhex(request["params"][0].removeprefix("0x")))
    except Exception:  # not one this peek can read: the usual way, which says why
        return None


# Names other tools use for the same methods (anvil accepts these).
ALIASES = {
    "hardhat_mine": "anvil_mine",
    "hardhat_setBalance": "anvil_setBalance",
    "hardhat_setNonce": "anvil_setNonce",
    "hardhat_setCode": "anvil_setCode",
    "hardhat_setStorageAt": "anvil_setStorageAt",
    "hardhat_impersonateAccount": "anvil_impersonateAccount",
    "hardhat_stopImpersonatingAccount": "anvil_stopImpersonatingAccount",
    "anvil_snapshot": "evm_snapshot",
    "anvil_revert": "evm_revert",
    "anvil_increaseTime": "evm_increaseTime",
    "anvil_setNextBlockTimestamp": "evm_setNextBlockTimestamp",
    "anvil_setAutomine": "evm_setAutomine",
    "hardhat_getAutomine": "anvil_getAutomine",
    "anvil_setIntervalMining": "evm_setIntervalMining",
    "hardhat_reset": "anvil_reset",
    "hardhat_autoImpersonateAccount": "anvil_autoImpersonateAccount",
    "hardhat_dropTransaction": "anvil_dropTransaction",
    "hardhat_dropAllTransactions": "anvil_dropAllTransactions",
    "hardhat_setCoinbase": "anvil_setCoinbase",
    "hardhat_setNextBlockBaseFeePerGas": "anvil_setNextBlockBaseFeePerGas",
    "anvil_setBlockGasLimit": "evm_setBlockGasLimit",
    "hardhat_setChainId": "anvil_setChainId",
}


@dataclass(frozen=True)
class Method:
    """A method served: what runs, and its declared parameters (None: it takes any)."""

    run: Callable[..., Any]
    params: Optional[Sequence[Param]]


def declared_methods(namespace: Any) -> Dict[str, Method]:
    """The methods a namespace declares (``params.method``), by name."""
    methods = {}
    for name in dir(type(namespace)):
        params = getattr(getattr(type(namespace), name), "rpc_params", None)
        if params is not None:
            methods[name] = Method(getattr(namespace, name), params)
    return methods


def disabled(name: str, why: str) -> Method:
    """A method this node was told not to serve: refused whatever its parameters."""

    def refuse() -> None:
        raise RpcError(STATE_EDITS_DISABLED, f"{name} is disabled on this node: {why}")

    return Method(refuse, None)


EDITS_STATE = (
    "it edits state outside of transactions, and this chain's blocks must stay provable"
    " (a rollup's L2)"
)
CONTROLS_THE_CHAIN = (
    "it controls the chain (time, mining, snapshots, dumps), which on a rollup's L2 only"
    " its sequencer does"
)


class Dispatcher:
    """Answers JSON-RPC requests (single or batch) for one devnet."""

    def __init__(self, devnet, extra_namespaces: Sequence[Any] = ()) -> None:
        """``extra_namespaces``: more methods this node serves (a rollup's settlement status)."""
        self.devnet = devnet
        # Whether the event loop's thread holds the node's lock for a small send's block.
        self._held_for_a_block = False
        filters = InstalledFilters()
        namespaces = (
            EthNamespace(devnet, filters),
            NetNamespace(devnet),
            AnvilNamespace(devnet, filters),
            DebugNamespace(devnet),
            NrNamespace(devnet),
            TxpoolNamespace(devnet),
        )
        namespaces += tuple(extra_namespaces)
        self.methods: Dict[str, Method] = {}
        for namespace in namespaces:
            self.methods.update(declared_methods(namespace))
        if not devnet.config.state_edits:
            for name in STATE_EDITING_METHODS:
                self.methods[name] = disabled(name, EDITS_STATE)
            for name in CHAIN_CONTROL_METHODS:
                self.methods[name] = disabled(name, CONTROLS_THE_CHAIN)
        for alias, target in ALIASES.items():
            self.methods[alias] = self.methods[target]

    # -- the envelope --

    def handle_bytes(
        self, body: bytes, answer: Optional[Callable[[Optional[bytes]], None]] = None
    ) -> Optional[bytes]:
        """
        Raw request bytes in, raw response bytes out (None for notifications
        only). With ``answer``, a single request's response goes to it as soon
        as it is ready, before the block its transaction made due is mined;
        the node's lock keeps later requests waiting for that block.
        """
        try:
            request = parse_request(body)
        except RpcError as error:
            return self.refusal(error)
        return self.handle_parsed(request, answer)

    def refusal(self, error: RpcError) -> bytes:
        """The response to a body refused before it names a request (no id to answer)."""
        return self._encode(self._error(None, error))

    def handle_parsed(
        self, request: Any, answer: Optional[Callable[[Optional[bytes]], None]] = None
    ) -> Optional[bytes]:
        """``handle_bytes`` for a request already read from its bytes."""
        if (
            answer is None
            or not isinstance(request, dict)
            or request.get("method") in UNLOCKED_METHODS
        ):
            return self._encode_response(self.handle(request))
        with self.devnet.lock:
            with self.devnet.mining_deferred():
                response = self._encode_response(self.handle_one(request))
            answer(response)
            self._mine_due()
        return response

    def _mine_due(self) -> None:
        try:
            self.devnet.mine_due()
        except Exception as error:  # the sender has its hash; the transaction stays pending
            print(f"nr devnet: mining failed: {type(error).__name__}: {error}", file=sys.stderr)

    def accept_small_send_at_once(
        self, request: Any
    ) -> Optional[Tuple[Optional[bytes], Callable[[], None]]]:
        """
        For a signed transaction of at most ``SMALL_SEND_GAS`` while nothing else is pending
        and the node's lock is free right now: the response, and the step that
        mines the block it made due and then lets go of the lock (the caller
        runs it once the response is on its way; until then the node answers
        as before that block). None for anything else, to go the usual way.
        """
        gas = raw_transaction_gas(request) if isinstance(request, dict) else None
        if gas is None or gas > SMALL_SEND_GAS or self.devnet.pending:
            return None
        if self._held_for_a_block or not self.devnet.lock.acquire(blocking=False):
            return None
        self._held_for_a_block = True
        try:
            with self.devnet.mining_deferred():
                response = self._encode_response(self.handle_one(request))
        except BaseException:
            self._let_go_after_the_block()
            raise

        def mine_and_let_go() -> None:
            try:
                self._mine_due()
            finally:
                self._let_go_after_the_block()

        return response, mine_and_let_go

    def _let_go_after_the_block(self) -> None:
        self._held_for_a_block = False
        self.devnet.lock.release()

    @staticmethod
    def is_quick_read(request: Any) -> bool:
        return isinstance(request, dict) and request.get("method") in QUICK_READS

    def answer_at_once(self, request: Any) -> Optional[bytes]:
        """
        The response to a quick read, if the node's lock is free right now
        (never waiting for it) or the read never takes it; None for
        anything else, to go the usual way.
        """
        if not self.is_quick_read(request):
            return None
        if request.get("method") in UNLOCKED_METHODS:
            # It needs no block (web3.py asks the chain id twice before each send): no
            # waiting for the one being mined.
            return self._encode_response(self.handle_one(request))
        # The event loop's thread holds the (reentrant) lock while a small send's
        # block waits to be mined there: a read then must wait for that block.
        if self._held_for_a_block or not self.devnet.lock.acquire(blocking=False):
            return None
        try:
            return self._encode_response(self.handle_one(request))
        finally:
            self.devnet.lock.release()

    def handle(self, request: Union[Dict, List]) -> Optional[Union[Dict, List]]:
        if isinstance(request, list):
            if not request:
                return self._error(None, RpcError(INVALID_REQUEST, "empty batch"))
            responses = [self.handle_one(item) for item in request]
            return [response for response in responses if response is not None] or None
        return self.handle_one(request)

    def handle_one(self, request: Any) -> Optional[Dict[str, Any]]:
        if not isinstance(request, dict) or not isinstance(request.get("method"), str):
            return self._error(None, RpcError(INVALID_REQUEST, "invalid request"))
        request_id = request.get("id")
        params = request.get("params", [])
        if not isinstance(params, list):
            return self._error(request_id, invalid_params("params must be an array"))
        method = self.methods.get(request["method"])
        if method is None:
            error = RpcError(METHOD_NOT_FOUND, f"the method {request['method']} does not exist")
            return self._error(request_id, error)
        try:
            result = self._run(request["method"], method, params)
        except RpcError as error:
            return self._error(request_id, error)
        except (InvalidParams, InvalidArgument) as error:
            return self._error(request_id, invalid_params(str(error)))
        except (TransactionRejected, ValidationError, InvalidMnemonic) as error:
            return self._error(request_id, RpcError(TRANSACTION_REJECTED, str(error)))
        except ExecutionFailed as failed:
            return self._error(request_id, execution_error(failed.computation))
        except TimedOut as error:
            return self._error(request_id, RpcError(EXECUTION_TIMED_OUT, str(error)))
        except LimitReached as error:
            return self._error(request_id, RpcError(LIMIT_EXCEEDED, str(error)))
        except Exception as error:  # a bug must cost one request, never the node
            message = f"internal error: {type(error).__name__}: {error}"
            return self._error(request_id, RpcError(INTERNAL_ERROR, message))
        if "id" not in request:
            return None
        return {"jsonrpc": "2.0", "id": request_id, "result": result}

    def _run(self, name: str, method: Method, params: List[Any]) -> Any:
        """The method's result, its parameters read first (under the name the client used)."""
        arguments = bind(name, method.params, params) if method.params is not None else ()
        if name in UNLOCKED_METHODS:
            return method.run(*arguments)
        with self.devnet.lock:
            return method.run(*arguments)

    @staticmethod
    def _error(request_id: Any, error: RpcError) -> Dict[str, Any]:
        return {"jsonrpc": "2.0", "id": request_id, "error": error.as_json()}

    @staticmethod
    def _encode(response: Any) -> bytes:
        return json.dumps(response).encode()

    def _encode_response(self, response: Any) -> Optional[bytes]:
        return None if response is None else self._encode(response)
