"""
JSON-RPC over a ``Devnet``: the method table, parameter parsing and the
error codes clients parse (EIP-1474; code 3 with revert data, as geth and
anvil answer a reverting ``eth_call``).
"""

import json
import sys
from typing import Any, Callable, Dict, List, Optional, Union

from eth.exceptions import Revert
from eth.vm.spoof import SpoofTransaction
from eth_abi import decode as abi_decode
from eth_keys import keys
from eth_utils import ValidationError

from precompile.witness import execute_with_witness

from .accounts import InvalidMnemonic
from .filters import log_matches
from .formatting import (
    format_block,
    format_proof_request,
    format_receipt,
    format_signed_proof,
    format_transaction,
    quantity,
)
from .node import Devnet, InvalidState, TransactionRejected
from .tracing import TracingOptionError, trace_transaction

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
TRANSACTION_REJECTED = -32003
# In the server-defined range: a method this node serves but was told not to.
STATE_EDITS_DISABLED = -32001
EXECUTION_REVERTED = 3
CLIENT_VERSION = "native-rollups/v0.1.0"
# Larger request bodies are refused before parsing (anvil's own limit is similar).
MAX_REQUEST_BYTES = 32 * 1024 * 1024


# The selector of Solidity's and Vyper's ``Error(string)`` revert.
ERROR_STRING_SELECTOR = bytes.fromhex("08c379a0")


def revert_reason(output: bytes) -> Optional[str]:
    """The reason of an ``Error(string)`` revert, if ``output`` is one."""
    if not output.startswith(ERROR_STRING_SELECTOR):
        return None
    try:
        (reason,) = abi_decode(["string"], output[len(ERROR_STRING_SELECTOR):])
    except Exception:  # malformed revert data is still revert data, without a reason
        return None
    return reason


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


