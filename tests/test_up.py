"""`nr up` as a new user meets it: start it, run the cast command it prints, see L1 settle."""

import shlex
import subprocess
import sys
import time

from rollups import read_until_ready
from web3 import Web3

from contracts import compile_contract
from l1.peers import free_consecutive_ports

from peers import peer

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
