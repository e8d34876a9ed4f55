"""The in-process devnet via web3.py: anvil's accounts, transactions, calls, controls, errors."""

import json
import time

import pytest
import rlp
from eth_account import Account
from web3.exceptions import ContractLogicError

from contracts import compile_contract
from l1.accounts import InvalidMnemonic, derive_accounts
from l1.node import Devnet, DevnetConfig
from l1.rpc import Dispatcher
from nr.testing.mutations import mutated_encodings
from precompile.constants import EXECUTE_PRECOMPILE_ADDRESS
from precompile.encoding import encode
from precompile.ssz import StatelessValidationResult

from chains import l2_block_input
from rpc_inputs import LIBRARY_WORDS, assert_every_method_answers_malformed_params

# anvil's first accounts for the standard test mnemonic.
ANVIL_ADDRESSES = [
    "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
]
# anvil's address for the first contract deployed by account 0.
FIRST_DEPLOYMENT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


@pytest.fixture
def devnet():
    with Devnet() as node:
        yield node


@pytest.fixture
def w3(devnet):
    return devnet.web3()


def deploy_workload(w3):
    compiled = compile_contract("Workload")
    factory = w3.eth.contract(abi=compiled.abi, bytecode=compiled.bytecode)
    receipt = w3.eth.wait_for_transaction_receipt(
        factory.constructor().transact({"from": w3.eth.accounts[0]})
    )
    return w3.eth.contract(address=receipt.contractAddress, abi=compiled.abi), receipt


def rpc(devnet, method, *params):
    return Dispatcher(devnet).handle(
        {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
    )


def test_accounts_are_anvils(w3):
    assert w3.eth.chain_id == 31337
    assert w3.eth.accounts[:3] == ANVIL_ADDRESSES
    assert len(w3.eth.accounts) == 10
    assert all(w3.eth.get_balance(a) == 10_000 * 10**18 for a in w3.eth.accounts)


def test_an_account_is_shown_by_its_address_never_its_key():
    from hypothesis.vendor.pretty import pretty

    account = derive_accounts(count=1)[0]
    assert repr(account) == f"DevAccount({ANVIL_ADDRESSES[0]})"
    key = account.private_key.hex()
    for shown in (repr(account), str([account]), pretty(account), pretty({"sender": account})):
        assert key not in shown and ANVIL_ADDRESSES[0] in shown


def test_other_mnemonics_and_bad_ones():
    other = derive_accounts("abandon " * 11 + "about", 2)
    assert [a.checksum_address for a in other] != ANVIL_ADDRESSES[:2]
    with pytest.raises(InvalidMnemonic):
        Devnet(DevnetConfig(mnemonic="not a mnemonic at all"))


def test_transfer_mines_a_block_and_moves_value(w3):
    sender, recipient = w3.eth.accounts[:2]
    before = w3.eth.get_balance(sender)
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_transaction({"from": sender, "to": recipient, "value": 10**18})
    )
    assert receipt.status == 1 and receipt.gasUsed == 21_000 and receipt.blockNumber == 1
    fee = receipt.gasUsed * receipt.effectiveGasPrice
    assert w3.eth.get_balance(sender) == before - 10**18 - fee
    assert w3.eth.get_balance(recipient) == 10_001 * 10**18
    block = w3.eth.get_block(1, full_transactions=True)
    assert block.transactions[0]["hash"] == receipt.transactionHash
    assert w3.eth.get_block(block.hash).number == 1


def test_deploy_call_estimate_and_logs_free_state(w3):
    workload, receipt = deploy_workload(w3)
    assert receipt.contractAddress == FIRST_DEPLOYMENT
    estimate = workload.functions.fill(0, 3).estimate_gas({"from": w3.eth.accounts[0]})
    receipt = w3.eth.wait_for_transaction_receipt(
        workload.functions.fill(0, 3).transact({"from": w3.eth.accounts[0]})
    )
    assert receipt.gasUsed <= estimate
    assert [workload.functions.slots(i).call() for i in range(4)] == [1, 2, 3, 0]
    assert workload.functions.compute(3).call() == workload.functions.compute(3).call()


