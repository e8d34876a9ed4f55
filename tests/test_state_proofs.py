"""
eth_getProof (EIP-1186) on the L1 devnet and on a rollup's L2 node, each
answer checked against its block's state root by ``merkle_patricia``, a
checker that shares no code with the node's trie library; tampered proofs
and false claims must fail that check.
"""

import copy

import pytest

from l1.node import Devnet
from l1.rpc import Dispatcher
from rollup.l2 import L2_BRIDGE, l2_node
from rollup.stages import load_preset

from merkle_patricia import (
    EMPTY_CODE_HASH,
    InvalidProof,
    hex_bytes,
    proven_value,
    verify_account_proof,
)

ACCOUNT = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
RECIPIENT = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
CONTRACT = "0x" + "5a" * 20
NOBODY = "0x" + "12" * 20


def word(value: int) -> str:
    return "0x" + value.to_bytes(32, "big").hex()


def rpc(node, method, *params):
    response = Dispatcher(node).handle(
        {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
    )
    assert "error" not in response, response
    return response["result"]


def rpc_error(node, method, *params):
    response = Dispatcher(node).handle(
        {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
    )
    return response["error"]


def nodes(proof):
    return [hex_bytes(node) for node in proof]


def state_root(node, block="latest") -> bytes:
    return hex_bytes(rpc(node, "eth_getBlockByNumber", block, False)["stateRoot"])


@pytest.fixture(scope="module")
def devnet():
    """Block 1 stores 42 and 43 in slots 1 and 2 of CONTRACT; block 2 moves 7 wei."""
    node = Devnet()
    rpc(node, "anvil_setStorageAt", CONTRACT, "0x1", word(42))
    rpc(node, "anvil_setStorageAt", CONTRACT, "0x2", word(43))
    rpc(node, "anvil_setCode", CONTRACT, "0x00")
    rpc(node, "evm_mine")
    rpc(node, "eth_sendTransaction", {"from": ACCOUNT, "to": RECIPIENT, "value": "0x7"})
    return node


def test_accounts_and_slots_are_proven_against_the_blocks_state_root(devnet):
    root = state_root(devnet)
    proof = rpc(devnet, "eth_getProof", CONTRACT, [word(1), "0x2", word(5)], "latest")
    verify_account_proof(root, proof)
    assert proof["address"].lower() == CONTRACT
    assert [slot["value"] for slot in proof["storageProof"]] == ["0x2a", "0x2b", "0x0"]
    assert [slot["key"] for slot in proof["storageProof"]] == [word(1), word(2), word(5)]
    sender = rpc(devnet, "eth_getProof", ACCOUNT, [], "latest")
    verify_account_proof(root, sender)
    assert sender["nonce"] == "0x1" and sender["storageProof"] == []
    assert int(sender["balance"], 16) == int(rpc(devnet, "eth_getBalance", ACCOUNT), 16)


def test_an_absent_account_and_an_absent_slot_have_exclusion_proofs(devnet):
    root = state_root(devnet)
    absent = rpc(devnet, "eth_getProof", NOBODY, [word(0)], "latest")
    verify_account_proof(root, absent)
    assert proven_value(root, hex_bytes(NOBODY), nodes(absent["accountProof"])) is None
    assert absent["balance"] == "0x0" and absent["nonce"] == "0x0"
    # An empty storage trie proves every slot absent with its root node alone.
    assert absent["storageProof"][0]["proof"] == ["0x80"]
    slot = rpc(devnet, "eth_getProof", CONTRACT, [word(5)], "latest")["storageProof"][0]
    storage_root = hex_bytes(rpc(devnet, "eth_getProof", CONTRACT, [], "latest")["storageHash"])
    assert proven_value(storage_root, hex_bytes(word(5)), nodes(slot["proof"])) is None


def test_a_past_block_is_proven_against_its_own_root(devnet):
    before = rpc(devnet, "eth_getProof", RECIPIENT, [], "0x1")
    verify_account_proof(state_root(devnet, "0x1"), before)
    assert int(before["balance"], 16) == 10_000 * 10**18
    with pytest.raises(InvalidProof):
        verify_account_proof(state_root(devnet, "latest"), before)


def test_the_head_as_edited_is_proven_against_the_edited_root():
    node = Devnet()
    rpc(node, "anvil_setStorageAt", CONTRACT, "0x3", word(9))
    proof = rpc(node, "eth_getProof", CONTRACT, [word(3)], "latest")
    assert proof["storageProof"][0]["value"] == "0x9"
    verify_account_proof(node.state_at().state_root, proof)


def tampered(proof, change):
    """A deep copy of ``proof`` with ``change`` applied to it."""
    copied = copy.deepcopy(proof)
    change(copied)
    return copied


def flip_byte(nodes, index):
    node = bytearray(hex_bytes(nodes[index]))
    node[len(node) // 2] ^= 1
    nodes[index] = "0x" + node.hex()


TAMPERINGS = {
    "a byte of the root node": lambda p: flip_byte(p["accountProof"], 0),
    "a byte of the account leaf": lambda p: flip_byte(p["accountProof"], -1),
    "a byte of a storage node": lambda p: flip_byte(p["storageProof"][0]["proof"], -1),
    "the account leaf left out": lambda p: p["accountProof"].pop(),
    "a node past the path": lambda p: p["accountProof"].append(p["accountProof"][-1]),
    "a higher balance": lambda p: p.update(balance=hex(int(p["balance"], 16) + 1)),
    "another nonce": lambda p: p.update(nonce="0x7"),
    "another storage root": lambda p: p.update(storageHash=word(1)),
    "another code hash": lambda p: p.update(codeHash=word(1)),
    "another slot value": lambda p: p["storageProof"][0].update(value="0x2b"),
    "a value for an absent slot": lambda p: p["storageProof"][1].update(value="0x1"),
    "another slot's proof": lambda p: p["storageProof"][0].update(key=word(2)),
}


@pytest.mark.parametrize("tampering", TAMPERINGS)
def test_a_tampered_proof_or_a_false_claim_fails_verification(devnet, tampering):
    root = state_root(devnet)
    proof = rpc(devnet, "eth_getProof", CONTRACT, [word(1), word(5)], "latest")
    verify_account_proof(root, proof)
    with pytest.raises(InvalidProof):
        verify_account_proof(root, tampered(proof, TAMPERINGS[tampering]))


def test_an_absent_account_cannot_be_claimed_funded(devnet):
    root = state_root(devnet)
    absent = rpc(devnet, "eth_getProof", NOBODY, [], "latest")
    with pytest.raises(InvalidProof):
        verify_account_proof(root, tampered(absent, lambda p: p.update(balance="0x1")))


def test_an_l2_node_serves_proofs_of_its_own_state():
    l2 = l2_node(load_preset(1))
    rpc(l2, "eth_sendTransaction", {"from": ACCOUNT, "to": RECIPIENT, "value": "0x7"})
    root = state_root(l2)
    bridge = "0x" + L2_BRIDGE.hex()
    for address in (bridge, RECIPIENT, NOBODY):
        verify_account_proof(root, rpc(l2, "eth_getProof", address, [word(0)], "latest"))
    proven = rpc(l2, "eth_getProof", bridge, [], "latest")
    assert int(proven["balance"], 16) == int(rpc(l2, "eth_getBalance", bridge), 16) > 0
    assert hex_bytes(proven["codeHash"]) != EMPTY_CODE_HASH


BAD_PARAMS = {
    "keys not an array": (
        [CONTRACT, word(1)],
        "eth_getProof: storageKeys must be an array of 0x-prefixed hex of at most 32 bytes",
    ),
    "a key too long": (
        [CONTRACT, [word(1), "0x" + "11" * 33]],
        "eth_getProof: storageKeys[1] must be 0x-prefixed hex of at most 32 bytes, got \"0x1111",
    ),
    "a key not hex": (
        [CONTRACT, ["slot one"]],
        "eth_getProof: storageKeys[0] must be 0x-prefixed hex of at most 32 bytes",
    ),
    "no keys": ([CONTRACT], "eth_getProof: missing storageKeys"),
    "a bad address": (["0x1234", []], "eth_getProof: address must be 20 bytes"),
    "a block beyond the head": ([CONTRACT, [], "0x99"], "block 153 is beyond the head 2"),
}


@pytest.mark.parametrize("case", BAD_PARAMS)
def test_bad_proof_requests_are_named_invalid_params(devnet, case):
    params, message = BAD_PARAMS[case]
    error = rpc_error(devnet, "eth_getProof", *params)
    assert error["code"] == -32602, error
    assert error["message"].startswith(f"invalid params: {message}"), error
