"""
The anvil methods a rollup engineer reaches for beyond the basics: block
receipts, signing, sync and blob fee, the transaction pool's contents and
the controls of the next blocks; each with its bad requests named.
"""

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

from l1.node import Devnet
from l1.rpc import Dispatcher

ACCOUNT = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
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
