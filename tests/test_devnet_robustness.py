"""
Attacks on a running node, each reproduced against an earlier version of it:
after each, the node still answers, still mines, and lost no transaction it
accepted. Bounded in count and time; loopback only.
"""

import asyncio
import gzip
import json
import subprocess
import sys
import threading
import time
import urllib.request

import pytest
import websockets
from eth_account import Account
from web3 import Web3

from l1.filters import InstalledFilters
from l1.interface import InvalidArgument, InvalidState, LimitReached, TimedOut
from l1.node import Devnet, DevnetConfig, persistence
from l1.node.clock import LATEST_SETTABLE_TIME
from l1.node.persistence import decompress_bounded
from l1.rpc import MAX_NESTING_DEPTH
from l1.rpc.envelope import nesting_depth

from chains import free_port, serve_in_thread, start_devnet_process

DEEP = b"[" * 100_000 + b"]" * 100_000
# Code that jumps back to its start for ever (JUMPDEST PUSH0 JUMP).
ENDLESS_LOOP = bytes.fromhex("5b5f56")


def post(port: int, body: bytes) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def rpc(port: int, method: str, *params) -> dict:
    request = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    return post(port, json.dumps(request).encode())


@pytest.fixture(scope="module")
def node():
    """``nr devnet`` in its own process (a crash shows as an exit code), and web3 on it."""
    port = free_port()
    process, w3 = start_devnet_process(port, "--silent")
    yield port, process, w3
    process.terminate()
    process.wait(10)


def assert_alive(port: int, process, w3) -> None:
    """The node answers and mines: a transfer gets a receipt."""
    assert process.poll() is None, f"the node exited with {process.returncode}"
    sender, recipient = w3.eth.accounts[:2]
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_transaction({"from": sender, "to": recipient, "value": 1}), timeout=30
    )
    assert receipt.status == 1


# -- 1. a deeply nested request --


def test_nesting_depth_skips_brackets_inside_strings():
    assert nesting_depth(b'{"a": [[1], {"b": []}]}') == 4
    assert nesting_depth(b'["' + b"[" * 500 + b'"]') == 1
    assert nesting_depth(b'["\\"' + b"[" * 500 + b'"]') == 1  # an escaped quote does not end it
    assert nesting_depth(b"[" * 300 + b"]" * 300) == 300
    assert nesting_depth(b"[" * 300) == 300  # unbalanced: as deep as it opens


def test_a_deeply_nested_request_is_refused_over_http_and_websocket(node):
    port, process, w3 = node
    answer = post(port, DEEP)
    assert answer["error"]["code"] == -32600
    assert f"nested deeper than {MAX_NESTING_DEPTH} levels" in answer["error"]["message"]

    async def over_websocket():
        async with websockets.connect(f"ws://127.0.0.1:{port}", max_size=None) as ws:
            await ws.send(DEEP.decode())
            return json.loads(await ws.recv())

    assert asyncio.run(over_websocket())["error"]["code"] == -32600
    # At the limit it parses: a batch whose one request is not one.
    at_limit = b"[" * MAX_NESTING_DEPTH + b"]" * MAX_NESTING_DEPTH
    (answer,) = post(port, at_limit)
    assert answer["error"] == {"code": -32600, "message": "invalid request"}
    assert_alive(port, process, w3)


# -- 2. transactions that can never be mined are refused at submission --