def test_signed_raw_transaction_of_every_common_type(devnet, w3):
    key = devnet.accounts[3].private_key
    account = Account.from_key(key)
    recipient = w3.eth.accounts[4]
    transactions = [
        {
            "to": recipient,
            "value": 1,
            "gas": 21_000,
            "gasPrice": 3 * 10**9,
            "nonce": 0,
            "chainId": 31337,
        },
        {
            "to": recipient,
            "value": 1,
            "gas": 30_000,
            "gasPrice": 3 * 10**9,
            "nonce": 1,
            "chainId": 31337,
            "accessList": [],
            "type": 1,
        },
        {
            "to": recipient,
            "value": 1,
            "gas": 21_000,
            "maxFeePerGas": 3 * 10**9,
            "maxPriorityFeePerGas": 10**9,
            "nonce": 2,
            "chainId": 31337,
            "type": 2,
        },
    ]
    for fields in transactions:
        signed = account.sign_transaction(fields)
        tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
        assert w3.eth.get_transaction(tx_hash)["from"] == account.address
        assert w3.eth.get_transaction_receipt(tx_hash).status == 1
    assert w3.eth.get_transaction_count(account.address) == 3


def test_bad_transactions_get_errors_and_the_node_keeps_serving(devnet, w3):
    account = Account.from_key(devnet.accounts[5].private_key)
    base = {
        "to": w3.eth.accounts[0],
        "value": 1,
        "gas": 21_000,
        "gasPrice": 3 * 10**9,
        "chainId": 31337,
    }
    cases = {
        "nonce too high": account.sign_transaction({**base, "nonce": 7}).raw_transaction,
        "invalid chain id": account.sign_transaction(
            {**base, "nonce": 0, "chainId": 1}
        ).raw_transaction,
        "insufficient funds": account.sign_transaction(
            {**base, "nonce": 0, "value": 10**30}
        ).raw_transaction,
    }
    for reason, raw in cases.items():
        response = rpc(devnet, "eth_sendRawTransaction", "0x" + bytes(raw).hex())
        assert response["error"]["code"] == -32003, reason
        assert reason in response["error"]["message"]
    garbage = rpc(devnet, "eth_sendRawTransaction", "0x02deadbeef")
    assert garbage["error"]["code"] == -32602
    ok = account.sign_transaction({**base, "nonce": 0}).raw_transaction
    assert w3.eth.get_transaction_receipt(w3.eth.send_raw_transaction(ok)).status == 1
    replay = rpc(devnet, "eth_sendRawTransaction", "0x" + bytes(ok).hex())
    assert "nonce too low" in replay["error"]["message"] or "already" in replay["error"]["message"]


def signed_fields(devnet):
    """A valid type-2 transfer's RLP fields, to break one at a time."""
    signed = Account.sign_transaction({
        "to": devnet.accounts[1].checksum_address, "value": 1, "gas": 21_000, "nonce": 0,
        "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 0, "chainId": 31337,
    }, devnet.accounts[0].private_key).raw_transaction
    return rlp.decode(bytes(signed)[1:])


def type_2(fields) -> str:
    return "0x02" + rlp.encode(fields).hex()


@pytest.mark.parametrize("name", [
    "empty", "unknown type", "type byte alone", "not RLP", "bytes after the end", "a string",
    "fields missing", "access list a number", "recipient of 3 bytes", "r of 0",
    "y parity of 5", "nonce past 2^64", "value past 2^256",
])
def test_bytes_that_are_not_a_transaction_are_refused_saying_what_is_wrong(devnet, name):
    fields = signed_fields(devnet)
    encoded, expected = {
        "empty": ("0x", "no bytes"),
        "unknown type": ("0x05" + rlp.encode(fields).hex(), "unknown transaction type 0x05"),
        "type byte alone": ("0x01", "type-1 (EIP-2930) transaction with no fields"),
        "not RLP": (type_2(fields)[:-8], "not one RLP item"),
        "bytes after the end": (type_2(fields) + "00", "not one RLP item"),
        "a string": ("0x" + rlp.encode(b"\x01" * 40).hex(), "list of its fields, not a"),
        "fields missing": (type_2(fields[:3]), "has 12 fields, this one 3"),
        "access list a number": (type_2(fields[:8] + [b"\x01"] + fields[9:]), "does not decode"),
        "recipient of 3 bytes": (type_2(fields[:5] + [b"abc"] + fields[6:]), "does not decode"),
        "r of 0": (type_2(fields[:10] + [b""] + fields[11:]), "signature recovers no sender"),
        "y parity of 5": (type_2(fields[:9] + [b"\x05"] + fields[10:]), "recovers no sender"),
        "nonce past 2^64": (type_2(fields[:1] + [b"\xff" * 8] + fields[2:]), "(EIP-2681)"),
        "value past 2^256": (type_2(fields[:6] + [b"\x01" * 33] + fields[7:]), "value does not"),
    }[name]
    error = rpc(devnet, "eth_sendRawTransaction", encoded)["error"]
    assert error["code"] == -32602
    assert "invalid transaction: " in error["message"] and expected in error["message"]
    assert not any(word in error["message"] for word in LIBRARY_WORDS)
    assert devnet.pending == [] and devnet.head().block_number == 0


