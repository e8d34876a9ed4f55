"""
Load: 8 concurrent clients send transactions over HTTP; none is lost. The
default suite sends 400 (a block each under automine); the slow run 2000.
"""

from concurrent.futures import ThreadPoolExecutor

import pytest
from eth_account import Account
from web3 import Web3

from l1.node import Devnet

from chains import serve_in_thread

CLIENTS = 8
SINK = "0x000000000000000000000000000000000000dEaD"


@pytest.fixture
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


@pytest.mark.parametrize(
    "per_client", [50, pytest.param(250, marks=pytest.mark.slow)], ids=["400", "2000"]
)
def test_eight_concurrent_clients_lose_no_transaction(node, per_client):
    devnet, url = node
    keys = [account.private_key for account in devnet.accounts[:CLIENTS]]
    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(lambda key: client(url, key, per_client), keys))
    w3 = Web3(Web3.HTTPProvider(url))
    all_hashes = [h for _, hashes in results for h in hashes]
    assert len(set(all_hashes)) == CLIENTS * per_client
    spent = 0
    for address, hashes in results:
        assert w3.eth.get_transaction_count(address) == per_client
        receipts = [w3.eth.get_transaction_receipt(h) for h in hashes]
        assert all(r.status == 1 for r in receipts)
        nonces = [w3.eth.get_transaction(h)["nonce"] for h in hashes]
        assert nonces == list(range(per_client))
        fees = sum(r.gasUsed * r.effectiveGasPrice for r in receipts)
        value = sum(range(1, per_client + 1))
        assert w3.eth.get_balance(address) == 10_000 * 10**18 - fees - value
        spent += value
    assert w3.eth.get_balance(SINK) == spent
