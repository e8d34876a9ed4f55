"""The same user session through foundry's cast and through ethers v6 in node, against nr devnet."""

import json
import subprocess

import pytest

from contracts import compile_contract

from chains import free_port, start_devnet_process
from merkle_patricia import InvalidProof, verify_account_proof
from peers import ethers_module, node_executable, peer

KEY_0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
BOB = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


@pytest.fixture(scope="module")
def rpc_url():
    port = free_port()
    process, _ = start_devnet_process(port, "--silent")
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(30)


def cast(rpc_url, subcommand, *args):
    completed = subprocess.run(
        [peer("cast"), subcommand, "--rpc-url", rpc_url, *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.strip()


def test_cast_session(rpc_url):
    assert cast(rpc_url, "chain-id") == "31337"
    before = int(cast(rpc_url, "balance", BOB))
    receipt = json.loads(
        cast(rpc_url, "send", "--private-key", KEY_0, BOB, "--value", "1ether", "--json")
    )
    assert receipt["status"] == "0x1"
    assert int(cast(rpc_url, "balance", BOB)) == before + 10**18
    workload = compile_contract("Workload")
    deployed = json.loads(
        cast(
            rpc_url,
            "send",
            "--private-key",
            KEY_0,
            "--json",
            "--create",
            "0x" + workload.bytecode.hex(),
        )
    )
    address = deployed["contractAddress"]
    assert cast(rpc_url, "code", address) != "0x"
    cast(
        rpc_url,
        "send",
        "--private-key",
        KEY_0,
        address,
        "fill(uint256,uint256)",
        "3",
        "2",
        "--json",
    )
    assert cast(rpc_url, "call", address, "slots(uint256)(uint256)", "4") == "5"
    estimate = int(cast(rpc_url, "estimate", address, "fill(uint256,uint256)", "10", "1"))
    assert 40_000 < estimate < 100_000
    assert cast(rpc_url, "block-number") == "3"
    assert json.loads(cast(rpc_url, "block", "latest", "--json"))["number"] == "0x3"
    reverted = subprocess.run(
        [peer("cast"), "call", address, "compute(uint256)", str(10**8), "--rpc-url", rpc_url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "execution reverted" in reverted.stderr


ETHERS_SESSION = r"""
const [ethersPath, url, key, recipient, abiJson, bytecode] = process.argv.slice(1);
const { ethers } = require(ethersPath);
(async () => {
  // ethers caches identical requests for 250 ms; a nonce read right after a mined
  // transaction must not come from that cache.
  const options = { staticNetwork: true, cacheTimeout: -1 };
  const provider = new ethers.JsonRpcProvider(url, undefined, options);
  const wallet = new ethers.Wallet(key, provider);
  const network = await provider.getNetwork();
  const before = await provider.getBalance(recipient);
  const tx = await wallet.sendTransaction({ to: recipient, value: 12345n });
  const receipt = await tx.wait();
  const after = await provider.getBalance(recipient);
  const factory = new ethers.ContractFactory(JSON.parse(abiJson), bytecode, wallet);
  const contract = await factory.deploy();
  await contract.waitForDeployment();
  await (await contract.fill(1, 2)).wait();
  const slot = await contract.slots(2n);
  const events = await contract.queryFilter(contract.filters.Filled());
  console.log(JSON.stringify({
    chainId: network.chainId.toString(), status: receipt.status, moved: (after - before).toString(),
    slot: slot.toString(), events: events.length, first: events[0].args[0].toString(),
  }));
})().catch((error) => { console.error(error); process.exit(1); });
"""


def test_ethers_session(rpc_url):
    workload = compile_contract("Workload")
    ethers = ethers_module()
    completed = subprocess.run(
        [
            node_executable(),
            "-e",
            ETHERS_SESSION,
            ethers,
            rpc_url,
            KEY_0,
            BOB,
            json.dumps(workload.abi),
            "0x" + workload.bytecode.hex(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result == {
        "chainId": "31337",
        "status": 1,
        "moved": "12345",
        "slot": "3",
        "events": 1,
        "first": "1",
    }


def test_cast_proof_verifies_against_the_blocks_state_root(rpc_url):
    """foundry's ``cast proof`` reads eth_getProof; its answer checks out independently."""
    target = "0x" + "5a" * 20
    cast(rpc_url, "rpc", "anvil_setStorageAt", target, "0x1", "0x" + "00" * 31 + "2a")
    cast(rpc_url, "rpc", "evm_mine")
    root = bytes.fromhex(json.loads(cast(rpc_url, "block", "latest", "--json"))["stateRoot"][2:])
    proof = json.loads(cast(rpc_url, "proof", target, "1", "0x5"))
    verify_account_proof(root, proof)
    assert [slot["value"] for slot in proof["storageProof"]] == ["0x2a", "0x0"]
    verify_account_proof(root, json.loads(cast(rpc_url, "proof", "0x" + "ab" * 20, "1")))
    proof["storageProof"][1]["value"] = "0x1"
    with pytest.raises(InvalidProof):
        verify_account_proof(root, proof)