def test_no_broken_transaction_is_an_internal_error(devnet):
    """Every cut and every flipped byte of a valid transaction: refused in words, or taken."""
    valid = bytes.fromhex(type_2(signed_fields(devnet))[2:])
    broken = [valid[:end] for end in range(len(valid))] + [
        valid[:at] + bytes([valid[at] ^ flip]) + valid[at + 1:]
        for at in range(len(valid)) for flip in (0x01, 0x80)
    ]
    for encoded in broken:
        answer = rpc(devnet, "eth_sendRawTransaction", "0x" + encoded.hex())
        if "error" in answer:
            assert answer["error"]["code"] in (-32602, -32003), (encoded.hex(), answer)
            assert not any(word in answer["error"]["message"] for word in LIBRARY_WORDS)


def test_every_method_answers_malformed_params_in_the_nodes_words(devnet):
    """
    Each method the node serves, given wrong counts, kinds, sizes and values
    of parameters: an error naming what is wrong (or an answer), never an
    internal error or a library's words, and the node still serves after.
    """
    assert_every_method_answers_malformed_params(Dispatcher(devnet), devnet.accounts[0])
    assert "result" in rpc(devnet, "eth_blockNumber")  # some of them mined or set the chain id


def test_a_send_naming_only_its_tip_gets_a_fee_cap_with_room_for_it(devnet, w3):
    """As web3.py fills it in: twice the base fee plus the tip named (not the default tip)."""
    tip = 7 * 10**9
    base_fee = devnet.next_base_fee()
    request = {
        "from": w3.eth.accounts[0], "to": w3.eth.accounts[1], "maxPriorityFeePerGas": hex(tip),
    }
    sent = rpc(devnet, "eth_sendTransaction", request)["result"]  # the node fills it, not web3.py
    transaction = w3.eth.get_transaction(sent)
    assert (transaction.maxPriorityFeePerGas, transaction.maxFeePerGas) == (tip, 2 * base_fee + tip)
    assert w3.eth.get_transaction_receipt(sent).status == 1


def test_reverting_call_is_error_3(w3):
    workload, _ = deploy_workload(w3)
    with pytest.raises(ContractLogicError):
        workload.functions.compute(10**8).call()  # beyond the loop bound: reverts
    with pytest.raises(ContractLogicError):
        workload.functions.compute(10**8).estimate_gas()


def test_protocol_errors(devnet):
    dispatcher = Dispatcher(devnet)
    parse = json.loads(dispatcher.handle_bytes(b"{not json"))
    assert parse["error"]["code"] == -32700
    assert dispatcher.handle({"jsonrpc": "2.0", "id": 1})["error"]["code"] == -32600
    assert rpc(devnet, "eth_noSuchMethod")["error"]["code"] == -32601
    assert rpc(devnet, "eth_getBalance", "0x12")["error"]["code"] == -32602
    assert rpc(devnet, "eth_getBalance")["error"]["code"] == -32602
    # A block named by a hash this chain has no block with (EIP-1898).
    unknown = rpc(devnet, "eth_getBalance", "0x" + "00" * 20, {"blockHash": "0x" + "11" * 32})
    assert unknown["error"] == {
        "code": -32602,
        "message": "invalid params: no block of this chain has the hash 0x" + "11" * 32,
    }
    # State beyond the head is an error; a block beyond it is null (it may come yet), as in anvil.
    beyond = rpc(devnet, "eth_getBalance", "0x" + "00" * 20, "0x99")["error"]
    assert beyond == {"code": -32602, "message": "invalid params: block 153 is beyond the head 0"}
    assert rpc(devnet, "eth_getBlockByNumber", "0x99", False) == {
        "jsonrpc": "2.0", "id": 1, "result": None
    }
    batch = dispatcher.handle(
        [
            {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
            {"jsonrpc": "2.0", "id": 2, "method": "nope", "params": []},
        ]
    )
    assert batch[0]["result"] == "0x7a69" and batch[1]["error"]["code"] == -32601
    too_big = json.loads(dispatcher.handle_bytes(b" " * (33 * 1024 * 1024)))
    assert too_big["error"]["code"] == -32600
    assert rpc(devnet, "eth_blockNumber")["result"] == "0x0"


def test_snapshot_revert_deletes_it_and_later_ones(devnet, w3):
    sender, recipient = w3.eth.accounts[:2]
    first = w3.provider.make_request("evm_snapshot", [])["result"]
    w3.eth.send_transaction({"from": sender, "to": recipient, "value": 5})
    second = w3.provider.make_request("evm_snapshot", [])["result"]
    w3.eth.send_transaction({"from": sender, "to": recipient, "value": 5})
    assert w3.eth.block_number == 2
    assert w3.provider.make_request("evm_revert", [first])["result"] is True
    assert w3.eth.block_number == 0
    assert w3.eth.get_balance(recipient) == 10_000 * 10**18
    assert w3.provider.make_request("evm_revert", [second])["result"] is False
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_transaction({"from": sender, "to": recipient, "value": 7})
    )
    assert receipt.blockNumber == 1 and w3.eth.get_balance(recipient) == 10_000 * 10**18 + 7


