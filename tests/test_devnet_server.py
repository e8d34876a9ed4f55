"""``nr devnet`` over real sockets: HTTP and WebSocket on one port, subscriptions, the CLI."""

import asyncio
import json
import socket
import subprocess
import sys
import time

import pytest
import websockets
from web3 import Web3

from l1.node import Devnet
from l1.rpc import Dispatcher

from chains import free_port, serve_in_thread, start_devnet_process


@pytest.fixture(scope="module")
def endpoint():
    port, _ = serve_in_thread(Devnet())
    return port


def test_http_json_rpc_with_web3(endpoint):
    w3 = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{endpoint}"))
    assert w3.is_connected() and w3.eth.chain_id == 31337
    sender, recipient = w3.eth.accounts[:2]
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_transaction({"from": sender, "to": recipient, "value": 3})
    )
    assert receipt.status == 1


def test_malformed_requests_get_errors_and_the_node_keeps_serving(endpoint):
    import urllib.request

    def post(body: bytes):
        request = urllib.request.Request(
            f"http://127.0.0.1:{endpoint}", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request) as response:
            return json.loads(response.read())

    assert post(b"{oops")["error"]["code"] == -32700
    assert post(b'{"jsonrpc":"2.0","id":1,"method":"nope"}')["error"]["code"] == -32601
    assert (
        post(b'{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":[1]}')["error"]["code"]
        == -32602
    )
    assert (
        post(b'{"jsonrpc":"2.0","id":7,"method":"eth_chainId","params":[]}')["result"] == "0x7a69"
    )


def test_websocket_calls_and_new_heads_subscription(endpoint):
    async def scenario():
        async with websockets.connect(f"ws://127.0.0.1:{endpoint}") as ws:
            await ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}))
            assert json.loads(await ws.recv())["result"] == "0x7a69"
            await ws.send(
                json.dumps(
                    {"jsonrpc": "2.0", "id": 2, "method": "eth_subscribe", "params": ["newHeads"]}
                )
            )
            subscription = json.loads(await ws.recv())["result"]
            w3 = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{endpoint}"))
            number = w3.eth.block_number
            w3.provider.make_request("evm_mine", [])
            note = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert note["method"] == "eth_subscription"
            assert note["params"]["subscription"] == subscription
            assert int(note["params"]["result"]["number"], 16) == number + 1
            bad = {"jsonrpc": "2.0", "id": 3, "method": "eth_subscribe", "params": ["nonsense"]}
            await ws.send(json.dumps(bad))
            assert json.loads(await ws.recv())["error"]["code"] == -32602

    asyncio.run(scenario())


def nr(*args, timeout=60):
    return subprocess.run(
        [sys.executable, "-m", "nr.cli", *args], capture_output=True, text=True, timeout=timeout
    )


def test_cli_prints_what_anvil_prints_and_serves():
    port = free_port()
    process, w3 = start_devnet_process(port, "--accounts", "3", stdout=subprocess.PIPE, text=True)
    try:
        assert len(w3.eth.accounts) == 3
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert "(0) 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266 (10000.000000000000000000 ETH)" in output
    assert "(0) 0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80" in output
    assert "(3)" not in output and f"Listening on 127.0.0.1:{port}" in output


def test_cli_rejects_bad_flags_clearly():
    bad_mnemonic = nr("devnet", "--mnemonic", "definitely not words", "--port", str(free_port()))
    assert bad_mnemonic.returncode == 2 and "invalid mnemonic" in bad_mnemonic.stderr
    bad_port = nr("devnet", "--port", "70000")
    assert bad_port.returncode == 2 and "port must be at most 65535" in bad_port.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = nr("devnet", "--silent", "--port", str(taken.getsockname()[1]))
    assert busy.returncode == 1 and "cannot listen on" in busy.stderr


def test_block_time_mines_on_an_interval_and_queues_transactions():
    from l1.node import DevnetConfig

    devnet = Devnet(DevnetConfig(block_time=0.3))
    _, w3 = serve_in_thread(devnet)
    tx_hash = w3.eth.send_transaction(
        {"from": w3.eth.accounts[0], "to": w3.eth.accounts[1], "value": 1}
    )
    assert devnet.locations.get(bytes(tx_hash)) is None  # queued, not mined at once
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=10)
    assert receipt.status == 1
    time.sleep(1.0)
    assert w3.eth.block_number >= 3


