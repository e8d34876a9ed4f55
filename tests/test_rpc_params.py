"""
Declared RPC parameters: a missing, extra or wrong-typed one is answered
-32602 with its name and what was expected, before the method runs; a bug in
the node is -32603, never taken for bad input.
"""

import json
import urllib.request

import pytest

from l1.node import Devnet, DevnetConfig
from l1.rpc import Dispatcher

from chains import serve_in_thread

ACCOUNT = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
CALL = {"to": ACCOUNT, "data": "0x"}
TRANSACTION_HASH = "0x" + "ab" * 32


@pytest.fixture(scope="module")
def devnet():
    return Devnet()


def answer(devnet, method, *params):
    return Dispatcher(devnet).handle(
        {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
    )


EXTRA = {
    "eth_blockNumber": ([1, 2, 3], "eth_blockNumber takes no parameters, got 3"),
    "eth_getBalance": (
        [ACCOUNT, "latest", "x"],
        "eth_getBalance takes at most 2 parameters (address, block), got 3",
    ),
    "eth_call": ([CALL, "latest", {}], "eth_call takes at most 2 parameters (call, block), got 3"),
    "eth_sendTransaction": (
        [{"from": ACCOUNT}, "latest"],
        "eth_sendTransaction takes 1 parameter (transaction), got 2",
    ),
    "evm_increaseTime": ([1, 2], "evm_increaseTime takes 1 parameter (seconds), got 2"),
    "anvil_setBalance": (
        [ACCOUNT, "0x1", "0x2"],
        "anvil_setBalance takes 2 parameters (address, balance), got 3",
    ),
    "debug_traceTransaction": (
        [TRANSACTION_HASH, {}, 1],
        "debug_traceTransaction takes at most 2 parameters (hash, options), got 3",
    ),
    "nr_submitExecutionProof": (
        ["0x00", "0x00"],
        "nr_submitExecutionProof takes 1 parameter (signedProof), got 2",
    ),
}

MISSING = {
    "eth_getBalance": ([], "eth_getBalance: missing address (20 bytes of 0x-prefixed hex)"),
    "eth_call": ([], "eth_call: missing call (a transaction object)"),
    "eth_sendTransaction": ([], "eth_sendTransaction: missing transaction"),
    "evm_increaseTime": ([], "evm_increaseTime: missing seconds (a hex quantity)"),
    "anvil_setBalance": ([ACCOUNT], "anvil_setBalance: missing balance (a hex quantity)"),
    "debug_traceTransaction": ([], "debug_traceTransaction: missing hash"),
    "nr_submitExecutionProof": (
        [],
        "nr_submitExecutionProof: missing signedProof (0x-prefixed hex bytes)",
    ),
}

WRONG_TYPE = {
    "eth_getBalance": (
        ["zz"],
        "eth_getBalance: address must be 20 bytes of 0x-prefixed hex, got \"zz\"",
    ),
    "eth_getBalance block": (
        [ACCOUNT, "tomorrow"],
        "eth_getBalance: block must be a block hash, a block number or one of latest,",
    ),
    "eth_call": (
        [{"to": "0x1234"}],
        "eth_call: call.to must be 20 bytes of 0x-prefixed hex, got \"0x1234\"",
    ),
    "eth_call object": (["0x1234"], "eth_call: call must be a transaction object, got \"0x1234\""),
    "eth_sendTransaction": (
        [{"to": ACCOUNT}],
        "eth_sendTransaction: transaction.from must be 20 bytes of 0x-prefixed hex, got null",
    ),
    "eth_sendTransaction gas": (
        [{"from": ACCOUNT, "gas": "lots"}],
        "eth_sendTransaction: transaction.gas must be a hex quantity, got \"lots\"",
    ),
    "evm_increaseTime": (["-5"], "evm_increaseTime: seconds must be a hex quantity, got \"-5\""),
    "anvil_setBalance": (
        [ACCOUNT, True],
        "anvil_setBalance: balance must be a hex quantity, got true",
    ),
    "debug_traceTransaction": (
        ["0xab"],
        "debug_traceTransaction: hash must be 32 bytes of 0x-prefixed hex, got \"0xab\"",
    ),
    "debug_traceTransaction options": (
        [TRANSACTION_HASH, "fast"],
        "debug_traceTransaction: options must be an object, got \"fast\"",
    ),
    "nr_submitExecutionProof": (
        [12],
        "nr_submitExecutionProof: signedProof must be 0x-prefixed hex bytes, got 12",
    ),
    "eth_call accessList": (
        [{**CALL, "accessList": {"address": ACCOUNT}}],
        "eth_call: call.accessList must be a list of {address, storageKeys} objects,"
        " got {\"address\"",
    ),
    "eth_call accessList key": (
        [{**CALL, "accessList": [{"address": ACCOUNT, "storageKeys": ["0x01"]}]}],
        'eth_call: call.accessList[0].storageKeys must be 32 bytes of 0x-prefixed hex, got "0x01"',
    ),
    "eth_estimateGas accessList address": (
        [{**CALL, "accessList": [{"storageKeys": []}]}],
        "eth_estimateGas: call.accessList[0].address must be 20 bytes of 0x-prefixed hex, got null",
    ),
    "eth_getBalance bad hash": (
        [ACCOUNT, {"blockHash": "0x12"}],
        'eth_getBalance: block must be a block hash, a block number or one of latest,',
    ),
    # Hex is digits 0-9, a-f: not what Python's int() and bytes.fromhex() also take.
    "anvil_setBalance underscore": (
        [ACCOUNT, "0x_1"], "anvil_setBalance: balance must be a hex quantity, got \"0x_1\""
    ),
    "anvil_setBalance space": (
        [ACCOUNT, "0x1 "], "anvil_setBalance: balance must be a hex quantity, got \"0x1 \""
    ),
    "anvil_setBalance other digits": (
        [ACCOUNT, "0x\u0661"], "anvil_setBalance: balance must be a hex quantity, got \"0x\u0661\""
    ),
    "web3_sha3 spaced": (
        ["0xab  cd"], "web3_sha3: data must be 0x-prefixed hex bytes, got \"0xab  cd\""
    ),
    "eth_getTransactionByBlockHashAndIndex": (
        [TRANSACTION_HASH, "1"],
        "eth_getTransactionByBlockHashAndIndex: index must be a hex quantity, got \"1\"",
    ),
}


def assert_invalid_params(response, message):
    assert response["error"]["code"] == -32602, response
    assert response["error"]["message"].startswith(f"invalid params: {message}"), response


@pytest.mark.parametrize("method", EXTRA)
def test_an_extra_parameter_is_named_invalid_params(devnet, method):
    params, message = EXTRA[method]
    assert_invalid_params(answer(devnet, method, *params), message)


@pytest.mark.parametrize("method", MISSING)
def test_a_missing_parameter_is_named_with_what_it_expects(devnet, method):
    params, message = MISSING[method]
    assert_invalid_params(answer(devnet, method, *params), message)


@pytest.mark.parametrize("case", WRONG_TYPE)
def test_a_wrong_typed_parameter_is_named_with_what_it_expects(devnet, case):
    params, message = WRONG_TYPE[case]
    assert_invalid_params(answer(devnet, case.split()[0], *params), message)


def test_a_method_does_not_run_when_its_parameters_are_bad(monkeypatch):
    devnet = Devnet()
    ran = []
    monkeypatch.setattr(devnet, "set_account", lambda *args, **fields: ran.append(fields))
    answer(devnet, "anvil_setBalance", ACCOUNT, "0x1", "0x2")
    answer(devnet, "anvil_setBalance", ACCOUNT, "much")
    assert ran == []
    assert "error" not in answer(devnet, "anvil_setBalance", ACCOUNT, "0x1")
    assert ran == [{"balance": 1}]


def test_an_alias_names_itself_and_null_takes_an_optional_default(devnet):
    assert_invalid_params(
        answer(devnet, "hardhat_setBalance", ACCOUNT),
        "hardhat_setBalance: missing balance",
    )
    assert answer(devnet, "eth_getBalance", ACCOUNT, None)["result"] == hex(10_000 * 10**18)
    assert answer(devnet, "eth_getBlockByNumber", "latest", None)["result"]["number"] == "0x0"


def test_a_huge_bad_value_is_quoted_short(devnet):
    message = answer(devnet, "nr_submitExecutionProof", "zz" * 10_000)["error"]["message"]
    assert len(message) < 200 and message.endswith("...")


def test_disabled_state_edits_are_refused_whatever_their_parameters():
    devnet = Devnet(DevnetConfig(state_edits=False))
    for params in ([], [ACCOUNT, "0x1"], [1, 2, 3, 4]):
        assert answer(devnet, "anvil_setBalance", *params)["error"]["code"] == -32001


def test_a_type_error_inside_the_node_is_an_internal_error(devnet, monkeypatch):
    def broken(*args, **kwargs):
        raise TypeError("head() takes 1 positional argument but 4 were given")

    monkeypatch.setattr(devnet, "head", broken)
    response = answer(devnet, "eth_blockNumber")
    assert response["error"]["code"] == -32603, response
    assert "TypeError" in response["error"]["message"]

    monkeypatch.setattr(devnet, "read_state", broken)
    response = answer(devnet, "eth_getBalance", ACCOUNT)
    assert response["error"]["code"] == -32603, response


def test_methods_answer_in_process_and_over_http():
    devnet = Devnet()
    w3 = devnet.web3()
    recipient = "0x" + "42" * 20
    w3.eth.send_transaction({"from": ACCOUNT, "to": recipient, "value": 7})
    assert w3.eth.get_balance(w3.to_checksum_address(recipient)) == 7
    port, http = serve_in_thread(devnet)
    assert http.eth.get_balance(http.to_checksum_address(recipient)) == 7
    assert http.eth.block_number == 1
    body = json.dumps(
        {"jsonrpc": "2.0", "id": 3, "method": "eth_getBalance", "params": ["zz"]}
    ).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request) as response:
        error = json.loads(response.read())["error"]
    assert error["code"] == -32602
    assert "eth_getBalance: address must be 20 bytes" in error["message"]


@pytest.mark.parametrize(
    "method, params",
    [
        ("eth_sendTransaction", [{"from": ACCOUNT, "to": ACCOUNT, "value": "0x1"}]),
        ("eth_call", [{"from": ACCOUNT, "to": ACCOUNT, "value": "0x1"}, "latest"]),
        ("eth_estimateGas", [{"from": ACCOUNT, "to": ACCOUNT, "value": "0x1"}]),
        ("eth_createAccessList", [{"from": ACCOUNT, "to": ACCOUNT, "value": "0x1"}]),
    ],
)
def test_a_request_for_another_chain_is_refused(method, params):
    """As geth: a chainId that is not the node's is refused (web3.py's check, node-side)."""
    devnet = Devnet()
    chain_id = devnet.chain_id
    pending = devnet.pool.pending
    wrong = answer(devnet, method, {**params[0], "chainId": hex(chain_id + 1)}, *params[1:])
    assert wrong["error"]["message"] == (
        f"chainId {chain_id + 1} is not this chain's ({chain_id}): the request is meant for"
        " another chain"
    )
    assert devnet.pool.pending == pending and devnet.block_number("latest") == 0
    right = answer(devnet, method, {**params[0], "chainId": hex(chain_id)}, *params[1:])
    assert "result" in right
