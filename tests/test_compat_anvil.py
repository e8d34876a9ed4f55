"""
One scenario against our devnet and against real anvil (npm @foundry-rs/anvil),
compared field by field. Only what must differ between two nodes (hashes,
timestamps, roots over differing genesis state) is left out of the comparison.
"""

from typing import Any, Dict, List

import pytest
from eth_account import Account

from contracts import compile_contract
from l1.accounts import derive_accounts

from chains import free_port, start_devnet_process
from peers import start_anvil

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


@pytest.fixture(scope="module")
def observations():
    results = {}
    anvil, anvil_w3 = start_anvil(free_port())
    try:
        results["anvil"] = scenario(anvil_w3)
    finally:
        anvil.terminate()
        anvil.wait(10)
    devnet, devnet_w3 = start_devnet_process(free_port(), "--silent")
    try:
        results["devnet"] = scenario(devnet_w3)
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