def test_transactions_no_block_can_hold_are_refused_when_sent(node):
    port, process, w3 = node
    sender = w3.eth.accounts[0]
    gas_one = rpc(port, "eth_sendTransaction", {"from": sender, "to": sender, "gas": "0x1"})
    assert "intrinsic gas too low" in gas_one["error"]["message"]
    assert "needs at least 21000 gas" in gas_one["error"]["message"]
    # EIP-7623: calldata sets a floor above the intrinsic gas.
    calldata = "0x" + "ff" * 1000
    floor = 21_000 + 10 * 4 * 1000
    under_floor = rpc(
        port,
        "eth_sendTransaction",
        {"from": sender, "to": sender, "data": calldata, "gas": hex(floor - 1)},
    )
    assert f"needs at least {floor} gas" in under_floor["error"]["message"]
    account = Account.from_key(bytes(31) + b"\x07")
    base_fee = w3.eth.get_block("latest").baseFeePerGas
    cheap = account.sign_transaction(
        dict(to=sender, value=0, gas=21_000, maxFeePerGas=1, maxPriorityFeePerGas=1,
             nonce=0, chainId=31337, type=2)
    )
    below_base_fee = rpc(port, "eth_sendRawTransaction", "0x" + cheap.raw_transaction.hex())
    assert "less than block base fee" in below_base_fee["error"]["message"]
    assert base_fee > 1
    too_long = rpc(port, "eth_sendTransaction", {
        "from": sender, "data": "0x" + "00" * 49_153, "gas": hex(15_000_000)
    })
    assert "max initcode size exceeded: 49153 bytes" in too_long["error"]["message"]
    for answer in (gas_one, under_floor, below_base_fee, too_long):
        assert "Message.gas" not in answer["error"]["message"]
    # The sender's next transaction takes the nonce the refused ones did not.
    assert_alive(port, process, w3)


# -- 3. a block never fails because of one transaction --


def fund(w3, wei: int):
    """A fresh account holding ``wei``."""
    account = Account.create()
    w3.eth.wait_for_transaction_receipt(
        w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": account.address, "value": wei})
    )
    return account


def signed_transfer(account, nonce: int, value: int, to: str) -> bytes:
    return account.sign_transaction(
        dict(to=to, value=value, gas=21_000, maxFeePerGas=10**10, maxPriorityFeePerGas=1,
             nonce=nonce, chainId=31337, type=2)
    ).raw_transaction


def test_transactions_affordable_alone_but_not_together_leave_the_block_whole():
    devnet = Devnet()
    w3 = devnet.web3()
    account = fund(w3, 10**18)
    recipient = w3.eth.accounts[2]
    devnet.set_automine(False)
    first = devnet.send_raw_transaction(signed_transfer(account, 0, 6 * 10**17, recipient))
    second = devnet.send_raw_transaction(signed_transfer(account, 1, 6 * 10**17, recipient))
    other = w3.eth.send_transaction({"from": w3.eth.accounts[1], "to": recipient, "value": 5})
    (block,) = devnet.mine()
    included = [t.hash for t in block.transactions]
    assert first in included and bytes(other) in included and second not in included
    assert devnet.pending == []
    assert "not have enough balance" in devnet.pool.dropped[second]
    # The nonce is free again: the sender can replace what was dropped.
    devnet.send_raw_transaction(signed_transfer(account, 1, 10**15, recipient))
    devnet.mine()
    assert w3.eth.get_transaction_count(account.address) == 2


# Runtime code that creates an empty contract (CREATE(0, 0, 0)): run in a
# delegated account's context, it bumps that account's nonce.
CREATE_EMPTY = bytes.fromhex("5f5f5ff000")


def test_a_delegated_sender_cannot_stop_the_block_by_invalidating_its_pending_transaction():
    """EIP-7702: a call into the sender's delegated code bumps its nonce under its pending one."""
    devnet = Devnet()
    w3 = devnet.web3()
    sender = fund(w3, 10**18)
    delegate = bytes(19) + b"\x42"
    devnet.set_account(delegate, code=CREATE_EMPTY)
    authorization = sender.sign_authorization(
        {"chainId": 31337, "address": "0x" + delegate.hex(), "nonce": 1}
    )
    delegation = sender.sign_transaction(
        dict(chainId=31337, nonce=0, to=sender.address, gas=100_000, maxFeePerGas=10**10,
             maxPriorityFeePerGas=1, authorizationList=[authorization])
    )
    devnet.send_raw_transaction(delegation.raw_transaction)
    nonce = w3.eth.get_transaction_count(sender.address)
    assert w3.eth.get_code(sender.address) == b"\xef\x01\x00" + delegate
    devnet.set_automine(False)
    # Someone calls the sender first (its code bumps its nonce), then its own transfer.
    poke = w3.eth.send_transaction(
        {"from": w3.eth.accounts[1], "to": sender.address, "gas": 200_000}
    )
    stale = devnet.send_raw_transaction(signed_transfer(sender, nonce, 1, w3.eth.accounts[2]))
    (block,) = devnet.mine()
    assert [t.hash for t in block.transactions] == [bytes(poke)]
    assert "nonce" in devnet.pool.dropped[stale].lower() and devnet.pending == []
    assert w3.eth.get_transaction_count(sender.address) == nonce + 1
    assert devnet.mine()  # and the chain goes on


