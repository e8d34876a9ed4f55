"""Devnet state: dump and load, --state across restarts, and saves that survive kill -9."""

import gzip
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from l1.node import Devnet, InvalidState

from chains import free_port, nr_devnet_command, start_devnet_process

RECIPIENT = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def test_dump_and_load_restore_blocks_balances_and_receipts():
    source = Devnet()
    w3 = source.web3()
    tx_hash = w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": RECIPIENT, "value": 77})
    target = Devnet()
    dumped = w3.provider.make_request("anvil_dumpState", [])["result"]
    assert target.web3().provider.make_request("anvil_loadState", [dumped])["result"] is True
    restored = target.web3()
    assert restored.eth.block_number == 1
    assert restored.eth.get_balance(RECIPIENT) == 10_000 * 10**18 + 77
    assert restored.eth.get_transaction_receipt(tx_hash).status == 1
    # The restored chain keeps growing.
    restored.eth.send_transaction({"from": restored.eth.accounts[0], "to": RECIPIENT, "value": 1})
    assert restored.eth.block_number == 2


@pytest.mark.parametrize(
    "corrupt, reason",
    [
        (lambda dump: dump[: len(dump) // 2], "unreadable state dump: truncated"),
        (lambda dump: b"not gzip at all", "unreadable state dump: not gzip-compressed"),
        (lambda dump: gzip.compress(b"{not json"), "not JSON once decompressed"),
        (lambda dump: gzip.compress(b"[1, 2]"), "its JSON is not an object"),
        (lambda dump: edited(dump, lambda document: document.pop("db")), "it has no 'db' field"),
        (
            lambda dump: edited(dump, lambda document: document.update(head="0xzz")),
            "its fields do not form a chain",
        ),
    ],
)
def test_bad_dumps_are_refused_and_the_chain_is_kept(corrupt, reason):
    source = Devnet()
    source.web3().eth.send_transaction({"from": source.web3().eth.accounts[0], "to": RECIPIENT})
    target = Devnet()
    with pytest.raises(InvalidState, match=reason) as refused:
        target.load_state(corrupt(source.dump_state()))
    assert "Error" not in str(refused.value)  # the node's words, not a library's
    assert target.head().block_number == 0 and target.web3().eth.chain_id == 31337


def edited(dump: bytes, edit) -> bytes:
    """``dump`` with ``edit`` applied to its JSON document."""
    document = json.loads(gzip.decompress(dump))
    edit(document)
    return gzip.compress(json.dumps(document).encode())


def test_dump_for_another_chain_is_refused():
    from l1.node import DevnetConfig

    other = Devnet(DevnetConfig(chain_id=5))
    with pytest.raises(InvalidState, match="state is for chain 5"):
        Devnet().load_state(other.dump_state())


def test_failed_save_leaves_the_previous_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "state.json.gz"
    devnet = Devnet()
    devnet.save_state(str(path))
    before = path.read_bytes()
    devnet.web3().eth.send_transaction({"from": devnet.web3().eth.accounts[0], "to": RECIPIENT})

    def broken_fsync(descriptor):
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        devnet.save_state(str(path))
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json.gz"]


SAVER = """
import sys
from l1.node import Devnet
devnet = Devnet()
w3 = devnet.web3()
for _ in range(40):
    w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": w3.eth.accounts[1], "value": 1})
print("ready", flush=True)
while True:
    devnet.save_state(sys.argv[1])
"""


def test_kill_9_while_saving_leaves_a_loadable_file(tmp_path):
    path = tmp_path / "state.json.gz"
    Devnet().save_state(str(path))
    for delay in (0.05, 0.13, 0.21, 0.34, 0.55):
        saver = subprocess.Popen(
            [sys.executable, "-c", SAVER, str(path)], stdout=subprocess.PIPE, text=True
        )
        assert saver.stdout.readline().strip() == "ready"
        time.sleep(delay)
        saver.send_signal(signal.SIGKILL)
        saver.wait()
        Devnet().load_state(path.read_bytes())


def test_state_flag_survives_a_restart(tmp_path):
    path = tmp_path / "devnet-state"
    port = free_port()

    def start():
        return start_devnet_process(port, "--silent", "--state", str(path))

    process, w3 = start()
    w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": RECIPIENT, "value": 5})
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0
    assert path.exists()
    process, w3 = start()
    try:
        assert w3.eth.block_number == 1
        assert w3.eth.get_balance(RECIPIENT) == 10_000 * 10**18 + 5
    finally:
        process.terminate()
        process.wait(30)
    path.write_bytes(b"garbage")
    broken = subprocess.run(
        nr_devnet_command(port, "--silent", "--state", str(path)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert broken.returncode == 2 and "unreadable state dump" in broken.stderr
