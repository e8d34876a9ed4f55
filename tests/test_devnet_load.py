"""Load: 8 concurrent clients send 2000 transactions over HTTP; none is lost."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from eth_account import Account
from web3 import Web3

from l1.node import Devnet

from chains import serve_in_thread

CLIENTS = 8
PER_CLIENT = 250
SINK = "0x000000000000000000000000000000000000dEaD"


@pytest.fixture(scope="module")
def node():
    devnet = Devnet()
    port, _ = serve_in_thread(devnet)
    return devnet, f"http://127.0.0.1:{port}"


def client(url, private_key, count):
    w3 = Web3(Web3.HTTPProvider(url))
    account = Account.from_key(private_key)
    hashes = []
    for nonce in range(count):
        signed = account.sign_transaction(
            {
                "chainId": 31337,
                "nonce": nonce,
                "to": SINK,
                "value": nonce + 1,
                "gas": 21_000,
                "maxFeePerGas": 50 * 10**9,
                "maxPriorityFeePerGas": 10**9,
            }
        )
        hashes.append(w3.eth.send_raw_transaction(signed.raw_transaction))
    return account.address, hashes


def test_eight_clients_two_thousand_transactions_none_lost(node):
    devnet, url = node
    keys = [account.private_key for account in devnet.accounts[:CLIENTS]]
    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(lambda key: client(url, key, PER_CLIENT), keys))
    w3 = Web3(Web3.HTTPProvider(url))
    all_hashes = [h for _, hashes in results for h in hashes]
    assert len(set(all_hashes)) == CLIENTS * PER_CLIENT
    spent = 0
    for address, hashes in results:
        assert w3.eth.get_transaction_count(address) == PER_CLIENT
        receipts = [w3.eth.get_transaction_receipt(h) for h in hashes]
        assert all(r.status == 1 for r in receipts)
        nonces = [w3.eth.get_transaction(h)["nonce"] for h in hashes]
        assert nonces == list(range(PER_CLIENT))
        fees = sum(r.gasUsed * r.effectiveGasPrice for r in receipts)
        value = sum(range(1, PER_CLIENT + 1))
        assert w3.eth.get_balance(address) == 10_000 * 10**18 - fees - value
        spent += value
    assert w3.eth.get_balance(SINK) == spent