def test_revert_brings_back_the_clock_and_the_pending_transactions_of_the_snapshot(devnet, w3):
    """As hardhat: snapshot, warp and queue, revert: the warp is gone, the queue is back."""
    sender, recipient = w3.eth.accounts[:2]
    devnet.set_automine(False)
    waiting = w3.eth.send_transaction({"from": sender, "to": recipient, "value": 3})
    taken = w3.provider.make_request("evm_snapshot", [])["result"]
    w3.provider.make_request("evm_increaseTime", [10**6])
    w3.provider.make_request("evm_setNextBlockTimestamp", [hex(2**40)])
    w3.eth.send_transaction({"from": sender, "to": recipient, "value": 4})
    assert w3.provider.make_request("evm_revert", [taken])["result"] is True
    assert [t.hash for t in devnet.pending] == [bytes(waiting)]
    assert w3.eth.get_transaction_count(sender, "pending") == 1
    block = devnet.mine(1)[0]
    assert [t.hash for t in block.transactions] == [bytes(waiting)]
    assert block.header.timestamp < time.time() + 100  # neither the warp nor the set time


def test_filters_see_the_blocks_mined_after_a_revert(devnet, w3):
    """The new block 1 after going back to 0 is a change to a filter that saw the old 1 and 2."""
    sender, recipient = w3.eth.accounts[:2]
    taken = w3.provider.make_request("evm_snapshot", [])["result"]
    blocks = w3.eth.filter("latest")
    logs = w3.eth.filter({"fromBlock": "latest"})
    workload, _ = deploy_workload(w3)
    w3.eth.send_transaction({"from": sender, "to": recipient, "value": 1})
    assert len(blocks.get_new_entries()) == 2
    logs.get_new_entries()
    assert w3.provider.make_request("evm_revert", [taken])["result"] is True
    workload, receipt = deploy_workload(w3)
    assert [bytes(h) for h in blocks.get_new_entries()] == [bytes(receipt.blockHash)]
    workload.functions.fill(0, 1).transact({"from": sender})
    assert len(logs.get_new_entries()) == 1


def test_blocks_a_revert_left_behind_are_gone_by_hash_too(devnet, w3):
    sender, recipient = w3.eth.accounts[:2]
    kept = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_transaction({"from": sender, "to": recipient, "value": 1})
    )
    taken = w3.provider.make_request("evm_snapshot", [])["result"]
    orphan = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_transaction({"from": sender, "to": recipient, "value": 2})
    )
    assert w3.provider.make_request("evm_revert", [taken])["result"] is True
    orphan_hash = "0x" + bytes(orphan.blockHash).hex()
    for method in ("eth_getBlockByHash", "eth_getBlockReceipts"):
        params = [orphan_hash, False] if method == "eth_getBlockByHash" else [orphan_hash]
        assert rpc(devnet, method, *params)["result"] is None, method
    assert w3.eth.get_block(kept.blockHash).number == kept.blockNumber


def test_time_travel(w3):
    start = w3.eth.get_block("latest").timestamp
    w3.provider.make_request("evm_increaseTime", [hex(3600)])
    w3.provider.make_request("evm_mine", [])
    assert w3.eth.get_block("latest").timestamp >= start + 3600
    target = w3.eth.get_block("latest").timestamp + 1000
    w3.provider.make_request("evm_setNextBlockTimestamp", [hex(target)])
    w3.provider.make_request("anvil_mine", ["0x2"])
    assert w3.eth.get_block(w3.eth.block_number - 1).timestamp == target
    past = w3.provider.make_request("evm_setNextBlockTimestamp", [hex(1)])
    assert past["error"]["code"] == -32602


