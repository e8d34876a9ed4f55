"""`nr up` as a new user meets it: start it, run the cast command it prints, see L1 settle."""

import shlex
import subprocess
import sys
import time

from web3 import Web3

from contracts import compile_contract
from l1.peers import free_consecutive_ports

from peers import peer
from rollups import read_until_ready

SETTLE_TIMEOUT = 60


def test_up_prints_what_a_user_needs_and_settles_their_l2_transaction():
    port = free_consecutive_ports(4)  # L1, then one L2 per stage
    process = subprocess.Popen(
        [sys.executable, "-m", "nr.cli", "up", "--port", str(port), "--settle-interval", "0.5"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        lines = read_until_ready(process)
        for stage, l2_port in ((0, port + 1), (1, port + 2), (2, port + 3)):
            assert any(f"stage {stage}" in line and f":{l2_port}" in line for line in lines)
        rollups = [line.split()[-1] for line in lines if "NativeRollup (L1)" in line]
        assert len(rollups) == 3
        # The first printed command, as printed: an L2 transfer on the stage 0 rollup.
        command = next(line for line in lines if line.startswith("cast send"))
        arguments = shlex.split(command)
        sent = subprocess.run(
            [peer("cast")] + arguments[1:], capture_output=True, text=True, timeout=60
        )
        assert sent.returncode == 0, sent.stderr
        assert "status               1 (success)" in sent.stdout
        l1 = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{port}"))
        rollup = l1.eth.contract(rollups[0], abi=compile_contract("NativeRollup").abi)
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while rollup.functions.head_number().call() < 1:
            assert time.monotonic() < deadline, "the L2 block was not settled on L1"
            time.sleep(0.5)
        l2 = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{port + 1}"))
        assert rollup.functions.state_root_at(1).call() == l2.eth.get_block(1).stateRoot
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_up_in_proofs_mode_settles_through_its_shared_prover():
    port = free_consecutive_ports(2)
    process = subprocess.Popen(
        [
            sys.executable, "-m", "nr.cli", "up", "--port", str(port), "--stages", "0",
            "--execute-mode", "proofs", "--settle-interval", "0.5",
        ],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        lines = read_until_ready(process)
        assert any("EXECUTE mode: proofs, 3 of 5" in line for line in lines)
        (rollup_address,) = [line.split()[-1] for line in lines if "NativeRollup (L1)" in line]
        l2 = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{port + 1}"))
        l2.eth.send_transaction(
            {"from": l2.eth.accounts[0], "to": l2.eth.accounts[1], "value": 10**18}
        )
        l1 = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{port}"))
        rollup = l1.eth.contract(rollup_address, abi=compile_contract("NativeRollup").abi)
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while rollup.functions.head_number().call() < 1:
            assert time.monotonic() < deadline, "the L2 block was not settled on L1"
            time.sleep(0.5)
        # Settled on proofs: the pool holds at least three proof types for that block.
        requests = l1.provider.make_request("nr_getProofRequests", [])["result"]
        assert any(len(request["proofTypes"]) >= 3 for request in requests)
    finally:
        process.terminate()
        process.wait(timeout=30)
    # The prover's log says which proofs it made and what the node made of them.
    made = [line for line in process.stdout.read().splitlines() if line.startswith("prover: ")]
    assert any(line.startswith("prover: reexec-pyevm 0x") and "-> accept" in line
               for line in made), made