def test_interval_mining_goes_on_when_transactions_turn_invalid():
    """``--block-time``: two transfers each affordable alone; blocks keep coming."""
    devnet = Devnet(DevnetConfig(block_time=0.5))
    port, w3 = serve_in_thread(devnet)
    account = Account.create()
    rpc(port, "anvil_setBalance", account.address, hex(10**18))
    recipient = w3.eth.accounts[2]
    for nonce in (0, 1):
        raw = signed_transfer(account, nonce, 6 * 10**17, recipient)
        assert "result" in rpc(port, "eth_sendRawTransaction", "0x" + raw.hex())
    start = w3.eth.block_number
    deadline = time.monotonic() + 20
    while w3.eth.block_number < start + 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert w3.eth.block_number >= start + 3, "interval mining stopped"
    assert w3.eth.get_transaction_count(account.address) == 1
    assert devnet.pending == []


# -- 4. one call cannot hold the node --


def looping_devnet(**config) -> tuple:
    devnet = Devnet(DevnetConfig(**config))
    loop = "0x" + "10" * 20
    devnet.set_account(bytes.fromhex(loop[2:]), code=ENDLESS_LOOP)
    return devnet, loop


def test_a_call_that_runs_too_long_is_stopped_with_a_clear_error():
    devnet, loop = looping_devnet(call_timeout=0.5, rpc_gas_cap=0)
    from l1.interface import TransactionRequest

    started = time.monotonic()
    with pytest.raises(TimedOut, match="ran past the 0.5 s limit"):
        devnet.call(TransactionRequest(to=bytes.fromhex(loop[2:]), gas=10**11))
    assert time.monotonic() - started < 3
    # The node is whole: a call after it runs, blocks still mine.
    assert devnet.mine() and devnet.head().block_number == 1


def test_call_gas_is_capped_at_the_block_gas_limit():
    devnet, loop = looping_devnet(call_timeout=60, gas_limit=1_000_000)
    from l1.interface import TransactionRequest

    computation = devnet.call(TransactionRequest(to=bytes.fromhex(loop[2:]), gas=10**11))
    assert computation.is_error and "Out of gas" in str(computation.error)
    assert computation.msg.gas == 1_000_000 - 21_000  # the cap, less the intrinsic gas


def test_other_clients_are_answered_while_a_long_call_runs():
    devnet, loop = looping_devnet(call_timeout=3, rpc_gas_cap=0)
    port, w3 = serve_in_thread(devnet)
    answers = {}

    def long_call():
        answers["call"] = rpc(port, "eth_call", {"to": loop, "gas": hex(10**11)}, "latest")

    caller = threading.Thread(target=long_call)
    caller.start()
    time.sleep(0.3)
    slowest = 0.0
    while caller.is_alive():
        started = time.monotonic()
        assert rpc(port, "eth_blockNumber")["result"]
        slowest = max(slowest, time.monotonic() - started)
        time.sleep(0.05)
    caller.join()
    assert answers["call"]["error"]["code"] == -32000
    assert "ran past the 3 s limit" in answers["call"]["error"]["message"]
    assert slowest < 1.0, f"eth_blockNumber waited {slowest:.2f} s behind the call"