def test_interval_mining_can_be_switched_on_and_off():
    _, w3 = serve_in_thread(Devnet())
    time.sleep(0.6)
    assert w3.eth.block_number == 0  # automine: no empty blocks on a timer
    assert "error" not in w3.provider.make_request("evm_setIntervalMining", [0.2])
    time.sleep(1.2)
    assert w3.eth.block_number >= 3
    w3.provider.make_request("evm_setIntervalMining", [0])
    time.sleep(0.5)
    stopped_at = w3.eth.block_number
    time.sleep(0.8)
    assert w3.eth.block_number == stopped_at
    assert w3.provider.make_request("evm_setIntervalMining", ["x"])["error"]["code"] == -32602


def test_a_transaction_is_answered_over_http_before_its_slow_block_and_its_receipt_waits():
    devnet = Devnet()
    port, w3 = serve_in_thread(devnet)
    build_next = devnet.miner.build_next

    def slow_block(timestamp):
        time.sleep(1.0)
        return build_next(timestamp)

    devnet.miner.build_next = slow_block
    started = time.perf_counter()
    tx_hash = w3.eth.send_transaction(
        {"from": w3.eth.accounts[0], "to": w3.eth.accounts[1], "value": 5}
    )
    answered = time.perf_counter() - started
    receipt = w3.eth.get_transaction_receipt(tx_hash)  # no polling: it must be there when answered
    received = time.perf_counter() - started
    assert answered < 0.5 <= 1.0 <= received
    assert receipt["status"] == 1 and receipt["blockNumber"] == 1


def test_a_quick_read_never_sees_a_block_being_mined():
    """
    Quick reads are answered on the server's loop only when the node's lock is
    free; while another thread holds it (a block being mined), they wait for it
    like every other request, over HTTP and WebSocket, and see the finished block.
    """
    import threading

    devnet = Devnet()
    port, w3 = serve_in_thread(devnet)
    sender = w3.eth.accounts[0]
    assert w3.eth.block_number == 0
    mined = threading.Event()

    def mine_slowly():
        with devnet.lock:
            mined.set()
            time.sleep(0.5)
            devnet.mine()

    threading.Thread(target=mine_slowly).start()
    mined.wait(5)
    assert w3.eth.block_number == 1  # asked mid-block: answered after it
    assert w3.eth.get_transaction_count(sender, "pending") == 0

    async def over_websocket():
        async with websockets.connect(f"ws://127.0.0.1:{port}") as ws:
            mined.clear()
            threading.Thread(target=mine_slowly).start()
            await asyncio.get_running_loop().run_in_executor(None, mined.wait, 5)
            await ws.send(json.dumps({"jsonrpc": "2.0", "id": 7, "method": "eth_blockNumber"}))
            return json.loads(await ws.recv())

    assert asyncio.run(over_websocket()) == {"jsonrpc": "2.0", "id": 7, "result": "0x2"}


def test_the_chain_id_is_answered_on_the_loop_while_a_block_is_being_mined():
    """
    What depends on no block (web3.py asks the chain id twice before each
    transaction it sends) is answered on the server's loop even while a block
    holds the node's lock, without a hop to a thread that would wait for the
    interpreter behind the miner; a read of the chain waits for the block.
    """
    import threading

    devnet = Devnet()
    dispatcher = Dispatcher(devnet)
    holding, release = threading.Event(), threading.Event()

    def hold_the_lock():
        with devnet.lock:
            holding.set()
            release.wait(10)

    threading.Thread(target=hold_the_lock).start()
    holding.wait(5)
    try:
        for method, answer in [("eth_chainId", "0x7a69"), ("net_version", "31337")]:
            request = {"jsonrpc": "2.0", "id": 1, "method": method, "params": []}
            assert json.loads(dispatcher.answer_at_once(request))["result"] == answer
        block_number = {"jsonrpc": "2.0", "id": 2, "method": "eth_blockNumber", "params": []}
        assert dispatcher.answer_at_once(block_number) is None
    finally:
        release.set()