def test_state_edits_take_effect_at_once(w3):
    target = "0x" + "ab" * 20
    for method, params in [
        ("anvil_setBalance", [target, hex(12345)]),
        ("hardhat_setNonce", [target, hex(9)]),
        ("anvil_setCode", [target, "0x6001600055"]),
        ("anvil_setStorageAt", [target, "0x2", "0x" + "00" * 31 + "07"]),
    ]:
        assert "error" not in w3.provider.make_request(method, params)
    address = w3.to_checksum_address(target)
    assert w3.eth.get_balance(address) == 12345
    assert w3.eth.get_transaction_count(address) == 9
    assert w3.eth.get_code(address) == bytes.fromhex("6001600055")
    assert int.from_bytes(w3.eth.get_storage_at(address, 2), "big") == 7
    # The next block builds on the edited state.
    w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": address, "gas": 100_000})
    assert int.from_bytes(w3.eth.get_storage_at(address, 0), "big") == 1
    assert w3.eth.get_balance(address) == 12345


def test_execute_precompile_answers_eth_call(devnet, w3):
    """The devnet runs the NativeRollups fork: EXECUTE is one eth_call away."""
    valid = l2_block_input()
    call = {"to": "0x" + EXECUTE_PRECOMPILE_ADDRESS.hex(), "data": "0x" + encode(valid).hex()}
    result = rpc(devnet, "eth_call", call)["result"]
    decoded = StatelessValidationResult.decode_bytes(bytes.fromhex(result[2:]))
    assert decoded.successful_validation
    assert decoded.new_payload_request_root == valid.new_payload_request.hash_tree_root()
    for name, data in mutated_encodings(valid).items():
        failed = rpc(devnet, "eth_call", {**call, "data": "0x" + data.hex()})
        assert failed["error"]["code"] == 3, name


def test_logs_filters_and_subscribable_events(devnet, w3):
    probe = compile_contract("ExecuteProbe")
    factory = w3.eth.contract(abi=probe.abi, bytecode=probe.bytecode)
    receipt = w3.eth.wait_for_transaction_receipt(
        factory.constructor().transact({"from": w3.eth.accounts[0]})
    )
    contract = w3.eth.contract(address=receipt.contractAddress, abi=probe.abi)
    log_filter = w3.eth.filter({"address": contract.address})
    block_filter = w3.eth.filter("latest")
    for data in (b"\x00", b"\x00\x01\x02"):
        contract.functions.execute(data).transact({"from": w3.eth.accounts[0], "gas": 1_000_000})
    logs = w3.eth.get_logs({"fromBlock": 0, "toBlock": "latest", "address": contract.address})
    assert len(logs) == 2 and all(log["address"] == contract.address for log in logs)
    assert [log["logIndex"] for log in logs] == [0, 0]
    events = contract.events.Executed().process_receipt(
        w3.eth.get_transaction_receipt(logs[0]["transactionHash"])
    )
    assert events[0]["args"]["success"] is False
    assert len(log_filter.get_new_entries()) == 2 and log_filter.get_new_entries() == []
    assert len(block_filter.get_new_entries()) == 2
    other = w3.eth.get_logs({"fromBlock": 0, "address": "0x" + "00" * 20})
    assert other == []
    history = w3.eth.fee_history(2, "latest", [50])
    assert len(history["baseFeePerGas"]) == 3 and len(history["reward"]) == 2


def test_receipts_kept_from_building_are_the_ones_the_chain_stores(devnet, w3):
    probe = compile_contract("ExecuteProbe")
    factory = w3.eth.contract(abi=probe.abi, bytecode=probe.bytecode)
    sender = w3.eth.accounts[0]
    deployed = w3.eth.wait_for_transaction_receipt(factory.constructor().transact({"from": sender}))
    contract = w3.eth.contract(address=deployed.contractAddress, abi=probe.abi)
    w3.provider.make_request("evm_setAutomine", [False])
    hashes = [
        contract.functions.execute(b"\x00").transact({"from": sender, "gas": 1_000_000}),
        w3.eth.send_transaction({"from": sender, "to": w3.eth.accounts[1], "value": 1}),
        w3.eth.send_transaction(
            {"from": w3.eth.accounts[2], "to": w3.eth.accounts[1], "value": 2, "gasPrice": 10**10}
        ),
    ]
    w3.provider.make_request("evm_mine", [])
    head = devnet.block(devnet.head().block_number)
    assert len(head.transactions) == 3
    for block in (head, devnet.block(head.number - 1)):
        kept = devnet.block_receipts(block)
        stored = block.get_receipts(devnet.chain.chaindb)
        assert [rlp.encode(r) for r in kept] == [rlp.encode(r) for r in stored]
    receipts = [w3.eth.get_transaction_receipt(tx_hash) for tx_hash in hashes]
    assert [r.transactionIndex for r in receipts] == [0, 1, 2]
    assert (
        len(receipts[0].logs) == 1 and receipts[0].cumulativeGasUsed < receipts[1].cumulativeGasUsed
    )


