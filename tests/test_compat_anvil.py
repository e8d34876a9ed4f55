"""
One scenario against our devnet and against real anvil (npm @foundry-rs/anvil),
compared field by field, then the methods a rollup engineer reaches for
beyond it (state proofs, the pool, signing, the next blocks' headers, call
traces and access lists). Only
what must differ between two nodes (hashes, timestamps, roots and proofs
over differing genesis state) is left out of the comparison.
"""

import json
import urllib.request
from typing import Any, Dict, List, Tuple

import pytest
from eth._utils.address import generate_contract_address
from eth_account import Account

from contracts import compile_contract
from l1.accounts import derive_accounts

from chains import free_port, start_devnet_process
from merkle_patricia import verify_account_proof
from peers import start_anvil
from relay_contracts import caller_init_code, deploy_relay

KEYS = [account.private_key for account in derive_accounts(count=4)]
FEES = {"maxFeePerGas": 5 * 10**9, "maxPriorityFeePerGas": 10**9}
# Fields two honest nodes report differently for the same transactions.
NODE_SPECIFIC = {
    "hash",
    "blockHash",
    "transactionHash",
    "parentHash",
    "timestamp",
    "blockTimestamp",
    "stateRoot",
    "mixHash",
    "size",
    "totalDifficulty",
    "requestsHash",
    "parentBeaconBlockRoot",
    "withdrawalsRoot",
    "extraData",
    "miner",
    "transactions",
    "blobGasPrice",
    "blobGasUsed",
    "logsBloom",
    "receiptsRoot",
    "transactionsRoot",
    # Proofs through the whole state, whose other accounts differ between nodes.
    "accountProof",
}


