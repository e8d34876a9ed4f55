"""
debug_traceCall, the callTracer (for debug_traceCall and
debug_traceTransaction) and eth_createAccessList, checked against what the
chain does: a transaction sent with the access list uses the gas it said, a
call traced on a block traces as the transaction mined after it. Bad requests
are named; a long trace is stopped at the call time limit without holding the
node. test_compat_anvil.py compares the same methods with real anvil.
"""

import threading
import time

import pytest
from eth_account import Account
from test_rpc_anvil_methods import answer, assert_invalid_params, rpc

from l1.accounts import derive_accounts
from l1.node import Devnet, DevnetConfig
from l1.rpc import UNLOCKED_METHODS

from relay_contracts import caller_init_code, deploy_relay

CALL_TRACER = {"tracer": "callTracer"}
WITH_LOG = {**CALL_TRACER, "tracerConfig": {"withLog": True}}
# JUMPDEST PUSH0 JUMP: loops until its gas is gone.
ENDLESS_LOOP = bytes.fromhex("5b5f56")
STRANGER = "0x" + "42" * 20


@pytest.fixture
def devnet():
    with Devnet() as node:
        yield node


@pytest.fixture
def relay(devnet):
    """The devnet's web3, the sender, and the Callee and Caller contracts."""
    w3 = devnet.web3()
    sender = w3.eth.accounts[0]
    return (w3, sender, *deploy_relay(w3, sender))


def relay_call(sender, caller, **fields):
    data = caller.encode_abi("relay", [7])
    return {"from": sender, "to": caller.address, "data": data, "value": "0x5", **fields}


# -- eth_createAccessList --