def test_debug_execution_witness_proves_a_devnet_block(devnet, w3):
    from precompile.constants import FORK_PRAGUE
    from precompile.guest import verify_stateless_new_payload
    from precompile.payload import block_to_new_payload_request
    from precompile.ssz import ChainConfig, ExecutionWitness, StatelessInput
    from precompile.witness import signer_public_key

    w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": w3.eth.accounts[1], "value": 9})
    witness = w3.provider.make_request("debug_executionWitness", ["0x1"])["result"]
    assert set(witness) == {"state", "codes", "keys", "headers"}
    block = devnet.block(1)
    execution_witness = ExecutionWitness(
        state=[bytes.fromhex(n[2:]) for n in witness["state"]],
        codes=[bytes.fromhex(c[2:]) for c in witness["codes"]],
        headers=[bytes.fromhex(h[2:]) for h in witness["headers"]],
    )
    stateless_input = StatelessInput(
        new_payload_request=block_to_new_payload_request(block, ()),
        witness=execution_witness,
        chain_config=ChainConfig(chain_id=31337, fork=FORK_PRAGUE),
        public_keys=[signer_public_key(tx) for tx in block.transactions],
    )
    assert verify_stateless_new_payload(stateless_input).result.successful_validation
    genesis = w3.provider.make_request("debug_executionWitness", ["0x0"])
    assert genesis["error"]["code"] == -32602


def test_set_code_transaction_delegates_an_account(devnet, w3):
    """EIP-7702: a type-4 transaction with a signed authorization installs a delegation."""
    account = Account.from_key(devnet.accounts[6].private_key)
    delegate = "0x" + "42" * 20
    authorization = account.sign_authorization({"chainId": 31337, "address": delegate, "nonce": 1})
    signed = account.sign_transaction(
        {
            "chainId": 31337,
            "nonce": 0,
            "to": account.address,
            "gas": 100_000,
            "maxFeePerGas": 3 * 10**9,
            "maxPriorityFeePerGas": 10**9,
            "authorizationList": [authorization],
        }
    )
    receipt = w3.eth.get_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction))
    assert receipt.status == 1 and receipt.type == 4
    assert w3.eth.get_code(account.address) == bytes.fromhex("ef0100" + "42" * 20)
    assert w3.eth.get_transaction_count(account.address) == 2


def test_impersonated_account_sends_without_its_key(devnet, w3):
    whale = w3.to_checksum_address("0x" + "77" * 20)
    recipient = w3.eth.accounts[1]
    w3.provider.make_request("anvil_setBalance", [whale, hex(10**20)])
    refused = w3.provider.make_request(
        "eth_sendTransaction", [{"from": whale, "to": recipient, "value": "0x1"}]
    )
    assert "not impersonated" in refused["error"]["message"]
    assert "error" not in w3.provider.make_request("anvil_impersonateAccount", [whale])
    tx_hash = w3.eth.send_transaction({"from": whale, "to": recipient, "value": 5})
    assert w3.eth.get_transaction(tx_hash)["from"] == whale
    assert w3.eth.get_transaction_receipt(tx_hash)["from"] == whale
    assert w3.eth.get_balance(recipient) == 10_000 * 10**18 + 5
    assert w3.eth.get_transaction_count(whale) == 1
    restored = Devnet()
    restored.load_state(devnet.dump_state())
    assert restored.web3().eth.get_transaction(tx_hash)["from"] == whale
    w3.provider.make_request("hardhat_stopImpersonatingAccount", [whale])
    again = w3.provider.make_request(
        "eth_sendTransaction", [{"from": whale, "to": recipient, "value": "0x1"}]
    )
    assert "not impersonated" in again["error"]["message"]


def test_transactions_behind_a_nonce_gap_wait_for_it(devnet, w3):
    """With automine off, a future nonce stays pending until the gap is filled."""
    account = Account.from_key(devnet.accounts[7].private_key)
    fields = {"to": w3.eth.accounts[0], "value": 1, "gas": 21_000, "gasPrice": 3 * 10**9}
    w3.provider.make_request("evm_setAutomine", [False])
    later = account.sign_transaction({**fields, "nonce": 1, "chainId": 31337})
    w3.eth.send_raw_transaction(later.raw_transaction)
    w3.provider.make_request("evm_mine", [])
    assert w3.eth.get_transaction_count(account.address) == 0 and len(devnet.pending) == 1
    first = account.sign_transaction({**fields, "nonce": 0, "chainId": 31337})
    w3.eth.send_raw_transaction(first.raw_transaction)
    w3.provider.make_request("evm_mine", [])
    assert w3.eth.get_transaction_count(account.address) == 2 and devnet.pending == []


