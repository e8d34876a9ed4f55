"""
The anvil methods a rollup engineer reaches for beyond the basics: block
receipts, signing, sync and blob fee, the transaction pool's contents and
the controls of the next blocks; each with its bad requests named.
"""

import json
import urllib.request

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import ValidationError

from l1.accounts import derive_accounts
from l1.builder import build_block
from l1.node import Devnet, DevnetConfig
from l1.rpc import Dispatcher
from precompile.forks import Prague

from chains import serve_in_thread

ACCOUNT = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
KEY = derive_accounts(count=1)[0].private_key
RECIPIENT = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
STRANGER = "0x" + "77" * 20
UNKNOWN_HASH = "0x" + "11" * 32


@pytest.fixture
def devnet():
    with Devnet() as node:
        yield node


def answer(node, method, *params):
    return Dispatcher(node).handle(
        {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
    )


def rpc(node, method, *params):
    response = answer(node, method, *params)
    assert "error" not in response, response
    return response["result"]


def assert_invalid_params(node, method, params, message):
    response = answer(node, method, *params)
    assert response["error"]["code"] == -32602, response
    assert response["error"]["message"].startswith(f"invalid params: {message}"), response


def transfer(node, value=1, **fields):
    request = {"from": ACCOUNT, "to": RECIPIENT, "value": hex(value), **fields}
    return rpc(node, "eth_sendTransaction", request)


# -- eth_ --


def test_block_receipts_by_number_tag_and_hash(devnet):
    rpc(devnet, "evm_setAutomine", False)
    hashes = [transfer(devnet, value) for value in (1, 2)]
    rpc(devnet, "evm_mine")
    block = rpc(devnet, "eth_getBlockByNumber", "latest", False)
    by_tag = rpc(devnet, "eth_getBlockReceipts", "latest")
    assert [receipt["transactionHash"] for receipt in by_tag] == hashes
    assert by_tag == [rpc(devnet, "eth_getTransactionReceipt", h) for h in hashes]
    assert rpc(devnet, "eth_getBlockReceipts", block["hash"]) == by_tag
    assert rpc(devnet, "eth_getBlockReceipts", {"blockHash": block["hash"]}) == by_tag
    assert rpc(devnet, "eth_getBlockReceipts", "0x1") == by_tag
    assert rpc(devnet, "eth_getBlockReceipts", "earliest") == []
    # A block this node does not have is null, as anvil and geth answer.
    assert rpc(devnet, "eth_getBlockReceipts", "0x2") is None
    assert rpc(devnet, "eth_getBlockReceipts", UNKNOWN_HASH) is None
    assert_invalid_params(
        devnet, "eth_getBlockReceipts", ["soon"], "eth_getBlockReceipts: block must be a block hash"
    )
    assert_invalid_params(devnet, "eth_getBlockReceipts", [], "eth_getBlockReceipts: missing block")


def test_mined_transactions_carry_their_blocks_timestamp(devnet):
    mined = transfer(devnet)
    block = rpc(devnet, "eth_getBlockByNumber", "latest", True)
    assert block["transactions"][0]["blockTimestamp"] == block["timestamp"]
    assert rpc(devnet, "eth_getTransactionByHash", mined)["blockTimestamp"] == block["timestamp"]


def test_eth_sign_is_an_eip191_signature_by_the_account(devnet):
    message = b"native rollups"
    signature = rpc(devnet, "eth_sign", ACCOUNT, "0x" + message.hex())
    recovered = Account.recover_message(encode_defunct(message), signature=signature)
    assert recovered == ACCOUNT
    assert rpc(devnet, "personal_sign", "0x" + message.hex(), ACCOUNT) == signature
    assert int(signature[-2:], 16) in (27, 28)


def test_eth_sign_refuses_an_address_without_a_key_and_bad_messages(devnet):
    assert_invalid_params(devnet, "eth_sign", [STRANGER, "0x00"], f"address {STRANGER} is not one")
    assert_invalid_params(
        devnet, "eth_sign", [ACCOUNT, "hello"], "eth_sign: message must be 0x-prefixed hex bytes"
    )
    assert_invalid_params(devnet, "eth_sign", [ACCOUNT], "eth_sign: missing message")
    assert_invalid_params(devnet, "personal_sign", ["0x00", "me"], "personal_sign: address must be")


def test_a_devnet_is_never_syncing_and_blobs_cost_the_minimum(devnet):
    assert rpc(devnet, "eth_syncing") is False
    assert rpc(devnet, "eth_blobBaseFee") == "0x1"
    assert_invalid_params(devnet, "eth_syncing", [1], "eth_syncing takes no parameters, got 1")
    assert_invalid_params(devnet, "eth_blobBaseFee", [1], "eth_blobBaseFee takes no parameters")


# -- txpool_ --


def test_the_pool_splits_pending_from_queued_behind_a_nonce_gap(devnet):
    rpc(devnet, "evm_setAutomine", False)
    fees = {"maxFeePerGas": hex(3 * 10**9), "maxPriorityFeePerGas": hex(10**9)}
    first = transfer(devnet, 1, nonce="0x0", **fees)
    gapped = transfer(devnet, 2, nonce="0x2", **fees)
    assert rpc(devnet, "txpool_status") == {"pending": "0x1", "queued": "0x1"}
    content = rpc(devnet, "txpool_content")
    pending = content["pending"][ACCOUNT]["0"]
    assert pending["hash"] == first and pending["blockHash"] is None
    assert pending["gasPrice"] == pending["maxFeePerGas"] == hex(3 * 10**9)
    assert "blockTimestamp" not in pending
    assert content["queued"][ACCOUNT]["2"]["hash"] == gapped
    assert rpc(devnet, "txpool_inspect")["queued"][ACCOUNT] == {
        "2": f"{RECIPIENT}: 2 wei + 21000 gas × 3000000000 wei"
    }
    transfer(devnet, 3, nonce="0x1", **fees)
    assert rpc(devnet, "txpool_status") == {"pending": "0x3", "queued": "0x0"}
    rpc(devnet, "evm_mine")
    assert rpc(devnet, "txpool_content") == {"pending": {}, "queued": {}}


def test_dropping_a_pending_transaction_forgets_it_once(devnet):
    rpc(devnet, "evm_setAutomine", False)
    first, second = transfer(devnet, 1), transfer(devnet, 2)
    assert rpc(devnet, "anvil_dropTransaction", first) == first
    assert rpc(devnet, "anvil_dropTransaction", first) is None
    assert rpc(devnet, "hardhat_dropTransaction", UNKNOWN_HASH) is None
    # What the dropped one's sender sent after it now waits behind its nonce.
    assert rpc(devnet, "txpool_status") == {"pending": "0x0", "queued": "0x1"}
    rpc(devnet, "evm_mine")
    assert rpc(devnet, "eth_getTransactionReceipt", first) is None
    assert rpc(devnet, "eth_getTransactionByHash", first) is None
    # Still queued, not mined: found by its hash without a block, as anvil shows it.
    assert rpc(devnet, "eth_getTransactionByHash", second)["blockNumber"] is None
    assert rpc(devnet, "eth_getTransactionReceipt", second) is None
    rpc(devnet, "anvil_dropAllTransactions")
    assert rpc(devnet, "txpool_status") == {"pending": "0x0", "queued": "0x0"}
    assert rpc(devnet, "eth_getTransactionByHash", second) is None
    assert_invalid_params(
        devnet, "anvil_dropTransaction", ["0xab"], "anvil_dropTransaction: hash must be 32 bytes"
    )


# -- the next blocks' headers --


def test_the_coinbase_names_the_blocks_fee_recipient(devnet):
    rpc(devnet, "anvil_setCoinbase", STRANGER)
    assert rpc(devnet, "eth_coinbase").lower() == STRANGER
    receipt = rpc(devnet, "eth_getTransactionReceipt", transfer(devnet))
    block = rpc(devnet, "eth_getBlockByNumber", "latest", False)
    assert block["miner"].lower() == STRANGER
    base_fee = int(block["baseFeePerGas"], 16)
    tip = int(receipt["effectiveGasPrice"], 16) - base_fee
    assert int(rpc(devnet, "eth_getBalance", STRANGER), 16) == tip * int(receipt["gasUsed"], 16)
    assert_invalid_params(devnet, "anvil_setCoinbase", ["0x12"], "anvil_setCoinbase: address must")


def test_the_next_base_fee_is_set_for_one_block_then_follows_eip_1559(devnet):
    rpc(devnet, "anvil_setNextBlockBaseFeePerGas", hex(50 * 10**9))
    assert int(rpc(devnet, "eth_gasPrice"), 16) > 50 * 10**9
    assert rpc(devnet, "anvil_nodeInfo")["environment"]["baseFee"] == str(50 * 10**9)
    # Filled in for the next block, the fee cap covers the base fee set.
    receipt = rpc(devnet, "eth_getTransactionReceipt", transfer(devnet))
    assert int(receipt["effectiveGasPrice"], 16) == 50 * 10**9 + 10**9
    assert rpc(devnet, "eth_getBlockByNumber", "latest", False)["baseFeePerGas"] == hex(50 * 10**9)
    rpc(devnet, "anvil_setNextBlockBaseFeePerGas", hex(50 * 10**9))
    rpc(devnet, "evm_mine")
    rpc(devnet, "evm_mine")
    # After an empty block the base fee falls by an eighth (EIP-1559's largest step).
    expected = 50 * 10**9 - 50 * 10**9 // 8
    assert rpc(devnet, "eth_getBlockByNumber", "latest", False)["baseFeePerGas"] == hex(expected)
    assert_invalid_params(
        devnet, "anvil_setNextBlockBaseFeePerGas", [-1], "anvil_setNextBlockBaseFeePerGas: baseFee"
    )
    assert_invalid_params(
        devnet, "anvil_setNextBlockBaseFeePerGas", [hex(2**256)],
        "anvil_setNextBlockBaseFeePerGas: baseFee must be a hex quantity of at most 256 bits",
    )


def test_the_block_gas_limit_holds_from_the_next_block(devnet):
    assert rpc(devnet, "evm_setBlockGasLimit", hex(1_000_000)) is True
    rpc(devnet, "evm_mine")
    assert rpc(devnet, "eth_getBlockByNumber", "latest", False)["gasLimit"] == hex(1_000_000)
    assert rpc(devnet, "anvil_nodeInfo")["environment"]["gasLimit"] == "1000000"
    too_much = {"from": ACCOUNT, "to": RECIPIENT, "gas": hex(1_000_001)}
    response = answer(devnet, "eth_sendTransaction", too_much)
    assert "exceeds block gas limit" in response["error"]["message"]
    rpc(devnet, "anvil_setBlockGasLimit", hex(30_000_000))
    transfer(devnet)
    assert rpc(devnet, "eth_getBlockByNumber", "latest", False)["gasLimit"] == hex(30_000_000)
    assert_invalid_params(
        devnet, "evm_setBlockGasLimit", ["0x10"], "a block gas limit must be from 5000 to"
    )
    assert_invalid_params(
        devnet, "evm_setBlockGasLimit", ["lots"], "evm_setBlockGasLimit: gasLimit must be a hex"
    )


def signed_transfer(chain_id: int, nonce: int) -> str:
    transaction = Account.from_key(KEY).sign_transaction({
        "chainId": chain_id, "nonce": nonce, "to": RECIPIENT, "value": 1, "gas": 21_000,
        "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 0,
    })
    return "0x" + bytes(transaction.raw_transaction).hex()


def test_a_new_chain_id_holds_for_signatures_and_chainid_from_then_on(devnet):
    rpc(devnet, "evm_setAutomine", False)
    pending = rpc(devnet, "eth_sendRawTransaction", signed_transfer(31337, 0))
    assert rpc(devnet, "anvil_setChainId", 4242) is None
    assert rpc(devnet, "eth_chainId") == hex(4242) and rpc(devnet, "net_version") == "4242"
    # What was signed for the old id can never be mined now: dropped, with the reason.
    assert rpc(devnet, "txpool_status") == {"pending": "0x0", "queued": "0x0"}
    assert "the chain id is now 4242" in devnet.pool.dropped[bytes.fromhex(pending[2:])]
    refused = answer(devnet, "eth_sendRawTransaction", signed_transfer(31337, 0))
    assert "invalid chain id 31337, this chain is 4242" in refused["error"]["message"]
    rpc(devnet, "eth_sendRawTransaction", signed_transfer(4242, 0))
    rpc(devnet, "evm_mine")
    assert rpc(devnet, "eth_getTransactionCount", ACCOUNT, "latest") == "0x1"
    assert rpc(devnet, "eth_call", {"data": "0x4660005260206000f3"}, "latest") == "0x" + (
        4242).to_bytes(32, "big").hex()
    # A node-signed transaction is signed for the new id.
    rpc(devnet, "eth_sendTransaction", {"from": ACCOUNT, "to": RECIPIENT, "value": "0x1"})
    rpc(devnet, "evm_mine")
    assert rpc(devnet, "eth_getTransactionCount", ACCOUNT, "latest") == "0x2"
    assert_invalid_params(devnet, "anvil_setChainId", [0], "a chain id must be from 1 to")
    assert_invalid_params(devnet, "hardhat_setChainId", [2**63], "a chain id must be from 1 to")
    assert rpc(devnet, "eth_chainId") == hex(4242)


def test_auto_impersonation_lets_any_address_send_until_turned_off(devnet):
    rpc(devnet, "anvil_setBalance", STRANGER, hex(10**18))
    request = {"from": STRANGER, "to": RECIPIENT, "value": "0x5"}
    assert_invalid_params(devnet, "eth_sendTransaction", [request], "no key for sender")
    rpc(devnet, "anvil_autoImpersonateAccount", True)
    sent = rpc(devnet, "eth_sendTransaction", request)
    assert rpc(devnet, "eth_getTransactionReceipt", sent)["from"].lower() == STRANGER
    rpc(devnet, "hardhat_autoImpersonateAccount", False)
    assert_invalid_params(devnet, "eth_sendTransaction", [request], "no key for sender")
    assert_invalid_params(
        devnet, "anvil_autoImpersonateAccount", ["yes"], "anvil_autoImpersonateAccount: enabled"
    )


def test_an_l2_node_keeps_its_headers_provable():
    """Header controls and impersonation are state edits: an L2 refuses them, its rules hold."""
    l2 = Devnet(DevnetConfig(vm_class=Prague, state_edits=False))
    for method, params in (
        ("evm_setBlockGasLimit", [hex(10**6)]),
        ("anvil_setNextBlockBaseFeePerGas", ["0x1"]),
        ("anvil_autoImpersonateAccount", [True]),
        ("anvil_setChainId", [4242]),
    ):
        assert answer(l2, method, *params)["error"]["code"] == -32001
    with pytest.raises(ValidationError, match="base fee"):
        build_block(l2.chain, [], base_fee_per_gas=1)
    transfer(l2)
    assert rpc(l2, "txpool_status") == {"pending": "0x0", "queued": "0x0"}


# -- the transport --


def post(port, body):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}", data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        return response.status, response.read()


