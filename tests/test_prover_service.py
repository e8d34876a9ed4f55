"""
``nr prover`` processes against an ``nr devnet --execute-mode proofs``
process: proofs travel over the node's execution_proof topic, an EXECUTE
transaction waits in the pool while too few provers are up and goes in once
enough are; clear refusals for bad flags.
"""

import subprocess
import sys
import time

from eth_utils import to_checksum_address

from precompile.constants import EXECUTE_PRECOMPILE_ADDRESS
from precompile.encoding import encode

from chains import free_port, l2_block_input, start_devnet_process

PROVE_TIMEOUT = 60


def nr(*arguments: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "nr.cli", *arguments],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def nr_prover(port: int, index: int, proof_types: str) -> subprocess.Popen:
    return nr(
        "prover", "--l1", f"http://127.0.0.1:{port}", "--prover-index", str(index),
        "--proof-types", proof_types, "--workers", "1",
    )


def wait_for(condition, timeout=PROVE_TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


def proof_types_held(l1, root):
    return sorted(p["proofType"] for p in l1.provider.make_request(
        "nr_getExecutionProofs", [root])["result"])


def test_provers_over_the_topic_stall_below_threshold_and_resume():
    port = free_port()
    devnet, l1 = start_devnet_process(
        port, "--execute-mode", "proofs", "--threshold", "3/5", "--deterministic-provers"
    )
    provers = []
    try:
        data = encode(l2_block_input())
        tx_hash = l1.eth.send_transaction({
            "from": l1.eth.accounts[0], "to": to_checksum_address(EXECUTE_PRECOMPILE_ADDRESS),
            "data": data, "gas": 2_000_000,
        })
        (request,) = l1.provider.make_request("nr_getProofRequests", [])["result"]
        root = request["newPayloadRequestRoot"]
        # Two of five proof types online (three provers down): the block waits.
        provers.append(nr_prover(port, 0, "reexec-pyevm"))
        provers.append(nr_prover(port, 3, "attested-revm"))
        wait_for(lambda: len(proof_types_held(l1, root)) == 2)
        l1.provider.make_request("evm_mine", [])
        assert l1.provider.make_request("eth_getTransactionReceipt", ["0x" + bytes(tx_hash).hex()])[
            "result"] is None
        awaiting = l1.provider.make_request("nr_awaitingProofs", [])["result"]
        assert [entry["hash"] for entry in awaiting] == ["0x" + bytes(tx_hash).hex()]
        assert "2 of the 3" in awaiting[0]["reason"]
        # A third comes up: the transaction goes in without being sent again.
        provers.append(nr_prover(port, 4, "attested-eels"))
        receipt = l1.eth.wait_for_transaction_receipt(tx_hash, timeout=PROVE_TIMEOUT)
        assert receipt.status == 1
        assert proof_types_held(l1, root) == ["attested-eels", "attested-revm", "reexec-pyevm"]
    finally:
        for process in [*provers, devnet]:
            process.terminate()
            process.wait(10)
    log = provers[0].stdout.read()
    assert "reexec-pyevm" in log and "-> accept" in log


def test_prover_refuses_a_key_the_l1_does_not_register():
    port = free_port()
    devnet, _ = start_devnet_process(port, "--provers", "2")
    try:
        prover = nr_prover(port, 4, "attested-pyevm")
        output, _ = prover.communicate(timeout=60)
        assert prover.returncode == 1
        assert "not registered as prover 4" in output
    finally:
        devnet.terminate()
        devnet.wait(10)


def test_prover_exits_when_the_l1_goes_away():
    port = free_port()
    devnet, _ = start_devnet_process(port, "--deterministic-provers")
    prover = nr_prover(port, 0, "attested-pyevm")
    try:
        wait_for(lambda: prover.stdout.readline().startswith("prover 0 following"))
    finally:
        devnet.kill()
        devnet.wait(10)
    output, _ = prover.communicate(timeout=60)
    assert prover.returncode == 1
    assert "closed the connection" in output


def test_bad_proof_flags_are_named():
    prover = nr("prover", "--proof-types", "reexec-pyevm,zk-magic")
    output, _ = prover.communicate(timeout=60)
    assert prover.returncode == 2 and "'zk-magic' is not one of" in output
    devnet = nr("devnet", "--execute-mode", "proofs", "--threshold", "3/4")
    output, _ = devnet.communicate(timeout=60)
    assert devnet.returncode == 2 and "N must be the number of accepted proof types" in output
    devnet = nr("devnet", "--threshold", "5/5")
    output, _ = devnet.communicate(timeout=60)
    assert devnet.returncode == 2 and "MAX_EXECUTION_PROOFS_PER_PAYLOAD" in output
    devnet = nr("devnet", "--threshold", "three")
    output, _ = devnet.communicate(timeout=60)
    assert devnet.returncode == 2 and "is not K/N" in output