def comparable(value: Any) -> Any:
    """Drop node-specific fields, recursively, and turn web3 types into plain ones."""
    if hasattr(value, "items"):
        return {k: comparable(v) for k, v in value.items() if k not in NODE_SPECIFIC}
    if isinstance(value, (list, tuple)):
        return [comparable(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    return value


def scenario(w3) -> List[Dict[str, Any]]:
    """The same user session on any node: what it observed, step by step."""
    observed: List[Dict[str, Any]] = []
    alice, bob, carol = (Account.from_key(k) for k in KEYS[:3])

    def note(step: str, value: Any) -> None:
        observed.append({"step": step, "value": comparable(value)})

    def send_raw(account, nonce, fields):
        signed = account.sign_transaction({"chainId": 31337, "nonce": nonce, **fields})
        return w3.eth.wait_for_transaction_receipt(
            w3.eth.send_raw_transaction(signed.raw_transaction)
        )

    workload = compile_contract("Workload")
    receipt = send_raw(alice, 0, {"data": workload.bytecode, "gas": 1_000_000, **FEES})
    note("deploy receipt", receipt)
    contract = w3.eth.contract(address=receipt.contractAddress, abi=workload.abi)
    note("code", w3.eth.get_code(receipt.contractAddress))
    note("call compute", contract.functions.compute(5).call())
    note("estimate fill", contract.functions.fill(0, 4).estimate_gas({"from": alice.address}))
    receipt = send_raw(
        alice,
        1,
        {
            "to": contract.address,
            "data": workload.encode_call("fill", 0, 4),
            "gas": 200_000,
            **FEES,
        },
    )
    note("fill receipt", receipt)
    traced = "0x" + bytes(receipt.transactionHash).hex()
    note("trace fill", w3.provider.make_request("debug_traceTransaction", [traced])["result"])
    note(
        "trace fill with memory",
        w3.provider.make_request(
            "debug_traceTransaction", [traced, {"enableMemory": True, "disableStack": True}]
        )["result"],
    )
    note("slots", [contract.functions.slots(i).call() for i in range(5)])
    receipt = send_raw(
        bob,
        0,
        {
            "to": contract.address,
            "data": workload.encode_call("fill", 7, 2),
            "gas": 300_000,
            **FEES,
        },
    )
    note("logs receipt", receipt)
    note("get_logs", w3.eth.get_logs({"fromBlock": 0, "address": contract.address}))
    note(
        "filled events",
        [dict(e["args"]) for e in contract.events.Filled().process_receipt(receipt)],
    )
    legacy = send_raw(
        carol, 0, {"to": bob.address, "value": 10**15, "gas": 21_000, "gasPrice": 3 * 10**9}
    )
    note("legacy transfer", legacy)
    note(
        "trace transfer",
        w3.provider.make_request(
            "debug_traceTransaction", ["0x" + bytes(legacy.transactionHash).hex()]
        )["result"],
    )
    access_list = send_raw(
        carol,
        1,
        {
            "to": bob.address,
            "value": 1,
            "gas": 30_000,
            "gasPrice": 3 * 10**9,
            "accessList": [],
            "type": 1,
        },
    )
    note("2930 transfer", access_list)
    unlocked = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_transaction(
            {"from": bob.address, "to": carol.address, "value": 7, "gas": 21_000, **FEES}
        )
    )
    note("unlocked transfer", unlocked)
    note("balances", [w3.eth.get_balance(a.address) for a in (alice, bob, carol)])
    note("nonces", [w3.eth.get_transaction_count(a.address) for a in (alice, bob, carol)])

    whale = w3.to_checksum_address("0x" + "77" * 20)
    w3.provider.make_request("anvil_setBalance", [whale, hex(10**20)])
    w3.provider.make_request("anvil_impersonateAccount", [whale])
    impersonated = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_transaction(
            {"from": whale, "to": bob.address, "value": 5, "gas": 21_000, **FEES}
        )
    )
    note("impersonated transfer", impersonated)
    w3.provider.make_request("anvil_stopImpersonatingAccount", [whale])
    note("whale after", [w3.eth.get_balance(whale), w3.eth.get_transaction_count(whale)])
    note("head block before snapshot", w3.eth.get_block("latest"))
    # After evm_revert anvil keeps the base fee of the discarded blocks; here
    # the next block follows EIP-1559 from the restored head, so blocks after
    # the revert are compared on everything but their base fee.
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]
    send_raw(carol, 2, {"to": bob.address, "value": 5, "gas": 21_000, **FEES})
    note("after send, before revert", w3.eth.block_number)
    note("revert", w3.provider.make_request("evm_revert", [snapshot])["result"])
    note("after revert", [w3.eth.block_number, w3.eth.get_transaction_count(carol.address)])
    note("revert again", w3.provider.make_request("evm_revert", [snapshot])["result"])
    # Ids count on after a revert (anvil never hands one out twice).
    ids = [w3.provider.make_request("evm_snapshot", [])["result"] for _ in range(2)]
    note("snapshot ids", [snapshot] + ids)
    note("revert to the first of two", w3.provider.make_request("evm_revert", [ids[0]])["result"])
    note("the later one is gone", w3.provider.make_request("evm_revert", [ids[1]])["result"])

    start = w3.eth.get_block("latest").timestamp
    w3.provider.make_request("evm_increaseTime", [3600])
    w3.provider.make_request("evm_mine", [])
    note("time travelled an hour", w3.eth.get_block("latest").timestamp - start >= 3600)
    w3.provider.make_request("evm_setNextBlockTimestamp", [start + 10_000])
    w3.provider.make_request("evm_mine", [])
    note("next timestamp", w3.eth.get_block("latest").timestamp - start)

    target = "0x" + "5a" * 20
    w3.provider.make_request("anvil_setBalance", [target, hex(123)])
    w3.provider.make_request("anvil_setCode", [target, "0x60016000526001601ff3"])
    w3.provider.make_request("anvil_setNonce", [target, hex(3)])
    w3.provider.make_request("anvil_setStorageAt", [target, "0x1", "0x" + "00" * 31 + "2a"])
    checksum = w3.to_checksum_address(target)
    note(
        "edited account",
        [
            w3.eth.get_balance(checksum),
            w3.eth.get_code(checksum),
            w3.eth.get_transaction_count(checksum),
            w3.eth.get_storage_at(checksum, 1),
            w3.eth.call({"to": checksum}),
        ],
    )
    head = dict(w3.eth.get_block("latest"))
    head.pop("baseFeePerGas")
    note("head block", head)
    return observed