def test_notifications_over_http_are_answered_204_with_no_body(devnet):
    port, _ = serve_in_thread(devnet)
    notification = {"jsonrpc": "2.0", "method": "eth_blockNumber", "params": []}
    assert post(port, notification) == (204, b"")
    assert post(port, [notification, notification]) == (204, b"")
    status, body = post(port, {**notification, "id": None})
    assert status == 200 and json.loads(body)["result"] == "0x0"
    status, body = post(port, [notification, {**notification, "id": 7}])
    assert status == 200 and [answer["id"] for answer in json.loads(body)] == [7]


NO_PARAMETERS = (
    "eth_coinbase",
    "txpool_status",
    "txpool_content",
    "txpool_inspect",
    "anvil_dropAllTransactions",
)


@pytest.mark.parametrize("method", NO_PARAMETERS)
def test_a_method_without_parameters_refuses_one(devnet, method):
    assert_invalid_params(devnet, method, ["0x1"], f"{method} takes no parameters, got 1")


def test_a_missing_control_value_is_named(devnet):
    assert_invalid_params(devnet, "anvil_setCoinbase", [], "anvil_setCoinbase: missing address")
    assert_invalid_params(
        devnet, "evm_setBlockGasLimit", [], "evm_setBlockGasLimit: missing gasLimit (a hex"
    )
    assert_invalid_params(
        devnet, "anvil_autoImpersonateAccount", [], "anvil_autoImpersonateAccount: missing enabled"
    )
