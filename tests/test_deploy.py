"""`nr deploy` against an `nr devnet` process: a rollup that settles on it, and clear refusals."""

import subprocess
import sys
import time

from web3 import Web3

from contracts import compile_contract

from chains import free_port, start_devnet_process
from rollups import ALICE, BOB, read_until_ready

SETTLE_TIMEOUT = 60


def nr_deploy(*arguments: str, **popen):
    return subprocess.Popen(
        [sys.executable, "-m", "nr.cli", "deploy", *arguments],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen,
    )


def test_deploy_settles_l2_blocks_on_a_running_devnet():
    l1_port, l2_port = free_port(), free_port()
    devnet, l1 = start_devnet_process(l1_port)
    deploy = None
    try:
        deploy = nr_deploy(
            "--stage", "2", "--l1", f"http://127.0.0.1:{l1_port}", "--port", str(l2_port),
            "--settle-interval", "0.5",
        )
        lines = read_until_ready(deploy)
        assert any(f"stage 2  L2 chain id 902  rpc http://127.0.0.1:{l2_port}" in line
                   for line in lines)
        rollup_address = next(line.split()[-1] for line in lines if "NativeRollup (L1)" in line)
        governance = next(line.split()[-1] for line in lines if "Governance (L1)" in line)
        rollup = l1.eth.contract(rollup_address, abi=compile_contract("NativeRollup").abi)
        assert rollup.functions.l2_chain_id().call() == 902
        assert rollup.functions.admin().call() == governance

        l2 = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{l2_port}"))
        assert l2.eth.chain_id == 902
        l2.eth.send_transaction({"from": ALICE, "to": BOB, "value": 10**18})
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while rollup.functions.head_number().call() < 1:
            assert time.monotonic() < deadline, "the L2 block was not settled on L1"
            time.sleep(0.5)
        assert rollup.functions.state_root_at(1).call() == l2.eth.get_block(1).stateRoot
        assert_status_reports_the_settled_block(l1_port, l2_port, rollup_address, l2)
        assert_withdraws_and_claims_over_rpc(l1_port, l2_port, l1, rollup)
    finally:
        for process in (deploy, devnet):
            if process is not None:
                process.terminate()
                process.wait(timeout=30)


def test_deploy_refuses_a_bad_stage_or_an_absent_l1():
    unknown = nr_deploy("--stage", "3")
    output, _ = unknown.communicate(timeout=60)
    assert unknown.returncode == 2
    assert "no stage 3" in output

    absent = nr_deploy("--stage", "1", "--l1", f"http://127.0.0.1:{free_port()}")
    output, _ = absent.communicate(timeout=60)
    assert absent.returncode == 1
    assert "no L1 answers at" in output


def test_deploy_with_its_port_taken_touches_nothing_on_l1():
    import socket

    l1_port = free_port()
    devnet, l1 = start_devnet_process(l1_port)
    try:
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            before = l1.eth.block_number
            deploy = nr_deploy(
                "--stage", "0", "--l1", f"http://127.0.0.1:{l1_port}", "--port", str(port)
            )
            output, _ = deploy.communicate(timeout=60)
        assert deploy.returncode == 1
        assert f"cannot listen on 127.0.0.1:{port}" in output and "Traceback" not in output
        assert l1.eth.block_number == before, "contracts were deployed before the port check"
    finally:
        devnet.terminate()
        devnet.wait(10)


def test_deploy_refuses_an_l2_chain_id_a_rollup_on_that_l1_uses():
    from rollup.registry import rollups_with_chain_id
    from rollup.rollup import Rollup

    l1_port = free_port()
    devnet, l1 = start_devnet_process(l1_port)
    try:
        first = Rollup.deploy(l1, 0)
        chain_id = first.config.l2_chain_id
        # Code that logs the same event for another id is not a rollup: it takes no chain id.
        topic = l1.eth.contract(abi=compile_contract("NativeRollup").abi).events.RollupCreated()
        squatter = (
            b"\x7f" + (chain_id + 1).to_bytes(32, "big") + b"\x7f" + bytes.fromhex(topic.topic[2:])
            + bytes.fromhex("6000" "6000" "a2" "00")  # LOG2(0, 0, topic, id); STOP
        )
        receipt = l1.eth.wait_for_transaction_receipt(
            l1.eth.send_transaction({"from": ALICE, "data": squatter})
        )
        assert len(receipt.logs) == 1
        assert rollups_with_chain_id(l1, chain_id) == [first.address]
        assert rollups_with_chain_id(l1, chain_id + 1) == []
        before = l1.eth.block_number
        deploy = nr_deploy("--stage", "0", "--l1", f"http://127.0.0.1:{l1_port}",
                           "--port", str(free_port()))
        output, _ = deploy.communicate(timeout=60)
        assert deploy.returncode == 1, output
        assert (f"L2 chain id {chain_id} is taken on this L1 by the rollup at "
                f"{first.address}") in output and "--reuse-chain-id" in output
        assert l1.eth.block_number == before, "contracts were deployed before the check"
    finally:
        devnet.terminate()
        devnet.wait(10)