@pytest.mark.parametrize(
    "signed_by_client, gas, on_the_loop",
    [(True, 21_000, True), (True, 200_000, False), (False, 21_000, False)],
    ids=["small raw send: loop", "large raw send: thread", "eth_sendTransaction: thread"],
)
def test_a_send_is_answered_before_its_slow_block_and_its_receipt_waits(
    signed_by_client, gas, on_the_loop
):
    """
    A small signed transaction (at most SMALL_SEND_GAS, nothing else pending,
    the node free) is accepted and its block mined on the server's loop, any
    other send on a thread: either way the hash is answered before the block
    is mined, and a receipt asked for next waits for that block.
    """
    import threading

    from eth_account import Account

    devnet = Devnet()
    port, w3 = serve_in_thread(devnet)
    build_next, mined_on = devnet.miner.build_next, []

    def slow_block(timestamp):
        mined_on.append(threading.current_thread().name)
        time.sleep(1.0)
        return build_next(timestamp)

    devnet.miner.build_next = slow_block
    sender, recipient = w3.eth.accounts[:2]
    transfer = {"from": sender, "to": recipient, "value": 5, "gas": gas}
    if signed_by_client:
        fields = {**transfer, "nonce": 0, "chainId": 31337, "gasPrice": 2 * 10**9}
        del fields["from"]
        signed = Account.sign_transaction(fields, devnet.accounts[0].private_key)
    started = time.perf_counter()
    if signed_by_client:
        tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    else:
        tx_hash = w3.eth.send_transaction(transfer)
    answered = time.perf_counter() - started
    receipt = w3.eth.get_transaction_receipt(tx_hash)  # no polling: it must be there when answered
    received = time.perf_counter() - started
    assert answered < 0.5 <= 1.0 <= received
    assert receipt["status"] == 1 and receipt["blockNumber"] == 1
    assert (not mined_on[0].startswith("asyncio_")) == on_the_loop, mined_on


def test_a_small_send_whose_block_fails_leaves_the_node_answering_and_the_send_pending():
    """A block mined on the loop that fails lets go of the node's lock; its transaction waits."""
    from eth_account import Account

    devnet = Devnet()
    port, w3 = serve_in_thread(devnet)
    build_next = devnet.miner.build_next

    def failing_once(timestamp):
        devnet.miner.build_next = build_next
        raise RuntimeError("the block could not be built")

    devnet.miner.build_next = failing_once
    recipient = w3.eth.accounts[1]

    def transfer(nonce):
        fields = {"to": recipient, "value": 1, "gas": 21_000, "gasPrice": 2 * 10**9}
        fields.update(nonce=nonce, chainId=31337)
        raw = Account.sign_transaction(fields, devnet.accounts[0].private_key).raw_transaction
        return w3.eth.send_raw_transaction(raw)

    first = transfer(0)
    assert w3.eth.block_number == 0  # answered: the lock was let go of after the failure
    assert w3.provider.make_request("txpool_status", [])["result"]["pending"] == "0x1"
    second = transfer(1)
    assert w3.eth.get_transaction_receipt(first)["blockNumber"] == 1
    assert w3.eth.get_transaction_receipt(second)["blockNumber"] == 1


def test_the_gas_a_raw_send_asks_for_is_read_from_every_transaction_type():
    from eth_account import Account

    from l1.rpc.dispatch import raw_transaction_gas

    key = "0x" + "11" * 32
    base = {"chainId": 31337, "nonce": 0, "to": "0x" + "22" * 20, "value": 1}
    fees = {"maxFeePerGas": 10**9, "maxPriorityFeePerGas": 1}
    authorization = Account.sign_authorization(
        {"chainId": 31337, "address": "0x" + "33" * 20, "nonce": 1}, key
    )
    transactions = [
        {**base, "gas": 21_001, "gasPrice": 10**9},
        {**base, "gas": 21_002, "gasPrice": 10**9, "accessList": []},
        {**base, "gas": 21_003, **fees},
        {**base, "gas": 21_004, **fees, "authorizationList": [authorization]},
    ]
    for transaction in transactions:
        raw = Account.sign_transaction(transaction, key).raw_transaction
        request = {"method": "eth_sendRawTransaction", "params": ["0x" + raw.hex()]}
        assert raw_transaction_gas(request) == transaction["gas"]
    for unreadable in [
        {"method": "eth_sendTransaction", "params": [{"gas": "0x5208"}]},
        {"method": "eth_sendRawTransaction", "params": ["0x01"]},
        {"method": "eth_sendRawTransaction", "params": ["not hex"]},
        {"method": "eth_call", "params": [{"gas": "0x5208"}]},
        {"method": "eth_sendRawTransaction"},
    ]:
        assert raw_transaction_gas(unreadable) is None