def raw(w3, method, *params) -> Any:
    """A method's JSON result as the node sent it (web3.py reshapes some), or its error."""
    response = w3.provider.make_request(method, list(params))
    return response["result"] if "result" in response else {"error": response["error"]["code"]}


def raw_comparable(value: Any) -> Any:
    """
    ``comparable`` for a raw JSON answer: hex is compared without its case
    (this node writes addresses checksummed, anvil in lower case).
    """
    if isinstance(value, dict):
        return {
            k.lower(): raw_comparable(v) for k, v in value.items() if k not in NODE_SPECIFIC
        }
    if isinstance(value, list):
        return [raw_comparable(v) for v in value]
    return value.lower() if isinstance(value, str) else value


def http_status(w3, body: Dict[str, Any]) -> Tuple[int, bytes]:
    request = urllib.request.Request(
        w3.provider.endpoint_uri,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        return response.status, response.read()


def rollup_engineer_scenario(w3) -> List[Dict[str, Any]]:
    """The methods beyond the basics, after ``scenario``, on a fresh account (dave)."""
    observed: List[Dict[str, Any]] = []
    alice, dave = Account.from_key(KEYS[0]), Account.from_key(KEYS[3])

    def note(step: str, method: str, *params: Any) -> Any:
        result = raw(w3, method, *params)
        observed.append({"step": step, "value": raw_comparable(result)})
        return result

    def signed(nonce: int, value: int) -> str:
        fields = {"chainId": 31337, "nonce": nonce, "to": alice.address, "value": value}
        transaction = dave.sign_transaction({**fields, "gas": 21_000, **FEES})
        return "0x" + bytes(transaction.raw_transaction).hex()

    # The pool: two ready, one queued behind a nonce gap; one dropped, then all.
    # The base fee is set, as the nodes' differ since ``scenario``'s evm_revert.
    raw(w3, "anvil_setNextBlockBaseFeePerGas", hex(10**9))
    raw(w3, "evm_setAutomine", False)
    hashes = [raw(w3, "eth_sendRawTransaction", signed(n, n + 1)) for n in (0, 1, 3)]
    note("txpool_status", "txpool_status")
    note("txpool_content", "txpool_content")
    note("txpool_inspect", "txpool_inspect")
    note("nonce, pending", "eth_getTransactionCount", dave.address, "pending")
    note("nonce, latest", "eth_getTransactionCount", dave.address, "latest")
    note("a pending transaction", "eth_getTransactionByHash", hashes[0])
    note("a queued transaction", "eth_getTransactionByHash", hashes[2])
    note("drop the second", "anvil_dropTransaction", hashes[1])
    note("drop it again", "anvil_dropTransaction", hashes[1])
    note("txpool_status after a drop", "txpool_status")
    raw(w3, "evm_mine")
    note("eth_getBlockReceipts", "eth_getBlockReceipts", "latest")
    note("eth_getBlockReceipts beyond the head", "eth_getBlockReceipts", "0x999")
    # The mined block's transactions by position, counted, and its (absent) uncles.
    mined_block = raw(w3, "eth_getBlockByNumber", "latest", False)["hash"]
    unknown_block = "0x" + "11" * 32
    note("transactions in the head", "eth_getBlockTransactionCountByNumber", "latest")
    note("transactions in genesis", "eth_getBlockTransactionCountByNumber", "0x0")
    note("transactions beyond the head", "eth_getBlockTransactionCountByNumber", "0x999")
    note("transactions by hash", "eth_getBlockTransactionCountByHash", mined_block)
    note("transactions of no block", "eth_getBlockTransactionCountByHash", unknown_block)
    note("first by number", "eth_getTransactionByBlockNumberAndIndex", "latest", "0x0")
    note("past the last", "eth_getTransactionByBlockNumberAndIndex", "latest", "0x1")
    note("in a block beyond the head", "eth_getTransactionByBlockNumberAndIndex", "0x999", "0x0")
    note("a block beyond the head", "eth_getBlockByNumber", "0x999", False)
    note("first by hash", "eth_getTransactionByBlockHashAndIndex", mined_block, "0x0")
    note("in no block", "eth_getTransactionByBlockHashAndIndex", unknown_block, "0x0")
    note("uncles of the head", "eth_getUncleCountByBlockNumber", "latest")
    note("uncles by hash", "eth_getUncleCountByBlockHash", mined_block)
    note("an uncle", "eth_getUncleByBlockNumberAndIndex", "latest", "0x0")
    # State at a block named by its hash (EIP-1898), as cast, ethers and web3.py name it.
    genesis = raw(w3, "eth_getBlockByNumber", "0x0", False)["hash"]
    note("balance at genesis by hash", "eth_getBalance", alice.address, {"blockHash": genesis})
    note("balance at genesis by bare hash", "eth_getBalance", alice.address, genesis)
    note("balance at the head by hash", "eth_getBalance", alice.address, {"blockHash": mined_block})
    # The "ByNumber" methods read numbers only: 32 bytes of hex are a number there.
    note("a block by a padded number", "eth_getBlockByNumber", "0x" + "00" * 31 + "01", False)
    note("a block by number, given a hash", "eth_getBlockByNumber", {"blockHash": genesis}, False)
    note("web3_sha3", "web3_sha3", "0x68656c6c6f")
    note("anvil_getAutomine while off", "anvil_getAutomine")
    raw(w3, "evm_setAutomine", True)
    note("interval mining switched off", "evm_setIntervalMining", 0)
    note("anvil_getAutomine after that", "anvil_getAutomine")
    note("a transfer then", "eth_sendRawTransaction", signed(1, 9))
    note("stays pending", "txpool_status")
    mined = raw(w3, "eth_getTransactionByHash", hashes[0])
    observed.append({"step": "transaction fields", "value": sorted(mined)})
    raw(w3, "anvil_dropAllTransactions")
    note("txpool_status after dropping all", "txpool_status")
    raw(w3, "evm_setAutomine", True)

    # State proofs: the Workload contract ``scenario`` deployed and filled,
    # an account that has none; each checked against the node's own root.
    workload = "0x" + generate_contract_address(bytes.fromhex(alice.address[2:]), 0).hex()
    slots = ["0x" + n.to_bytes(32, "big").hex() for n in (0, 1, 3, 7, 8, 1000)]
    root = bytes.fromhex(raw(w3, "eth_getBlockByNumber", "latest", False)["stateRoot"][2:])
    for step, address, keys in (
        ("eth_getProof workload", workload, slots),
        ("eth_getProof of nobody", "0x" + "ab" * 20, slots[:1]),
        ("eth_getProof of dave", dave.address, []),
    ):
        proof = raw(w3, "eth_getProof", address, keys, "latest")
        verify_account_proof(root, proof)
        observed.append({"step": step, "value": raw_comparable(proof)})

    note("eth_sign", "eth_sign", alice.address, "0xdeadbeef")
    note("personal_sign", "personal_sign", "0xdeadbeef", alice.address)
    note("eth_sign without a key", "eth_sign", "0x" + "ab" * 20, "0xdeadbeef")
    note("eth_syncing", "eth_syncing")
    note("eth_blobBaseFee", "eth_blobBaseFee")

    # The next blocks' headers: fee recipient, one base fee, the gas limit.
    coinbase = "0x" + "c0" * 20
    note("anvil_setCoinbase", "anvil_setCoinbase", coinbase)
    note("eth_coinbase", "eth_coinbase")
    note("anvil_setNextBlockBaseFeePerGas", "anvil_setNextBlockBaseFeePerGas", hex(74565))
    note("evm_setBlockGasLimit", "evm_setBlockGasLimit", hex(2**24))
    for step in ("the controlled block", "the block after"):
        raw(w3, "evm_mine")
        block = raw(w3, "eth_getBlockByNumber", "latest", False)
        fields = {key: block[key] for key in ("miner", "baseFeePerGas", "gasLimit", "gasUsed")}
        observed.append({"step": step, "value": raw_comparable(fields)})

    stranger = "0x" + "5b" * 20
    raw(w3, "anvil_setBalance", stranger, hex(10**18))
    request = {"from": stranger, "to": alice.address, "value": "0x1", "gas": "0x5208", **{
        key: hex(value) for key, value in FEES.items()
    }}
    raw(w3, "anvil_autoImpersonateAccount", True)
    sent = raw(w3, "eth_sendTransaction", request)
    receipt = w3.eth.wait_for_transaction_receipt(sent)
    observed.append({"step": "auto-impersonated", "value": comparable(receipt)})
    raw(w3, "anvil_autoImpersonateAccount", False)
    note("auto-impersonation off", "eth_sendTransaction", request)

    # Another chain id: what the node reports, CHAINID, and which signatures it takes.
    note("anvil_setChainId", "anvil_setChainId", 4242)  # a JSON number, as anvil takes it
    note("eth_chainId after anvil_setChainId", "eth_chainId")
    note("net_version after anvil_setChainId", "net_version")
    return_chain_id = "0x4660005260206000f3"  # init code: return CHAINID
    note("CHAINID after anvil_setChainId", "eth_call", {"data": return_chain_id}, "latest")
    nonce = int(raw(w3, "eth_getTransactionCount", dave.address, "latest"), 16)
    for chain_id in (31337, 4242):
        transaction = dave.sign_transaction({
            "chainId": chain_id, "nonce": nonce, "to": alice.address, "value": 1,
            "gas": 21_000, **FEES,
        })
        sent = raw(w3, "eth_sendRawTransaction", "0x" + bytes(transaction.raw_transaction).hex())
        if isinstance(sent, str):
            sent = w3.eth.wait_for_transaction_receipt(sent).status
        observed.append({"step": f"signed for chain {chain_id}", "value": sent})
    raw(w3, "anvil_setChainId", 31337)

    notification = {"jsonrpc": "2.0", "method": "eth_blockNumber", "params": []}
    observed.append({"step": "a notification over HTTP", "value": http_status(w3, notification)})
    return observed


def with_sorted_access_list(answer: Any) -> Any:
    """eth_createAccessList's answer with its entries by address (anvil lists them unordered)."""
    if "accessList" not in answer:
        return answer
    entries = sorted(answer["accessList"], key=lambda entry: entry["address"].lower())
    return {**answer, "accessList": entries}


def tracing_scenario(w3) -> List[Dict[str, Any]]:
    """
    debug_traceCall (struct logger and callTracer), the callTracer of mined
    transactions and eth_createAccessList, on contracts whose calls make
    every kind of frame; after ``rollup_engineer_scenario``.
    """
    observed: List[Dict[str, Any]] = []
    sender = w3.eth.accounts[5]

    def note(step: str, method: str, *params: Any) -> None:
        observed.append({"step": step, "value": raw_comparable(raw(w3, method, *params))})

    callee, caller = deploy_relay(w3, sender)
    deployed_at = hex(w3.eth.block_number)
    relay = {"from": sender, "to": caller.address, "data": caller.encode_abi("relay", [7])}
    fail = {"from": sender, "to": caller.address, "data": caller.encode_abi("fail", [])}
    calls = {
        "relay": {**relay, "value": "0x5", "gas": hex(1_000_000)},
        "fail": {**fail, "gas": hex(300_000)},
        "creation": {"from": sender, "data": caller_init_code(w3, callee.address)},
        "note": {"from": sender, "to": callee.address, "data": callee.encode_abi("note", [3])},
    }
    call_tracer = {"tracer": "callTracer"}
    for name, call in calls.items():
        access = with_sorted_access_list(raw(w3, "eth_createAccessList", call, "latest"))
        observed.append({"step": f"eth_createAccessList {name}", "value": raw_comparable(access)})
        note(f"callTracer {name}", "debug_traceCall", call, "latest", call_tracer)
    with_log = {**call_tracer, "tracerConfig": {"withLog": True}}
    note("callTracer withLog", "debug_traceCall", calls["relay"], "latest", with_log)
    only_top = {**call_tracer, "tracerConfig": {"onlyTopCall": True}}
    note("callTracer onlyTopCall", "debug_traceCall", calls["relay"], "latest", only_top)
    bare = {"to": callee.address}
    note("callTracer, no gas given", "debug_traceCall", bare, "latest", call_tracer)
    # A panic inside (Solidity's Panic(uint256), raised by hand) and a SELFDESTRUCT frame.
    extras = {
        "from": sender, "to": caller.address, "data": caller.encode_abi("extras", []),
        "value": "0x7", "gas": hex(1_000_000),
    }
    note("callTracer panic and selfdestruct", "debug_traceCall", extras, "latest", call_tracer)
    for code in (0x01, 0x11, 0x32, 0x99):
        panic = {"from": sender, "to": callee.address, "data": callee.encode_abi("panic", [code])}
        note(f"eth_call panic {code:#x}", "eth_call", panic, "latest")
        note(f"callTracer panic {code:#x}", "debug_traceCall", panic, "latest", call_tracer)
    # A call's own access list: warmed and paid for up front, as a transaction listing it.
    listed = {
        **calls["note"],
        "accessList": [{"address": callee.address, "storageKeys": ["0x" + "00" * 32]}],
    }
    note("callTracer with the call's access list", "debug_traceCall", listed, "latest", call_tracer)
    note("eth_estimateGas with an access list", "eth_estimateGas", listed, "latest")
    # Calldata that costs more at EIP-7623's floor than the call executes.
    heavy = {**calls["note"], "data": calls["note"]["data"] + "01" * 2048}
    note("callTracer under the calldata floor", "debug_traceCall", heavy, "latest", call_tracer)
    note("eth_estimateGas under the calldata floor", "eth_estimateGas", heavy, "latest")
    unserved = {"tracer": "4byteTracer"}
    note("a tracer not served", "debug_traceCall", calls["note"], "latest", unserved)
    mined_extras = {"from": sender, "to": caller.address, "data": extras["data"], "value": 7}
    mined_calls = (
        ("relay", {**relay, "value": 5}),
        ("fail", fail),
        ("extras", mined_extras),
        ("note with an access list", listed),
        ("note under the calldata floor", heavy),
    )
    for name, fields in mined_calls:
        mined = w3.eth.send_transaction({**fields, "gas": 400_000})
        w3.eth.wait_for_transaction_receipt(mined)
        traced = "0x" + bytes(mined).hex()
        note(f"callTracer of the mined {name}", "debug_traceTransaction", traced, with_log)
    # relay stored 7: the struct logger sees the slot set at the head, empty before.
    note("struct logger at the head", "debug_traceCall", calls["note"], "latest")
    memory = {"enableMemory": True, "disableStack": True}
    note("struct logger at a past block", "debug_traceCall", calls["note"], deployed_at, memory)
    return observed


@pytest.fixture(scope="module")
def observations():
    results = {}
    anvil, anvil_w3 = start_anvil(free_port())
    try:
        results["anvil"] = (
            scenario(anvil_w3) + rollup_engineer_scenario(anvil_w3) + tracing_scenario(anvil_w3)
        )
    finally:
        anvil.terminate()
        anvil.wait(10)
    devnet, devnet_w3 = start_devnet_process(free_port(), "--silent")
    try:
        results["devnet"] = (
            scenario(devnet_w3)
            + rollup_engineer_scenario(devnet_w3)
            + tracing_scenario(devnet_w3)
        )
    finally:
        devnet.terminate()
        devnet.wait(30)
    return results


def test_base_fee_after_revert_follows_eip_1559():
    from l1.node import Devnet

    devnet = Devnet()
    w3 = devnet.web3()
    sender, recipient = w3.eth.accounts[:2]
    w3.eth.send_transaction({"from": sender, "to": recipient, "value": 1})
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]
    w3.eth.send_transaction({"from": sender, "to": recipient, "value": 1})
    w3.provider.make_request("evm_revert", [snapshot])
    w3.provider.make_request("evm_mine", [])
    parent, child = devnet.block(1).header, devnet.block(2).header
    assert child.base_fee_per_gas == devnet.chain.create_header_from_parent(parent).base_fee_per_gas


def test_scenario_matches_anvil_field_by_field(observations):
    ours, theirs = observations["devnet"], observations["anvil"]
    assert [o["step"] for o in ours] == [o["step"] for o in theirs]
    for mine, reference in zip(ours, theirs):
        assert mine["value"] == reference["value"], mine["step"]