def nr(*arguments: str) -> subprocess.CompletedProcess:
    """
    An nr command run in this process, its output and exit status as from a
    subprocess: a new Python would spend seconds importing web3 each time.
    """
    from contextlib import redirect_stderr, redirect_stdout
    from io import StringIO

    from nr.cli import main

    stdout, stderr = StringIO(), StringIO()
    with redirect_stdout(stdout), redirect_stderr(stderr):
        try:
            code = main(list(arguments))
        except SystemExit as exited:  # argparse refusing a flag
            code = exited.code
    return subprocess.CompletedProcess(arguments, code, stdout.getvalue(), stderr.getvalue())


def nr_process(*arguments: str) -> subprocess.CompletedProcess:
    """An nr command as a user runs it: its own process."""
    return subprocess.run(
        [sys.executable, "-m", "nr.cli", *arguments], capture_output=True, text=True, timeout=120
    )


def nr_status(*arguments: str):
    return nr("status", *arguments)


def assert_status_reports_the_settled_block(l1_port, l2_port, rollup_address, l2):
    """``nr status`` (nr_settlementStatus) agrees with the L1 contract and the L2 node."""
    import json

    answered = nr_process("status", "--l2", f"http://127.0.0.1:{l2_port}", "--json")
    assert answered.returncode == 0, answered.stderr
    status = json.loads(answered.stdout)
    settled = int(status["settled"]["number"], 16)
    assert settled >= 1 and status["rollup"] == rollup_address
    assert status["settled"]["stateRoot"] == "0x" + l2.eth.get_block(settled).stateRoot.hex()
    assert int(status["l2Head"]["number"], 16) >= settled
    printed = nr_status("--l2", f"http://127.0.0.1:{l2_port}")
    assert f"stage 2 rollup {rollup_address} (L2 chain id 902)" in printed.stdout
    assert "settled      #" in printed.stdout
    # The L1 is not a rollup's endpoint, and nothing listening is said so.
    on_l1 = nr_status("--l2", f"http://127.0.0.1:{l1_port}")
    assert on_l1.returncode == 1 and "is not a rollup's L2 endpoint" in on_l1.stderr
    nowhere = nr_status("--l2", f"http://127.0.0.1:{free_port()}")
    assert nowhere.returncode == 1 and "no rollup L2 answers at" in nowhere.stderr
    assert "Traceback" not in on_l1.stderr + nowhere.stderr


def withdrawn_in(completed) -> str:
    """The L2 transaction hash ``nr withdraw`` printed."""
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.split("L2 transaction ")[1].split()[0]


def assert_withdraws_and_claims_over_rpc(l1_port, l2_port, l1, rollup):
    """nr withdraw on L2, then nr claim on L1 once settled and final: no Python API involved."""
    l1_url, l2_url = f"http://127.0.0.1:{l1_port}", f"http://127.0.0.1:{l2_port}"
    recipient = "0x" + "5a" * 20
    # Escrow on L1 what L2 ether stands for (the L2 genesis funds accounts that never deposited).
    l1.eth.wait_for_transaction_receipt(
        rollup.functions.deposit(ALICE).transact({"from": ALICE, "value": 10**18})
    )
    started = nr_process("withdraw", "--l2", l2_url, "--amount", "0.25ether", "--to", recipient)
    transaction = withdrawn_in(started)
    assert f"nr claim --l2 {l2_url} --tx {transaction}" in started.stdout
    too_much = withdrawn_in(nr("withdraw", "--l2", l2_url, "--amount", "5ether"))
    l2 = Web3(Web3.HTTPProvider(l2_url))
    block = l2.eth.get_transaction_receipt(too_much).blockNumber
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while rollup.functions.head_number().call() < block:
        assert time.monotonic() < deadline, "the withdrawals' L2 blocks were not settled"
        time.sleep(0.5)
    early = nr("claim", "--l1", l1_url, "--l2", l2_url, "--tx", transaction)
    assert early.returncode == 1 and "not final yet" in early.stderr, early.stderr
    l1.provider.make_request("evm_increaseTime", [3601])
    l1.provider.make_request("evm_mine", [])
    claimed = nr_process("claim", "--l1", l1_url, "--l2", l2_url, "--tx", transaction)
    assert claimed.returncode == 0, claimed.stderr
    assert l1.eth.get_balance(Web3.to_checksum_address(recipient)) == 25 * 10**16
    again = nr("claim", "--l1", l1_url, "--l2", l2_url, "--tx", transaction)
    assert again.returncode == 1 and "already claimed" in again.stderr
    short = nr("claim", "--l1", l1_url, "--l2", l2_url, "--tx", too_much)
    assert short.returncode == 1 and "less than the 5000000000000000000 withdrawn" in short.stderr
    bad = nr("withdraw", "--l2", l2_url, "--amount", "lots")
    assert bad.returncode == 2 and "is not an amount" in bad.stderr
    assert "Traceback" not in early.stderr + again.stderr + short.stderr + bad.stderr