def test_nothing_is_answered_on_the_loop_between_a_small_send_and_its_block():
    """
    The loop's thread holds the node's (reentrant) lock from accepting a small
    send until its block is mined: a quick read or another small send arriving
    in between (a pipelined request; on Python 3.12 aiohttp runs the next one
    before the loop's other callbacks) goes the usual way, to wait for the
    block, instead of being answered from the state before it.
    """
    from eth_account import Account

    devnet = Devnet()
    dispatcher = Dispatcher(devnet)
    key, recipient = devnet.accounts[0].private_key, devnet.accounts[1].checksum_address

    def raw_send(nonce):
        fields = {"to": recipient, "value": 1, "gas": 21_000, "gasPrice": 2 * 10**9}
        signed = Account.sign_transaction({**fields, "nonce": nonce, "chainId": 31337}, key)
        params = ["0x" + signed.raw_transaction.hex()]
        return {"jsonrpc": "2.0", "id": 1, "method": "eth_sendRawTransaction", "params": params}

    response, mine_and_let_go = dispatcher.accept_small_send_at_once(raw_send(0))
    tx_hash = json.loads(response)["result"]
    receipt = {"jsonrpc": "2.0", "id": 2, "method": "eth_getTransactionReceipt"}
    receipt["params"] = [tx_hash]
    assert dispatcher.answer_at_once(receipt) is None
    assert dispatcher.answer_at_once({**receipt, "method": "eth_blockNumber", "params": []}) is None
    assert dispatcher.accept_small_send_at_once(raw_send(1)) is None
    chain_id = {"jsonrpc": "2.0", "id": 3, "method": "eth_chainId", "params": []}
    assert json.loads(dispatcher.answer_at_once(chain_id))["result"] == "0x7a69"
    mine_and_let_go()
    assert json.loads(dispatcher.answer_at_once(receipt))["result"]["blockNumber"] == "0x1"
    response, mine_and_let_go = dispatcher.accept_small_send_at_once(raw_send(1))
    mine_and_let_go()
    assert devnet.head().block_number == 2


def test_a_pipelined_small_send_and_receipt_get_the_mined_receipt():
    """Two requests in one write: the receipt is the mined one, on any Python."""
    from eth_account import Account

    devnet = Devnet()
    port, w3 = serve_in_thread(devnet)
    fields = {"to": w3.eth.accounts[1], "value": 1, "gas": 21_000, "gasPrice": 2 * 10**9}
    signed = Account.sign_transaction(
        {**fields, "nonce": 0, "chainId": 31337}, devnet.accounts[0].private_key
    )

    def http_request(body):
        encoded = json.dumps(body).encode()
        head = "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        return f"{head}Content-Length: {len(encoded)}\r\n\r\n".encode() + encoded

    send = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "eth_sendRawTransaction",
        "params": ["0x" + signed.raw_transaction.hex()],
    }
    receipt = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "eth_getTransactionReceipt",
        "params": ["0x" + signed.hash.hex()],
    }
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(http_request(send) + http_request(receipt))
        received = b""
        while received.count(b'"jsonrpc"') < 2:
            received += connection.recv(65536)
    bodies = [json.loads(part[: part.rindex(b"}") + 1]) for part in received.split(b"\r\n\r\n")[1:]]
    assert bodies[0]["result"] == "0x" + signed.hash.hex()
    assert bodies[1]["result"]["blockNumber"] == "0x1"