def test_a_transaction_with_the_access_list_uses_the_gas_it_was_given(devnet, relay):
    w3, sender, callee, caller = relay
    found = rpc(devnet, "eth_createAccessList", relay_call(sender, caller, gas=hex(10**6)))
    listed = {entry["address"]: entry["storageKeys"] for entry in found["accessList"]}
    # Both contracts' slot 0 (the caller's callee, the stored amount); not the
    # sender, the sha256 precompile, nor the contracts the call creates.
    assert listed == {caller.address: ["0x" + "00" * 32], callee.address: ["0x" + "00" * 32]}
    key = derive_accounts(count=1)[0].private_key
    signed = Account.from_key(key).sign_transaction({
        "chainId": 31337, "nonce": w3.eth.get_transaction_count(sender), "to": caller.address,
        "data": caller.encode_abi("relay", [7]), "value": 5, "gas": 10**6,
        "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 10**9,
        "accessList": found["accessList"],
    })
    sent = w3.eth.send_raw_transaction(signed.raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(sent)
    assert receipt.status == 1 and receipt.gasUsed == int(found["gasUsed"], 16)


def test_a_failing_call_is_answered_as_eth_call_answers_it(devnet, relay):
    _, sender, _, caller = relay
    fail = {"from": sender, "to": caller.address, "data": caller.encode_abi("fail", [])}
    refused = answer(devnet, "eth_createAccessList", fail)["error"]
    assert refused == answer(devnet, "eth_call", fail)["error"]
    assert refused["code"] == 3 and refused["message"] == "execution reverted: refused"


# -- debug_traceCall and the callTracer --


def test_a_call_traced_on_a_block_traces_as_the_transaction_mined_after_it(devnet, relay):
    w3, sender, _, caller = relay
    parent = w3.eth.block_number
    call = relay_call(sender, caller, gas=hex(400_000))
    # Another sender's transfer first: the traced transaction's logs still count from 0.
    with devnet.automine_paused():
        w3.eth.send_transaction({"from": w3.eth.accounts[1], "to": STRANGER, "value": 1})
        mined = "0x" + bytes(w3.eth.send_transaction({**call, "value": 5})).hex()
    devnet.mine()
    for options in (None, WITH_LOG):
        traced = rpc(devnet, "debug_traceTransaction", mined, options)
        assert rpc(devnet, "debug_traceCall", call, hex(parent), options) == traced
    assert traced["gasUsed"] == hex(w3.eth.get_transaction_receipt(mined).gasUsed)


def test_the_call_tracer_shows_every_kind_of_frame(devnet, relay):
    _, sender, callee, caller = relay
    frame = rpc(devnet, "debug_traceCall", relay_call(sender, caller), "latest", WITH_LOG)
    calls = frame["calls"]
    assert [call["type"] for call in calls] == [
        "STATICCALL", "CALL", "CALL", "CREATE", "STATICCALL", "CALL", "DELEGATECALL", "CREATE2",
        "CALL",
    ]
    static, noted, refused, created, sha256, starved, delegated, _, paid = calls
    assert "value" not in static and noted["value"] == "0x5"
    assert refused["error"] == "execution reverted" and refused["revertReason"] == "refused"
    # A frame that fails other than by reverting uses all its gas and returns nothing.
    assert starved["error"] == "out of gas" and starved["gasUsed"] == starved["gas"]
    assert "output" not in starved and "output" not in paid
    # DELEGATECALL runs the callee's code for the caller, with the caller's value.
    assert (delegated["from"], delegated["to"], delegated["value"]) == (
        caller.address, callee.address, "0x5"
    )
    assert sha256["to"] == "0x0000000000000000000000000000000000000002"
    assert created["output"] and created["to"] != callee.address
    # The refused call's log reverted with it, yet counts in the indexes after it.
    assert [log["index"] for log in noted["logs"]] == ["0x0"] and "logs" not in refused
    (relayed,) = frame["logs"]
    assert (relayed["position"], relayed["index"]) == ("0x9", "0x2")
    top = rpc(devnet, "debug_traceCall", relay_call(sender, caller), "latest", {
        **CALL_TRACER, "tracerConfig": {"onlyTopCall": True}
    })
    assert "calls" not in top and top["gasUsed"] == frame["gasUsed"]


def test_a_creation_that_fails_names_no_address(devnet, relay):
    w3, sender, callee, _ = relay
    creation = {"from": sender, "data": caller_init_code(w3, callee.address)}
    created = rpc(devnet, "debug_traceCall", creation, "latest", CALL_TRACER)
    assert created["type"] == "CREATE" and created["to"] and "error" not in created
    # Gas for the init code to run, not to deposit the code it returns.
    short = {**creation, "gas": hex(100_000)}
    starved = rpc(devnet, "debug_traceCall", short, "latest", CALL_TRACER)
    assert starved["error"] == "out of gas" and "to" not in starved


@pytest.mark.parametrize(
    "code, failure",
    [
        ("fe", "invalid opcode: INVALID"),
        ("0c", "invalid opcode: opcode 0xc not defined"),
        ("600256", "invalid jump destination"),
        ("50", "stack underflow"),
    ],
)
def test_a_halt_is_told_in_geths_words(devnet, code, failure):
    rpc(devnet, "anvil_setCode", STRANGER, "0x" + code)
    frame = rpc(devnet, "debug_traceCall", {"to": STRANGER}, "latest", CALL_TRACER)
    assert frame["error"] == failure
    called = answer(devnet, "eth_call", {"to": STRANGER})["error"]
    assert called["message"] == f"execution reverted: {failure}"


# -- the block a traced call runs in --

# Returns NUMBER, TIMESTAMP and BLOCKHASH(NUMBER - 1), a word each.
BLOCK_READER = bytes.fromhex("435f52" "42602052" "6001430340604052" "60605ff3")


def block_seen(devnet, block="latest", **options):
    rpc(devnet, "anvil_setCode", STRANGER, "0x" + BLOCK_READER.hex())
    frame = rpc(devnet, "debug_traceCall", {"to": STRANGER}, block, {**CALL_TRACER, **options})
    output = bytes.fromhex(frame["output"][2:])
    return [output[i:i + 32] for i in range(0, 96, 32)]


def test_a_traced_call_runs_in_the_next_block_on_the_heads_state(devnet):
    number, timestamp, parent = block_seen(devnet)
    head = devnet.head()
    assert int.from_bytes(number, "big") == head.block_number + 1
    assert int.from_bytes(timestamp, "big") > head.timestamp
    assert parent == head.hash


def test_the_block_a_call_runs_in_follows_the_head(devnet):
    """Calls reuse the head's next block (made once per head): a new head, a new block."""
    for _ in range(3):
        number, timestamp, parent = block_seen(devnet)
        head = devnet.head()
        assert (int.from_bytes(number, "big"), parent) == (head.block_number + 1, head.hash)
        assert int.from_bytes(timestamp, "big") > head.timestamp
        devnet.mine(1)


def test_block_overrides_set_the_number_and_time_a_traced_call_sees(devnet):
    head = devnet.head()
    later = head.timestamp + 1000
    number, timestamp, parent = block_seen(
        devnet, blockOverrides={"number": hex(head.block_number + 1), "time": hex(later)}
    )
    assert int.from_bytes(number, "big") == head.block_number + 1
    assert int.from_bytes(timestamp, "big") == later
    assert parent == head.hash  # the next block is still the head's child
    # geth's quantities: upper-case digits, and null for absent.
    number, _, _ = block_seen(devnet, blockOverrides={"number": "0X7B", "time": None})
    assert int.from_bytes(number, "big") == 123


def test_a_renumbered_block_keeps_blockhash_by_number(devnet):
    devnet.mine(5)
    mined = {n: devnet.backend.block(n).hash for n in range(6)}
    # Later than the head's child: the block before it is not mined, its hash is zero.
    _, _, parent = block_seen(devnet, blockOverrides={"number": hex(9)})
    assert parent == bytes(32)
    # Earlier than the head: BLOCKHASH(2) is block 2's, not the head's.
    _, _, parent = block_seen(devnet, blockOverrides={"number": hex(3)})
    assert parent == mined[2]


def test_a_call_at_pending_runs_after_the_pending_transactions(devnet):
    w3 = devnet.web3()
    reader = "0x" + "43" * 20
    # BALANCE of STRANGER, returned as a word.
    code = "73" + STRANGER[2:] + "315f5260205ff3"
    rpc(devnet, "anvil_setCode", reader, "0x" + code)
    devnet.set_automine(False)
    w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": STRANGER, "value": 12345})
    latest = rpc(devnet, "debug_traceCall", {"to": reader}, "latest", CALL_TRACER)
    pending = rpc(devnet, "debug_traceCall", {"to": reader}, "pending", CALL_TRACER)
    assert int(latest["output"], 16) == 0
    assert int(pending["output"], 16) == 12345
    # The sender's next nonce is the pending block's: a call from it runs there too.
    sent = rpc(devnet, "debug_traceCall", {
        "from": w3.eth.accounts[0], "to": STRANGER, "value": "0x1",
    }, "pending", CALL_TRACER)
    assert "error" not in sent
    # eth_call, eth_estimateGas and eth_createAccessList at pending see the same block.
    assert int(rpc(devnet, "eth_call", {"to": reader}, "pending"), 16) == 12345
    assert int(rpc(devnet, "eth_call", {"to": reader}, "latest"), 16) == 0
    spend = {"from": STRANGER, "to": w3.eth.accounts[2], "value": hex(12345)}
    assert answer(devnet, "eth_estimateGas", spend, "latest")["error"]["message"].startswith(
        "insufficient funds"
    )
    assert int(rpc(devnet, "eth_estimateGas", spend, "pending"), 16) == 21_000
    listed = rpc(devnet, "eth_createAccessList", {"to": reader}, "pending")
    assert listed["accessList"] == [] or all("address" in entry for entry in listed["accessList"])
    # Nothing was mined or dropped by looking.
    assert devnet.head().block_number == 0 and len(devnet.pending) == 1


def test_looking_at_pending_uses_up_nothing(devnet):
    w3 = devnet.web3()
    devnet.set_automine(False)
    chosen = devnet.head().timestamp + 5000
    rpc(devnet, "evm_setNextBlockTimestamp", chosen)
    sender, broke = w3.eth.accounts[0], w3.eth.accounts[1]
    w3.eth.send_transaction({"from": sender, "to": STRANGER, "value": 1})
    w3.eth.send_transaction({"from": broke, "to": STRANGER, "value": 1})
    rpc(devnet, "anvil_setBalance", broke, "0x0")  # the miner will drop this one
    # The call runs in the pending block: its timestamp is the one chosen, and the
    # transaction the miner would drop is left out, not refused.
    _, timestamp, parent = block_seen(devnet, "pending")
    assert int.from_bytes(timestamp, "big") == chosen and parent == devnet.head().hash
    assert len(devnet.pending) == 2
    devnet.mine()
    assert devnet.head().timestamp == chosen  # not used up by the trace
    assert len(devnet.head().hash) == 32 and len(devnet.pending) == 0


# -- a long call --


def test_a_long_trace_or_access_list_is_stopped_without_holding_the_node():
    assert {"debug_traceCall", "eth_createAccessList"} <= set(UNLOCKED_METHODS)
    devnet = Devnet(DevnetConfig(call_timeout=1, rpc_gas_cap=0))
    devnet.set_account(bytes.fromhex(STRANGER[2:]), code=ENDLESS_LOOP)
    endless = {"to": STRANGER, "gas": hex(10**11)}
    for method, params in (
        ("debug_traceCall", [endless, "latest", CALL_TRACER]),
        ("eth_createAccessList", [endless]),
    ):
        answers = {}
        running = threading.Thread(target=lambda: answers.update(answer(devnet, method, *params)))
        running.start()
        while running.is_alive():
            # The node's lock is free while the call runs.
            assert devnet.lock.acquire(timeout=0.5), f"{method} holds the node"
            devnet.lock.release()
        running.join()
        assert answers["error"]["code"] == -32000
        assert "ran past the 1 s limit" in answers["error"]["message"]


def test_a_trace_stops_at_its_own_timeout_and_the_chain_is_untouched(devnet):
    """geth's ``timeout`` option, a Go duration, within the node's call limit."""
    devnet.set_account(bytes.fromhex(STRANGER[2:]), code=ENDLESS_LOOP)
    endless = {"to": STRANGER, "gas": hex(3 * 10**6)}
    w3 = devnet.web3()
    sent = w3.eth.send_transaction({"from": w3.eth.accounts[0], **endless})
    w3.eth.wait_for_transaction_receipt(sent)
    head, mined = devnet.head().hash, "0x" + bytes(sent).hex()
    for method, params in (
        ("debug_traceCall", [endless, "latest", {**CALL_TRACER, "timeout": "20ms"}]),
        ("debug_traceTransaction", [mined, {"timeout": "0.02s"}]),
    ):
        refused = answer(devnet, method, *params)
        assert refused["error"]["code"] == -32000, refused
        assert "ran past the 0.02 s limit" in refused["error"]["message"]
    assert devnet.head().hash == head
    # The same trace with time enough: the loop runs out of its gas.
    traced = rpc(devnet, "debug_traceTransaction", mined, {**CALL_TRACER, "timeout": "1m"})
    assert traced["error"] == "out of gas"


def test_a_transaction_mined_right_after_a_state_edit_traces_as_it_ran(devnet):
    """
    anvil_setCode and its kind edit the head state, which no header commits
    to: the next block ran on the edited state, and its trace replays from
    that state, also after a dump and a load.
    """
    devnet.set_account(bytes.fromhex(STRANGER[2:]), code=ENDLESS_LOOP)
    w3 = devnet.web3()
    sent = w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": STRANGER, "gas": 100_000})
    receipt = w3.eth.wait_for_transaction_receipt(sent)
    assert receipt.gasUsed == 100_000
    mined = "0x" + bytes(sent).hex()
    traced = rpc(devnet, "debug_traceTransaction", mined, CALL_TRACER)
    assert (traced["gasUsed"], traced["error"]) == (hex(100_000), "out of gas")
    with Devnet() as loaded:
        loaded.load_state(devnet.dump_state())
        assert rpc(loaded, "debug_traceTransaction", mined, CALL_TRACER) == traced


# -- bad requests --

CALL = {"to": STRANGER}

REJECTED = {
    "missing call": ("debug_traceCall", [], "debug_traceCall: missing call"),
    "call not an object": (
        "debug_traceCall", ["x"], "debug_traceCall: call must be a transaction object, got \"x\""
    ),
    "bad block": ("debug_traceCall", [CALL, "soon"], "debug_traceCall: block must be a block"),
    "block beyond the head": ("debug_traceCall", [CALL, "0x99"], "block 153 is beyond the head"),
    "options not an object": (
        "debug_traceCall", [CALL, "latest", "fast"],
        "debug_traceCall: options must be an object, got \"fast\"",
    ),
    "one parameter too many": (
        "debug_traceCall", [CALL, "latest", {}, 1],
        "debug_traceCall takes at most 3 parameters (call, block, options), got 4",
    ),
    "a tracer not served": (
        "debug_traceCall", [CALL, "latest", {"tracer": "prestateTracer"}],
        "tracer 'prestateTracer' is not served: only the default struct logger and callTracer",
    ),
    "unknown option": (
        "debug_traceCall", [CALL, "latest", {"tracer": "callTracer", "bogus": 1}],
        "unknown tracer options ['bogus']",
    ),
    "tracerConfig not an object": (
        "debug_traceCall", [CALL, "latest", {"tracer": "callTracer", "tracerConfig": 3}],
        "tracerConfig must be an object, got 3",
    ),
    "onlyTopCall not a boolean": (
        "debug_traceCall",
        [CALL, "latest", {"tracer": "callTracer", "tracerConfig": {"onlyTopCall": "yes"}}],
        "tracerConfig.onlyTopCall must be true or false, got \"yes\"",
    ),
    "unknown tracerConfig": (
        "debug_traceTransaction",
        ["0x" + "ab" * 32, {"tracer": "callTracer", "tracerConfig": {"withLogs": True}}],
        "unknown callTracer options ['withLogs']",
    ),
    "timeout not a duration": (
        "debug_traceCall", [CALL, "latest", {"timeout": "soon"}],
        'timeout must be a duration such as "5s" or "500ms", got "soon"',
    ),
    "blockOverrides not served": (
        "debug_traceCall", [CALL, "latest", {"blockOverrides": {"baseFee": "0x1"}}],
        "blockOverrides: baseFee not served (only number and time are)",
    ),
    "blockOverrides not a quantity": (
        "debug_traceCall", [CALL, "latest", {"blockOverrides": {"time": 5}}],
        "blockOverrides.time must be a hex quantity such as 0x10, got 5",
    ),
    "blockOverrides with a leading zero": (
        "debug_traceCall", [CALL, "latest", {"blockOverrides": {"number": "0x01"}}],
        "blockOverrides.number must be a hex quantity such as 0x10, got \"0x01\"",
    ),
    "blockOverrides on a mined transaction": (
        "debug_traceTransaction", ["0x" + "ab" * 32, {"blockOverrides": {"number": "0x1"}}],
        "unknown tracer options ['blockOverrides']",
    ),
    "blockOverrides not an object": (
        "debug_traceCall", [CALL, "latest", {"blockOverrides": "next"}],
        "blockOverrides must be an object, got \"next\"",
    ),
    "timeout of zero": (
        "debug_traceTransaction", ["0x" + "ab" * 32, {"timeout": "0s"}],
        "timeout must be more than zero, got \"0s\"",
    ),
    "access list: missing call": (
        "eth_createAccessList", [], "eth_createAccessList: missing call (a transaction object)"
    ),
    "access list: bad address": (
        "eth_createAccessList", [{"to": "0x12"}],
        "eth_createAccessList: call.to must be 20 bytes of 0x-prefixed hex, got \"0x12\"",
    ),
    "access list: block beyond the head": (
        "eth_createAccessList", [CALL, "0x99"], "block 153 is beyond the head"
    ),
    "access list: one parameter too many": (
        "eth_createAccessList", [CALL, "latest", {}],
        "eth_createAccessList takes at most 2 parameters (call, block), got 3",
    ),
}


@pytest.mark.parametrize("case", REJECTED)
def test_bad_requests_are_invalid_params_that_name_the_fault(devnet, case):
    method, params, message = REJECTED[case]
    assert_invalid_params(devnet, method, params, message)


def test_a_call_that_waits_for_a_block_being_mined_runs_on_that_block(devnet):
    # A server answers a transaction, then mines its block holding the node's lock;
    # a call asking for "latest" meanwhile must see that block, not the one before.
    reader = "0x" + "43" * 20
    rpc(devnet, "anvil_setCode", reader, "0x73" + STRANGER[2:] + "315f5260205ff3")  # BALANCE
    seen = {}
    with devnet.lock:
        waiting = threading.Thread(target=lambda: seen.update(
            balance=rpc(devnet, "eth_call", {"to": reader}, "latest")
        ))
        waiting.start()
        time.sleep(0.2)  # the call has named its block and waits for the lock
        w3 = devnet.web3()
        w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": STRANGER, "value": 777})
    waiting.join(timeout=10)
    assert int(seen["balance"], 16) == 777


def test_a_trace_that_would_fill_the_memory_is_stopped_saying_why(devnet):
    """32 KB of memory copied at each step of a loop: refused long before its timeout."""
    grower = "0x" + "cd" * 20
    # MSTORE at 0x7fe0 (32 KB of memory), then loop for ever.
    devnet.set_account(bytes.fromhex(grower[2:]), code=bytes.fromhex("6001617fe0525b600656"))
    started = time.monotonic()
    response = answer(
        devnet, "debug_traceCall", {"to": grower, "gas": hex(10**6)}, "latest",
        {"enableMemory": True},
    )
    assert response["error"]["code"] == -32005
    assert "trace too large" in response["error"]["message"]
    assert time.monotonic() - started < devnet.config.call_timeout
    # Without memory the same loop stops at its gas, its steps well within the bound.
    trace = rpc(devnet, "debug_traceCall", {"to": grower, "gas": hex(30_000)}, "latest")
    assert trace["failed"] and len(trace["structLogs"]) > 900