def parse_quantity(value: Any, name: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.startswith("0x") and len(value) > 2:
        try:
            return int(value, 16)
        except ValueError:
            pass
    raise invalid_params(f"{name} must be a hex quantity, got {value!r}")


def parse_data(value: Any, name: str) -> bytes:
    if isinstance(value, str) and value.startswith("0x") and len(value) % 2 == 0:
        try:
            return bytes.fromhex(value[2:])
        except ValueError:
            pass
    raise invalid_params(f"{name} must be 0x-prefixed hex bytes, got {value!r}")


def parse_address(value: Any, name: str = "address") -> bytes:
    address = parse_data(value, name)
    if len(address) != 20:
        raise invalid_params(f"{name} must be 20 bytes, got {len(address)}")
    return address


def state_edits_disabled(name: str) -> Callable[..., Any]:
    def refuse(*params: Any) -> None:
        raise RpcError(
            STATE_EDITS_DISABLED,
            f"{name} is disabled on this node: it edits state outside of transactions, and"
            " this chain's blocks must stay provable (a rollup's L2)",
        )

    return refuse


class Dispatcher:
    """Answers JSON-RPC requests (single or batch) for one devnet."""

    def __init__(self, devnet: Devnet) -> None:
        self.devnet = devnet
        self.methods: Dict[str, Callable[..., Any]] = {}
        for name in dir(self):
            if name.startswith("rpc_"):
                self.methods[name[4:]] = getattr(self, name)
        if not devnet.config.state_edits:
            for name in STATE_EDITING_METHODS:
                self.methods[name] = state_edits_disabled(name)
        for alias, target in ALIASES.items():
            self.methods[alias] = self.methods[target]
        self.filters: Dict[str, tuple] = {}
        self.filter_counter = 0

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
        if len(body) > MAX_REQUEST_BYTES:
            return self._encode(self._error(None, RpcError(INVALID_REQUEST, "request too large")))
        try:
            request = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            return self._encode(self._error(None, RpcError(PARSE_ERROR, f"parse error: {error}")))
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
            try:
                self.devnet.mine_due()
            except Exception as error:  # the sender has its hash; the transaction stays pending
                print(f"nr devnet: mining failed: {type(error).__name__}: {error}", file=sys.stderr)
        return response

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
            if request["method"] in UNLOCKED_METHODS:
                result = method(*params)
            else:
                with self.devnet.lock:
                    result = method(*params)
        except RpcError as error:
            return self._error(request_id, error)
        except TypeError as error:
            return self._error(request_id, invalid_params(str(error)))
        except (TransactionRejected, ValidationError, InvalidMnemonic) as error:
            return self._error(request_id, RpcError(TRANSACTION_REJECTED, str(error)))
        except Exception as error:  # a bug must cost one request, never the node
            message = f"internal error: {type(error).__name__}: {error}"
            return self._error(request_id, RpcError(INTERNAL_ERROR, message))
        if "id" not in request:
            return None
        return {"jsonrpc": "2.0", "id": request_id, "result": result}

    @staticmethod
    def _error(request_id: Any, error: RpcError) -> Dict[str, Any]:
        return {"jsonrpc": "2.0", "id": request_id, "error": error.as_json()}

    @staticmethod
    def _encode(response: Any) -> bytes:
        return json.dumps(response).encode()

    def _encode_response(self, response: Any) -> Optional[bytes]:
        return None if response is None else self._encode(response)

    # -- helpers --

    def _block_number(self, tag: Any = "latest") -> int:
        head = self.devnet.head().block_number
        if tag in ("latest", "pending", "safe", "finalized", None):
            return head
        if tag == "earliest":
            return 0
        if isinstance(tag, dict):
            tag = tag.get("blockNumber", "latest")
        number = parse_quantity(tag, "block")
        if number > head:
            raise invalid_params(f"block {number} is beyond the head {head}")
        return number

    def _spoof(self, call: Dict[str, Any], number: Optional[int] = None) -> SpoofTransaction:
        """The call as a transaction from its sender, at the sender's nonce in block ``number``."""
        if not isinstance(call, dict):
            raise invalid_params("call object expected")
        vm = self.devnet.chain.get_vm()
        sender = parse_address(call["from"], "from") if call.get("from") else bytes(20)
        unsigned = vm.create_unsigned_transaction(
            nonce=self.devnet.state_at(number).get_nonce(sender),
            gas_price=parse_quantity(call.get("gasPrice", "0x0"), "gasPrice"),
            gas=parse_quantity(call.get("gas", hex(self.devnet.config.gas_limit)), "gas"),
            to=parse_address(call["to"], "to") if call.get("to") else b"",
            value=parse_quantity(call.get("value", "0x0"), "value"),
            data=parse_data(call.get("data", call.get("input", "0x")), "data"),
        )
        return SpoofTransaction(unsigned, from_=sender)

    # -- web3 / net --

    def rpc_web3_clientVersion(self) -> str:
        return CLIENT_VERSION

    def rpc_net_version(self) -> str:
        return str(self.devnet.chain_id)

    def rpc_net_listening(self) -> bool:
        return True

    # -- eth: chain and state --

    def rpc_eth_chainId(self) -> str:
        return quantity(self.devnet.chain_id)

    def rpc_eth_blockNumber(self) -> str:
        return quantity(self.devnet.head().block_number)

    def rpc_eth_accounts(self) -> List[str]:
        return [account.checksum_address for account in self.devnet.accounts]

    def rpc_eth_gasPrice(self) -> str:
        return quantity(self.devnet.next_base_fee() + 10**9)

    def rpc_eth_maxPriorityFeePerGas(self) -> str:
        return quantity(10**9)

    def rpc_eth_getBalance(self, address, block="latest") -> str:
        state = self.devnet.state_at(self._block_number(block))
        return quantity(state.get_balance(parse_address(address)))

    def rpc_eth_getTransactionCount(self, address, block="latest") -> str:
        state = self.devnet.state_at(self._block_number(block))
        return quantity(state.get_nonce(parse_address(address)))

    def rpc_eth_getCode(self, address, block="latest") -> str:
        state = self.devnet.state_at(self._block_number(block))
        return "0x" + state.get_code(parse_address(address)).hex()

    def rpc_eth_getStorageAt(self, address, slot, block="latest") -> str:
        state = self.devnet.state_at(self._block_number(block))
        value = state.get_storage(parse_address(address), parse_quantity(slot, "slot"))
        return "0x" + value.to_bytes(32, "big").hex()

    # -- eth: calls --

    def rpc_eth_call(self, call, block="latest") -> str:
        number = self._block_number(block)
        computation = self.devnet.call(self._spoof(call, number), number)
        if computation.is_error:
            raise self._execution_error(computation)
        return "0x" + computation.output.hex()

    def rpc_eth_estimateGas(self, call, block="latest") -> str:
        number = self._block_number(block)
        transaction = self._spoof(call, number)
        computation = self.devnet.call(transaction, number)
        if computation.is_error:
            raise self._execution_error(computation)
        return quantity(self.devnet.estimate_gas(transaction))

    @staticmethod
    def _execution_error(computation) -> RpcError:
        """
        Code 3 as geth and anvil answer: revert data when there is some, and
        an ``Error(string)`` reason in the message, as clients show it.
        """
        if isinstance(computation.error, Revert):
            reason = revert_reason(computation.output)
            message = f"execution reverted: {reason}" if reason else "execution reverted"
            return RpcError(EXECUTION_REVERTED, message, "0x" + computation.output.hex())
        return RpcError(
            EXECUTION_REVERTED, f"execution reverted: {type(computation.error).__name__}"
        )

    # -- eth: transactions --

    def rpc_eth_sendRawTransaction(self, raw) -> str:
        encoded = parse_data(raw, "transaction")
        try:
            transaction = self.devnet.vm_class.get_transaction_builder().decode(encoded)
            transaction.sender  # recovers the signer: an invalid signature fails here
        except Exception as error:  # undecodable bytes or an unrecoverable signature
            raise invalid_params(f"invalid transaction: {error}") from error
        return "0x" + self.devnet.send_transaction(transaction).hex()

    def rpc_eth_sendTransaction(self, call) -> str:
        if not isinstance(call, dict) or "from" not in call:
            raise invalid_params("transaction object with 'from' expected")
        sender = parse_address(call["from"], "from")
        key = next((a.private_key for a in self.devnet.accounts if a.address == sender), None)
        state = self.devnet.head_state()
        pending = sum(1 for t in self.devnet.pending if t.sender == sender)
        nonce = parse_quantity(call.get("nonce", hex(state.get_nonce(sender) + pending)), "nonce")
        to = parse_address(call["to"], "to") if call.get("to") else b""
        data = parse_data(call.get("data", call.get("input", "0x")), "data")
        value = parse_quantity(call.get("value", "0x0"), "value")
        gas = call.get("gas")
        if gas is None:
            gas = self.devnet.estimate_gas(self._spoof({**call, "nonce": hex(nonce)}))
        else:
            gas = parse_quantity(gas, "gas")
        vm = self.devnet.chain.get_vm()
        default_fee = hex(2 * self.devnet.next_base_fee() + 10**9)
        max_fee = parse_quantity(
            call.get("maxFeePerGas", call.get("gasPrice", default_fee)), "maxFeePerGas"
        )
        priority = parse_quantity(call.get("maxPriorityFeePerGas", hex(min(10**9, max_fee))), "fee")
        unsigned = vm.get_transaction_builder().new_unsigned_dynamic_fee_transaction(
            chain_id=self.devnet.chain_id,
            nonce=nonce,
            max_priority_fee_per_gas=priority,
            max_fee_per_gas=max_fee,
            gas=gas,
            to=to,
            value=value,
            data=data,
            access_list=(),
        )
        if key is None:
            signed = self.devnet.sign_impersonated(unsigned, sender)
        else:
            signed = unsigned.as_signed_transaction(keys.PrivateKey(key))
        return "0x" + self.devnet.send_transaction(signed).hex()

    def rpc_anvil_impersonateAccount(self, address) -> None:
        self.devnet.impersonated.add(parse_address(address))

    def rpc_anvil_stopImpersonatingAccount(self, address) -> None:
        self.devnet.impersonated.discard(parse_address(address))

    def rpc_eth_getTransactionByHash(self, transaction_hash) -> Optional[Dict[str, Any]]:
        found = self.devnet.receipt(parse_data(transaction_hash, "hash"))
        if found is None:
            return None
        block, index, _ = found
        return format_transaction(block.transactions[index], block, index)

    def rpc_eth_getTransactionReceipt(self, transaction_hash) -> Optional[Dict[str, Any]]:
        found = self.devnet.receipt(parse_data(transaction_hash, "hash"))
        if found is None:
            return None
        block, index, receipt = found
        receipts = self.devnet.block_receipts(block)
        return format_receipt(self.devnet, block, index, receipt, receipts)

    # -- eth: blocks --

    def rpc_eth_getBlockByNumber(self, tag, full=False) -> Optional[Dict[str, Any]]:
        return format_block(self.devnet.block(self._block_number(tag)), bool(full))

    def rpc_eth_getBlockByHash(self, block_hash, full=False) -> Optional[Dict[str, Any]]:
        try:
            block = self.devnet.chain.get_block_by_hash(parse_data(block_hash, "hash"))
        except Exception:  # unknown hash
            return None
        self.devnet.with_senders(block)
        return format_block(block, bool(full))

    # -- eth: logs and filters --

    def rpc_eth_getLogs(self, criteria) -> List[Dict[str, Any]]:
        if not isinstance(criteria, dict):
            raise invalid_params("filter object expected")
        if criteria.get("blockHash"):
            block = self.devnet.chain.get_block_by_hash(
                parse_data(criteria["blockHash"], "blockHash")
            )
            numbers = [block.number]
        else:
            first = self._block_number(criteria.get("fromBlock", "latest"))
            last = self._block_number(criteria.get("toBlock", "latest"))
            numbers = range(first, last + 1)
        return [log for number in numbers for log in self._block_logs(number, criteria)]

    def _block_logs(self, number: int, criteria: Dict[str, Any]) -> List[Dict[str, Any]]:
        block = self.devnet.block(number)
        receipts = self.devnet.block_receipts(block)
        return [
            log
            for index, receipt in enumerate(receipts)
            for log in format_receipt(self.devnet, block, index, receipt, receipts)["logs"]
            if log_matches(log, criteria)
        ]

    def rpc_eth_newFilter(self, criteria) -> str:
        if not isinstance(criteria, dict):
            raise invalid_params("filter object expected")
        return self._install_filter("logs", criteria)

    def rpc_eth_newBlockFilter(self) -> str:
        return self._install_filter("blocks", {})

    def _install_filter(self, kind: str, criteria: Dict[str, Any]) -> str:
        self.filter_counter += 1
        filter_id = hex(self.filter_counter)
        self.filters[filter_id] = (kind, criteria, self.devnet.head().block_number)
        return filter_id

    def rpc_eth_getFilterChanges(self, filter_id) -> List[Any]:
        if filter_id not in self.filters:
            raise RpcError(INVALID_PARAMS, "filter not found")
        kind, criteria, seen = self.filters[filter_id]
        head = self.devnet.head().block_number
        self.filters[filter_id] = (kind, criteria, head)
        if kind == "blocks":
            return ["0x" + self.devnet.block(n).hash.hex() for n in range(seen + 1, head + 1)]
        return [log for n in range(seen + 1, head + 1) for log in self._block_logs(n, criteria)]

    def rpc_eth_getFilterLogs(self, filter_id) -> List[Any]:
        if filter_id not in self.filters or self.filters[filter_id][0] != "logs":
            raise RpcError(INVALID_PARAMS, "filter not found")
        return self.rpc_eth_getLogs(self.filters[filter_id][1])

    def rpc_eth_uninstallFilter(self, filter_id) -> bool:
        return self.filters.pop(filter_id, None) is not None

    def rpc_eth_feeHistory(self, count, newest, percentiles=None) -> Dict[str, Any]:
        last = self._block_number(newest)
        first = max(0, last - parse_quantity(count, "blockCount") + 1)
        blocks = [self.devnet.block(n) for n in range(first, last + 1)]
        base_fees = [b.header.base_fee_per_gas for b in blocks] + [self.devnet.next_base_fee()]
        return {
            "oldestBlock": quantity(first),
            "baseFeePerGas": [quantity(fee) for fee in base_fees],
            "gasUsedRatio": [b.header.gas_used / b.header.gas_limit for b in blocks],
            "baseFeePerBlobGas": ["0x1"] * len(base_fees),
            "blobGasUsedRatio": [0.0] * len(blocks),
            "reward": [[quantity(10**9)] * len(percentiles or []) for _ in blocks],
        }

    # -- debug --

    def rpc_debug_executionWitness(self, tag) -> Dict[str, Any]:
        """The witness of block ``tag`` in geth's and reth's JSON shape."""
        number = self._block_number(tag)
        if number == 0:
            raise invalid_params("the genesis block has no witness")
        execution = execute_with_witness(self.devnet.chain, self.devnet.block(number))
        witness = execution.witness
        return {
            "state": ["0x" + bytes(node).hex() for node in witness.state],
            "codes": ["0x" + bytes(code).hex() for code in witness.codes],
            "keys": [],
            "headers": ["0x" + bytes(header).hex() for header in witness.headers],
        }

    def rpc_debug_traceTransaction(self, transaction_hash, options=None) -> Dict[str, Any]:
        """geth's default struct-logger trace of a mined transaction (anvil's shape)."""
        tx_hash = parse_data(transaction_hash, "transaction hash")
        if options is not None and not isinstance(options, dict):
            raise invalid_params(f"tracer options must be an object, got {options!r}")
        found = self.devnet.receipt(tx_hash)
        if found is None:
            raise invalid_params(f"transaction 0x{tx_hash.hex()} is not in a block")
        block, index, _ = found
        try:
            return trace_transaction(self.devnet.chain, block, index, options)
        except TracingOptionError as error:
            raise invalid_params(str(error)) from error

    # -- execution proofs: the execution_proof topic and EXECUTE's proof pool --

    def rpc_nr_submitExecutionProof(self, signed_proof) -> Dict[str, Any]:
        """
        Publish a SSZ ``SignedExecutionProof`` on this node's ``execution_proof``
        topic: the gossip verdict (accept, ignore, reject) and why.
        """
        result = self.devnet.submit_proof(parse_data(signed_proof, "signed proof"))
        return {"verdict": result.verdict, "reason": result.reason, "queued": result.queued}

    def rpc_nr_getProofRequests(self) -> List[Dict[str, Any]]:
        """The EXECUTE inputs this node has seen, with the proof types it already holds."""
        return [format_proof_request(payload) for payload in self.devnet.proof_pool.requests()]

    def rpc_nr_getExecutionProofs(self, new_payload_request_root) -> List[Dict[str, Any]]:
        """The valid proofs held for a payload, one per proof type."""
        root = parse_data(new_payload_request_root, "newPayloadRequestRoot")
        pool = self.devnet.proof_pool
        return [
            format_signed_proof(signed)
            for payload in pool.requests()
            if bytes(payload.public_input.new_payload_request_root) == root
            for signed in pool.proofs(payload.public_input)
        ]

    def rpc_nr_proverRegistry(self) -> Dict[str, Any]:
        """Who may publish proofs, what they sign under, and what EXECUTE asks of them."""
        devnet = self.devnet
        execute = devnet.config.execute
        return {
            "l1ChainId": quantity(devnet.chain_id),
            "domain": "0x" + bytes(devnet.provers.domain).hex(),
            "provers": [
                {"index": index, "pubkey": "0x" + bytes(p.pubkey).hex(), "active": bool(p.active)}
                for index, p in enumerate(devnet.provers.registry)
            ],
            "proofTypes": list(devnet.proof_pool.accepted_types),
            "executeMode": execute.mode,
            "threshold": execute.proof_threshold,
        }

    def rpc_nr_awaitingProofs(self) -> List[Dict[str, str]]:
        """Pending transactions whose EXECUTE calls wait for proofs, and what they lack."""
        return [
            {"hash": "0x" + tx_hash.hex(), "reason": reason}
            for tx_hash, reason in self.devnet.awaiting_proofs.items()
        ]

    # -- test controls (anvil / ganache / hardhat) --

    def rpc_evm_mine(self, timestamp=None) -> str:
        when = None if timestamp is None else parse_quantity(timestamp, "timestamp")
        self.devnet.mine(timestamp=when)
        return "0x0"

    def rpc_anvil_mine(self, blocks="0x1", interval=None) -> None:
        self.devnet.mine(blocks=parse_quantity(blocks, "blocks"))

    def rpc_evm_snapshot(self) -> str:
        return quantity(self.devnet.snapshot())

    def rpc_evm_revert(self, snapshot_id) -> bool:
        return self.devnet.revert(parse_quantity(snapshot_id, "snapshot id"))

    def rpc_evm_increaseTime(self, seconds) -> int:
        """The total offset, as a JSON number (anvil and ganache answer so)."""
        return self.devnet.increase_time(parse_quantity(seconds, "seconds"))

    def rpc_evm_setNextBlockTimestamp(self, timestamp) -> None:
        when = parse_quantity(timestamp, "timestamp")
        if when <= self.devnet.head().timestamp:
            raise invalid_params(f"timestamp {when} is not after the head's")
        self.devnet.next_timestamp = when

    def rpc_evm_setAutomine(self, enabled) -> None:
        if not isinstance(enabled, bool):
            raise invalid_params("expected a boolean")
        self.devnet.automine = enabled

    def rpc_anvil_dumpState(self) -> str:
        return "0x" + self.devnet.dump_state().hex()

    def rpc_anvil_loadState(self, dumped) -> bool:
        try:
            self.devnet.load_state(parse_data(dumped, "state"))
        except InvalidState as error:
            raise invalid_params(str(error)) from error
        return True

    def rpc_anvil_nodeInfo(self) -> Dict[str, Any]:
        head = self.devnet.head()
        return {
            "currentBlockNumber": quantity(head.block_number),
            "currentBlockTimestamp": head.timestamp,
            "currentBlockHash": "0x" + head.hash.hex(),
            "hardFork": "prague",
            "network": "native-rollups",
            "environment": {
                "baseFee": str(self.devnet.next_base_fee()),
                "chainId": self.devnet.chain_id,
                "gasLimit": str(self.devnet.config.gas_limit),
                "gasPrice": str(self.devnet.next_base_fee() + 10**9),
            },
            "forkConfig": {},
        }

    def rpc_evm_setIntervalMining(self, seconds) -> None:
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            raise invalid_params(f"interval must be a non-negative number, got {seconds!r}")
        self.devnet.set_interval_mining(float(seconds))

    def rpc_anvil_reset(self, options=None) -> None:
        if options:
            raise invalid_params("forking is not supported; anvil_reset takes no options here")
        self.devnet.reset()
        self.filters.clear()

    def rpc_anvil_setBalance(self, address, balance) -> None:
        self.devnet.set_account(parse_address(address), balance=parse_quantity(balance, "balance"))

    def rpc_anvil_setNonce(self, address, nonce) -> None:
        self.devnet.set_account(parse_address(address), nonce=parse_quantity(nonce, "nonce"))

    def rpc_anvil_setCode(self, address, code) -> None:
        self.devnet.set_account(parse_address(address), code=parse_data(code, "code"))

    def rpc_anvil_setStorageAt(self, address, slot, value) -> bool:
        storage = {parse_quantity(slot, "slot"): int.from_bytes(parse_data(value, "value"), "big")}
        self.devnet.set_account(parse_address(address), storage=storage)
        return True


# Methods that change state or history other than by a signed transaction.
STATE_EDITING_METHODS = (
    "anvil_setBalance",
    "anvil_setNonce",
    "anvil_setCode",
    "anvil_setStorageAt",
    "anvil_impersonateAccount",
    "anvil_loadState",
    "anvil_reset",
    "evm_revert",
)

# Methods answered without the node's lock (each request otherwise holds it
# throughout, so it sees one state): those that read no chain state (web3.py
# asks the chain id right after sending a transaction; it need not wait for
# the block), and proof submission, whose verification runs outside it and
# for a re-execution proof takes as long as the block.
UNLOCKED_METHODS = (
    "eth_chainId",
    "net_version",
    "net_listening",
    "web3_clientVersion",
    "eth_accounts",
    "nr_submitExecutionProof",
)

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
    "anvil_setIntervalMining": "evm_setIntervalMining",
    "hardhat_reset": "anvil_reset",
}