def test_an_unexpected_failure_is_an_internal_error_not_a_dead_node(devnet, monkeypatch):
    dispatcher = Dispatcher(devnet)

    def broken(*args):
        raise RuntimeError("boom")

    monkeypatch.setattr(devnet, "head", broken)
    response = dispatcher.handle({"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber"})
    assert response["error"]["code"] == -32603 and "boom" in response["error"]["message"]
    assert (
        dispatcher.handle({"jsonrpc": "2.0", "id": 2, "method": "eth_chainId"})["result"]
        == "0x7a69"
    )


def test_reset_returns_to_a_fresh_genesis(devnet, w3):
    w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": w3.eth.accounts[1], "value": 1})
    w3.provider.make_request("anvil_impersonateAccount", ["0x" + "77" * 20])
    assert w3.eth.block_number == 1
    assert "error" not in w3.provider.make_request("anvil_reset", [])
    assert w3.eth.block_number == 0
    assert w3.eth.get_balance(w3.eth.accounts[1]) == 10_000 * 10**18
    assert devnet.impersonated == set()
    forked = w3.provider.make_request("anvil_reset", [{"forking": {"jsonRpcUrl": "http://x"}}])
    assert forked["error"]["code"] == -32602


def test_call_at_a_past_block_uses_the_senders_nonce_there(w3):
    """A revert reason is replayed at the block before the failed transaction: by then the
    sender has sent more, so the call must take its nonce from that block, not the head."""
    workload, receipt = deploy_workload(w3)
    sender = w3.eth.accounts[0]
    workload.functions.fill(0, 3).transact({"from": sender})
    past = receipt.blockNumber
    assert w3.eth.get_transaction_count(sender) == 2
    assert workload.functions.slots(1).call({"from": sender}, block_identifier=past) == 0
    assert workload.functions.slots(1).call({"from": sender}) == 2


def test_trace_transaction_steps_add_up_and_bad_requests_are_named(devnet, w3):
    workload, _ = deploy_workload(w3)
    sender = w3.eth.accounts[0]
    # Two transactions in one block: the trace replays the first before the second.
    with devnet.automine_paused():
        workload.functions.fill(0, 1).transact({"from": sender, "gas": 100_000})
        second = workload.functions.fill(0, 2).transact({"from": sender, "gas": 200_000})
    devnet.mine()
    trace = rpc(devnet, "debug_traceTransaction", "0x" + bytes(second).hex())["result"]
    receipt = w3.eth.get_transaction_receipt(second)
    assert trace["gas"] == receipt.gasUsed and not trace["failed"]
    steps = trace["structLogs"]
    # Each step starts with what the last left; the first SSTORE rewrites the slot the
    # first transaction wrote (warm, non-zero to the same value: 100 gas), the second is fresh.
    for step, following in zip(steps, steps[1:]):
        assert following["gas"] == step["gas"] - step["gasCost"]
    stores = [step for step in steps if step["op"] == "SSTORE"]
    assert [step["gasCost"] for step in stores] == [2200, 22100]
    assert len(stores[1]["storage"]) == 2
    reverted = workload.functions.compute(10**8).transact({"from": sender, "gas": 100_000})
    failed = rpc(devnet, "debug_traceTransaction", "0x" + bytes(reverted).hex())["result"]
    assert failed["failed"] and failed["structLogs"][-1]["op"] == "REVERT"
    unknown = rpc(devnet, "debug_traceTransaction", "0x" + "ab" * 32)
    assert unknown["error"]["code"] == -32602 and "not in a block" in unknown["error"]["message"]
    tracer = rpc(devnet, "debug_traceTransaction", "0x" + bytes(second).hex(), {"tracer": "x"})
    assert "only the default struct logger" in tracer["error"]["message"]
    option = rpc(devnet, "debug_traceTransaction", "0x" + bytes(second).hex(), {"bogus": 1})
    assert "unknown tracer options ['bogus']" in option["error"]["message"]


def signed_transfer(nonce, value=1):
    account = Account.from_key(derive_accounts(count=1)[0].private_key)
    return account.sign_transaction(
        {
            "chainId": 31337,
            "nonce": nonce,
            "to": ANVIL_ADDRESSES[1],
            "value": value,
            "gas": 21_000,
            "maxFeePerGas": 10**10,
            "maxPriorityFeePerGas": 10**9,
        }
    )