# -- 5. a WebSocket client that never reads --


def test_a_client_that_never_reads_is_disconnected_and_others_are_notified(node):
    port, process, w3 = node

    async def scenario():
        # The slow client subscribes many times and never reads what comes.
        slow = await websockets.connect(f"ws://127.0.0.1:{port}")
        for index in range(128):
            await slow.send(json.dumps(
                {"jsonrpc": "2.0", "id": index, "method": "eth_subscribe", "params": ["newHeads"]}
            ))
        await slow.send(json.dumps(
            {"jsonrpc": "2.0", "id": 999, "method": "eth_subscribe", "params": ["newHeads"]}
        ))
        slow.transport.pause_reading()
        async with websockets.connect(f"ws://127.0.0.1:{port}") as fast:
            await fast.send(json.dumps(
                {"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]}
            ))
            json.loads(await fast.recv())
            for _ in range(40):
                await asyncio.to_thread(rpc, port, "anvil_mine", "0x1")
            heads = 0
            while heads < 40:
                message = json.loads(await asyncio.wait_for(fast.recv(), 10))
                heads += message.get("method") == "eth_subscription"
        slow.transport.abort()
        return heads

    assert asyncio.run(scenario()) == 40
    assert_alive(port, process, w3)


def test_subscriptions_per_connection_are_capped(node):
    port, _, _ = node

    async def scenario():
        async with websockets.connect(f"ws://127.0.0.1:{port}") as ws:
            answers = []
            for index in range(130):
                await ws.send(json.dumps(
                    {"jsonrpc": "2.0", "id": index, "method": "eth_subscribe",
                     "params": ["newHeads"]}
                ))
                answers.append(json.loads(await ws.recv()))
            return answers

    answers = asyncio.run(scenario())
    assert all("result" in answer for answer in answers[:128])
    assert "at most 128 subscriptions" in answers[128]["error"]["message"]


# -- 10, 11, 12: bounded resources and state files --


def test_filters_are_capped_and_unpolled_ones_expire():
    filters = InstalledFilters(limit=3, timeout=0.2)
    ids = [filters.install("blocks", None, 0) for _ in range(3)]
    with pytest.raises(LimitReached, match="too many filters: 3 installed"):
        filters.install("blocks", None, 0)
    time.sleep(0.25)
    assert filters.get(ids[0]) is None  # expired unpolled
    filters.install("blocks", None, 0)


def test_pending_nonces_may_not_run_far_ahead():
    devnet = Devnet()
    devnet.set_automine(False)
    account = Account.from_key(devnet.accounts[3].private_key)
    with pytest.raises(Exception, match="at most 1024 ahead"):
        devnet.send_raw_transaction(signed_transfer(account, 5000, 1, account.address))
    devnet.send_raw_transaction(signed_transfer(account, 3, 1, account.address))
    assert len(devnet.pending) == 1


def test_anvil_mine_is_bounded_and_does_not_hold_the_node(node):
    port, process, w3 = node
    answer = rpc(port, "anvil_mine", hex(10**9))
    assert answer["error"]["code"] == -32005
    assert "at most 10000 blocks" in answer["error"]["message"]
    assert_alive(port, process, w3)


def test_a_state_dump_that_inflates_past_the_limit_is_refused(monkeypatch):
    limit = 1 << 20
    bomb = gzip.compress(b"\0" * (limit + 1))  # 1 KiB of gzip
    with pytest.raises(InvalidState, match="larger than 1 MiB once decompressed"):
        decompress_bounded(bomb, limit)
    assert decompress_bounded(gzip.compress(b"\0" * limit), limit) == b"\0" * limit
    with pytest.raises(InvalidState, match="truncated"):
        decompress_bounded(gzip.compress(b"\0" * limit)[:-10], limit)
    monkeypatch.setattr(persistence, "MAX_STATE_BYTES", limit)
    devnet = Devnet()
    with pytest.raises(InvalidState, match="larger than 1 MiB"):
        devnet.load_state(bomb)
    assert devnet.mine()


def test_a_dump_whose_head_state_is_missing_is_refused_on_load():
    source = Devnet()
    source.web3().eth.send_transaction(
        {"from": source.web3().eth.accounts[0], "to": source.web3().eth.accounts[1], "value": 1}
    )
    document = json.loads(gzip.decompress(source.dump_state()))
    del document["db"][document["headStateRoot"]]
    with pytest.raises(InvalidState, match="head state root .* is not in its database"):
        Devnet().load_state(gzip.compress(json.dumps(document).encode()))


def test_a_failed_save_is_retried_and_the_node_keeps_saving(tmp_path):
    from l1.server import serve_forever

    directory = tmp_path / "state"
    path = directory / "devnet.json.gz"
    devnet = Devnet()
    port = free_port()
    ready = threading.Event()
    threading.Thread(
        target=serve_forever,
        args=(devnet, "127.0.0.1", port, ready),
        kwargs=dict(state_path=str(path), state_interval=0.2),
        daemon=True,
    ).start()
    assert ready.wait(30)
    time.sleep(0.6)  # saves fail: the directory is missing
    assert not path.exists()
    directory.mkdir()
    deadline = time.monotonic() + 10
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert path.exists(), "saving never resumed after a failure"
    Web3(Web3.HTTPProvider(f"http://127.0.0.1:{port}")).eth.block_number


def test_the_cli_refuses_settings_no_node_can_run_with(tmp_path):
    for flags, message in (
        (["--gas-limit", "10"], "a block gas limit below 21000 holds no transaction"),
        (["--state", str(tmp_path)], "is a directory: name a file"),
        (["--call-timeout", "-1"], "must be zero or more"),
        (["--block-time", "1e308"], "must be more than 0 and at most 2**32 seconds"),
        (["--fork-url", "http://127.0.0.1:1"], "--fork-url is anvil's; forking a live chain"),
        (["--dump-state", "out.json"], "--dump-state is anvil's; use --state PATH"),
    ):
        completed = subprocess.run(
            [sys.executable, "-m", "nr.cli", "devnet", "--port", str(free_port()), *flags],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert completed.returncode == 2, completed.stderr
        assert message in completed.stderr and "Traceback" not in completed.stderr


def test_timestamps_that_leave_no_room_for_later_blocks_are_refused(node):
    """At 2**64 - 1 no block could follow: refused, as is a clock moved close to it."""
    port, process, w3 = node
    for method, value in (
        ("evm_setNextBlockTimestamp", 2**64), ("evm_setNextBlockTimestamp", 2**64 - 1),
        ("evm_increaseTime", 2**64 - 1), ("evm_increaseTime", 2**64 - 2**31),
    ):
        answer = rpc(port, method, hex(value))
        assert answer["error"]["code"] == -32602, method
        assert "no room for the blocks after" in answer["error"]["message"], method
    assert_alive(port, process, w3)


def test_the_latest_settable_time_still_leaves_blocks_to_mine():
    devnet = Devnet()
    devnet.set_next_timestamp(LATEST_SETTABLE_TIME)
    first, second = devnet.mine(2)
    assert (first.header.timestamp, second.header.timestamp) == (
        LATEST_SETTABLE_TIME, LATEST_SETTABLE_TIME + 1
    )
    with pytest.raises(InvalidArgument, match="no room"):
        devnet.mine(1, interval=2**33)


def test_a_new_interval_takes_over_at_once_and_absurd_ones_are_refused():
    """A long interval set by mistake does not keep the shorter one set after it waiting."""
    devnet = Devnet(DevnetConfig(block_time=1))
    port, w3 = serve_in_thread(devnet)
    assert "result" in rpc(port, "evm_setIntervalMining", 3600)
    time.sleep(0.5)  # the timer is now waiting out the hour
    assert "result" in rpc(port, "evm_setIntervalMining", 0.2)
    start = w3.eth.block_number
    deadline = time.monotonic() + 20
    while w3.eth.block_number < start + 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert w3.eth.block_number >= start + 3, "the new interval did not take over"
    for seconds in (1e308, 2**33, -1):
        answer = rpc(port, "evm_setIntervalMining", seconds)
        assert answer["error"]["code"] == -32602, seconds
        assert "a number of seconds from 0 to 2**32" in answer["error"]["message"]
    for body in (b'{"jsonrpc":"2.0","id":1,"method":"evm_setIntervalMining","params":[NaN]}',
                 b'{"jsonrpc":"2.0","id":1e999,"method":"eth_chainId","params":[]}'):
        assert post(port, body)["error"]["code"] == -32700


def test_fee_history_is_bounded_in_blocks_and_percentiles(node):
    port, process, w3 = node
    rpc(port, "anvil_mine", hex(1100))
    history = rpc(port, "eth_feeHistory", hex(10**6), "latest", [10, 50, 90])["result"]
    assert len(history["baseFeePerGas"]) == 1025 and len(history["reward"]) == 1024
    for percentiles in ([50] * 101, [50, 10], [101], [-1]):
        answer = rpc(port, "eth_feeHistory", "0x4", "latest", percentiles)
        assert answer["error"]["code"] == -32602
        assert "ascending list of at most 100 percentiles from 0 to 100" in (
            answer["error"]["message"]
        )
    assert_alive(port, process, w3)


def test_other_clients_are_answered_during_a_long_anvil_mine(node):
    """They get answers while it runs: heights between its start and its end."""
    port, process, w3 = node
    start = w3.eth.block_number
    mining = threading.Thread(target=rpc, args=(port, "anvil_mine", hex(1500)))
    mining.start()
    seen = []
    while mining.is_alive():
        seen.append(int(rpc(port, "eth_blockNumber")["result"], 16))
        time.sleep(0.05)
    mining.join()
    assert any(start < height < start + 1500 for height in seen), seen
    assert w3.eth.block_number == start + 1500


def test_anvil_mine_spaces_blocks_by_its_interval():
    devnet = Devnet()
    port, w3 = serve_in_thread(devnet)
    head = w3.eth.get_block("latest").timestamp
    assert "result" in rpc(port, "anvil_mine", "0x3", "0x3c")
    stamps = [w3.eth.get_block(number).timestamp for number in (1, 2, 3)]
    assert stamps[0] > head and stamps[1] - stamps[0] == stamps[2] - stamps[1] == 60
    answer = rpc(port, "anvil_mine", "0x2", "0x0")
    assert "interval must be at least 1 second" in answer["error"]["message"]


def test_many_long_calls_share_the_cpu_and_never_queue_ahead_of_a_send():
    """
    Sixteen clients calling a loop for its whole timeout: the transfer, and
    the gas estimate web3.py asks before it, get threads of their own at once.
    """
    devnet, loop = looping_devnet(call_timeout=2, rpc_gas_cap=0)
    port, w3 = serve_in_thread(devnet)
    stop = threading.Event()

    def keep_calling():
        while not stop.is_set():
            rpc(port, "eth_call", {"to": loop, "gas": hex(10**11)}, "latest")

    callers = [threading.Thread(target=keep_calling) for _ in range(16)]
    for caller in callers:
        caller.start()
    try:
        time.sleep(0.5)  # every caller's call running
        started = time.monotonic()
        sender, recipient = w3.eth.accounts[:2]
        sent = w3.eth.send_transaction({"from": sender, "to": recipient, "value": 1})
        assert w3.eth.wait_for_transaction_receipt(sent, timeout=30).status == 1
        waited = time.monotonic() - started
    finally:
        stop.set()
        for caller in callers:
            caller.join()
    # Queued behind the calls it waits for rounds of their 2 s timeouts (12 s measured).
    assert waited < 4.0, f"the transfer waited {waited:.2f} s behind the calls"