def request_bytes(method, *params, request_id=1):
    return json.dumps(
        {"jsonrpc": "2.0", "id": request_id, "method": method, "params": list(params)}
    ).encode()


def test_a_transaction_is_answered_before_its_block_and_later_requests_wait_for_it(devnet):
    import threading

    dispatcher = Dispatcher(devnet)
    signed = signed_transfer(0)
    tx_hash = "0x" + signed.hash.hex().removeprefix("0x")
    seen = {}

    def answer(response):
        seen["answer"] = json.loads(response)["result"]
        seen["mined when answered"] = signed.hash in devnet.locations
        # A client's next request, arriving while the block is being mined.
        reader = threading.Thread(
            target=lambda: seen.setdefault(
                "receipt",
                json.loads(
                    dispatcher.handle_bytes(request_bytes("eth_getTransactionReceipt", tx_hash))
                )["result"],
            )
        )
        reader.start()
        seen["reader"] = reader

    final = dispatcher.handle_bytes(
        request_bytes("eth_sendRawTransaction", "0x" + signed.raw_transaction.hex()), answer
    )
    seen["reader"].join(30)
    assert seen["answer"] == tx_hash == json.loads(final)["result"]
    assert seen["mined when answered"] is False
    assert seen["receipt"] is not None and seen["receipt"]["blockNumber"] == "0x1"


def test_a_batch_is_answered_whole_with_one_block_per_transaction(devnet):
    dispatcher = Dispatcher(devnet)
    answers = []
    batch = json.dumps(
        [
            {
                "jsonrpc": "2.0",
                "id": n,
                "method": "eth_sendRawTransaction",
                "params": ["0x" + signed_transfer(n).raw_transaction.hex()],
            }
            for n in range(2)
        ]
        + [{"jsonrpc": "2.0", "id": 9, "method": "eth_blockNumber", "params": []}]
    ).encode()
    responses = json.loads(dispatcher.handle_bytes(batch, answers.append))
    assert answers == [] and [r["id"] for r in responses] == [0, 1, 9]
    assert responses[2]["result"] == "0x2" and devnet.head().block_number == 2


def test_a_block_that_fails_after_the_answer_keeps_its_transaction(devnet, monkeypatch, capsys):
    dispatcher = Dispatcher(devnet)
    signed = signed_transfer(0)

    def broken(timestamp):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(devnet.miner, "build_next", broken)
    answers = []
    dispatcher.handle_bytes(
        request_bytes("eth_sendRawTransaction", "0x" + signed.raw_transaction.hex()),
        answers.append,
    )
    assert json.loads(answers[0])["result"].endswith(signed.hash.hex().removeprefix("0x"))
    assert "mining failed: RuntimeError: disk on fire" in capsys.readouterr().err
    assert [t.hash for t in devnet.pending] == [signed.hash]
    monkeypatch.undo()
    devnet.mine()
    assert devnet.receipt(signed.hash) is not None and devnet.pending == []


def test_pending_nonce_and_pending_transactions_are_those_that_follow_on():
    """
    As anvil and geth: the pending nonce counts the sender's pending
    transactions that follow on from its account's nonce, not one queued
    behind a gap (which the node's own next send would have collided with),
    and a sent transaction is found by its hash before it is mined.
    """
    from eth_account import Account

    devnet = Devnet()
    w3 = devnet.web3()
    w3.provider.make_request("evm_setAutomine", [False])
    sender, recipient = w3.eth.accounts[:2]
    key = devnet.accounts[0].private_key

    def signed(nonce):
        fields = {"to": recipient, "value": 1, "gas": 21_000, "gasPrice": 2 * 10**9}
        return Account.sign_transaction({**fields, "nonce": nonce, "chainId": 31337}, key)

    first = w3.eth.send_raw_transaction(signed(0).raw_transaction)
    w3.eth.send_raw_transaction(signed(2).raw_transaction)  # behind a gap
    assert w3.eth.get_transaction_count(sender, "latest") == 0
    assert w3.eth.get_transaction_count(sender, "pending") == 1
    pending = w3.eth.get_transaction(first)
    assert pending["blockNumber"] is None and pending["nonce"] == 0
    filled = w3.eth.send_transaction({"from": sender, "to": recipient, "value": 1, "gas": 21_000})
    assert w3.eth.get_transaction(filled)["nonce"] == 1
    assert w3.eth.get_transaction_count(sender, "pending") == 3
    w3.provider.make_request("evm_mine", [])
    assert w3.eth.get_transaction_count(sender, "latest") == 3
    assert w3.eth.get_transaction(first)["blockNumber"] == 1
