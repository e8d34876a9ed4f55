"""The speed-ups are opt-in, version-checked, and build what the rules as written build."""

import logging
import subprocess
import sys

import pytest
from eth.vm.forks.cancun.constants import BEACON_ROOTS_ADDRESS, BEACON_ROOTS_CONTRACT_CODE
from eth.vm.forks.prague.constants import HISTORY_STORAGE_ADDRESS, HISTORY_STORAGE_CONTRACT_CODE

from l1 import accel
from l1.accel import stand_ins
from l1.builder import build_block
from l1.fork import NativeRollupsVM
from precompile.execute import ExecuteParameters
from precompile.forks import FORK_RULES, Prague
from precompile.genesis import GenesisAccount, new_chain

from chains import BOB, KEY_1, L2_CHAIN_ID, Sender

# Run in a fresh interpreter: the project's every module imported between two
# snapshots of the libraries it can speed up, which must be the same objects.
IMPORT_EVERYTHING = """
import importlib, inspect, pkgutil, sys
from eth_hash.auto import keccak
keccak(b""); keccak.new(b"")  # eth-hash settles its backend on first use

LIBRARIES = ["trie", "rlp", "eth_hash", "eth", "eth_account", "web3"]

def snapshot():
    seen = {}
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] not in LIBRARIES:
            continue
        for attribute, value in list(vars(module).items()):
            seen[(name, attribute)] = value
            if inspect.isclass(value) and value.__module__ == name:
                for member, inner in vars(value).items():
                    seen[(name, attribute, member)] = inner
    seen[("keccak", "hasher")] = keccak.hasher
    seen[("keccak", "preimage")] = keccak.preimage
    seen[("sys", "recursionlimit")] = sys.getrecursionlimit()
    return seen

import eth.vm.forks, trie.hexary, trie.fog, trie.iter, rlp.sedes.serializable
import eth_account, web3
before = snapshot()
for package in ("precompile", "l1", "prover", "rollup", "contracts", "nr"):
    root = importlib.import_module(package)
    for found in pkgutil.walk_packages(root.__path__, package + "."):
        importlib.import_module(found.name)
after = snapshot()
changed = sorted(str(key) for key, value in before.items() if after.get(key) is not value
                 and after.get(key) != value)
print("\\n".join(changed) if changed else "unchanged")
"""


def test_importing_the_project_changes_no_library():
    completed = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERYTHING], capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "unchanged"


def test_the_import_check_sees_a_replaced_library_function():
    """The check above can fail: enabling the speed-ups on import is what it catches."""
    script = IMPORT_EVERYTHING.replace(
        "after = snapshot()", "from l1 import accel; accel.enable()\nafter = snapshot()"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert "('trie.hexary', 'decode_node')" in completed.stdout
    assert "('keccak', 'hasher')" in completed.stdout


def test_the_import_check_sees_a_library_switch_turned_on():
    """eth-account's HD wallet switch is global: deriving the accounts leaves it off."""
    script = IMPORT_EVERYTHING.replace(
        "after = snapshot()",
        "from eth_account import Account; Account.enable_unaudited_hdwallet_features()\n"
        "after = snapshot()",
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert "_use_unaudited_hdwallet_features" in completed.stdout


@pytest.fixture
def speed_ups_restored(monkeypatch):
    """Whatever a test does to the switch, the suite's speed-ups are on again after it."""
    yield
    # The versions a test changed first: switched on under them, a part would stay off.
    monkeypatch.undo()
    accel.enable()


def test_disable_puts_the_library_functions_back(speed_ups_restored):
    import trie.hexary
    from eth_hash.auto import keccak

    accel.enable()
    assert trie.hexary.decode_node is stand_ins.decode_node
    accel.disable()
    assert trie.hexary.decode_node is stand_ins.ORIGINALS["decode_node"]
    assert trie.hexary.HexaryTrie._node_to_db_mapping is stand_ins.ORIGINALS["_node_to_db_mapping"]
    assert (keccak.hasher, keccak.preimage) == stand_ins.KECCAK_ORIGINALS
    assert not accel.enabled("forks") and not accel.enabled("trie")


def test_a_library_at_another_version_leaves_its_part_off(monkeypatch, caplog, speed_ups_restored):
    accel.disable()
    monkeypatch.setitem(accel.VERIFIED_WITH, "rlp", {"rlp": "0.0.1"})
    with caplog.at_level(logging.WARNING, logger="l1.accel"):
        parts = accel.enable()
    assert "rlp" not in parts and {"trie", "eth-hash", "forks"} <= parts
    import rlp.sedes.serializable

    assert rlp.sedes.serializable.BaseSerializable.copy is stand_ins.ORIGINALS["copy"]
    (record,) = caplog.records
    installed = accel.installed_version("rlp")
    assert f"rlp (rlp {installed}, verified with 0.0.1)" in record.getMessage()


def test_a_missing_library_counts_as_another_version(monkeypatch, speed_ups_restored):
    accel.disable()
    monkeypatch.setitem(accel.VERIFIED_WITH, "forks", {"no-such-distribution": "1.0"})
    assert "forks" not in accel.enable()
    assert accel.mismatches("forks") == {"no-such-distribution": ("not installed", "1.0")}


@pytest.mark.parametrize(
    "rules", [Prague, NativeRollupsVM.with_parameters(ExecuteParameters())], ids=["Prague", "L1"]
)
def test_accelerated_rules_build_the_blocks_the_rules_as_written_build(rules):
    def blocks(vm_class):
        chain = new_chain(
            vm_class, L2_CHAIN_ID, {KEY_1.public_key.to_canonical_address(): GenesisAccount(10**21)}
        )
        sender = Sender(chain, KEY_1, L2_CHAIN_ID)
        made = []
        for index in range(3):
            transfers = [sender.transaction(BOB, b"", index + 1, gas=50_000)]
            made.append(build_block(chain, transfers, timestamp=100 + index))
        return [block.header for block in made]

    accelerated = accel.accelerate(rules)
    assert accelerated is not rules and issubclass(accelerated, rules)
    assert blocks(accelerated) == blocks(rules)


def test_accelerated_rules_keep_every_fork():
    rules = accel.accelerated_rules()
    assert set(rules) == set(FORK_RULES)
    for fork, vm_class in rules.items():
        assert issubclass(vm_class, FORK_RULES[fork]) and vm_class is not FORK_RULES[fork]


def test_the_lock_file_pins_the_versions_the_speed_ups_were_verified_with():
    """Raising a library in constraints.txt means checking the speed-ups again."""
    from pathlib import Path

    lock = Path(__file__).resolve().parent.parent / "constraints.txt"
    pinned = dict(line.split("==", 1) for line in lock.read_text().splitlines() if "==" in line)
    for part, libraries in accel.VERIFIED_WITH.items():
        for distribution, version in libraries.items():
            assert pinned.get(distribution) == version, (part, distribution)


def test_an_accelerated_state_leaves_the_system_contracts_it_finds_unwritten():
    """
    py-evm rewrites each system contract's code, unchanged, whenever a state
    opens; the accelerated state reads it the same and writes nothing.
    """
    chain = new_chain(
        accel.accelerate(Prague),
        L2_CHAIN_ID,
        {KEY_1.public_key.to_canonical_address(): GenesisAccount(10**21)},
    )
    state = chain.get_vm().state
    assert state.get_code(BEACON_ROOTS_ADDRESS) == BEACON_ROOTS_CONTRACT_CODE
    assert state.get_code(HISTORY_STORAGE_ADDRESS) == HISTORY_STORAGE_CONTRACT_CODE
    written = dict(state._account_db._journaltrie.diff().pending_items())
    assert written == {}, "opening a state wrote accounts"


def test_an_accelerated_state_still_sets_code_outside_the_system_contracts():
    chain = new_chain(accel.accelerate(Prague), L2_CHAIN_ID, {})
    state = chain.get_vm().state
    code = state.get_code(BEACON_ROOTS_ADDRESS)
    state.set_code(BOB, code)  # the same code a system contract holds, elsewhere
    assert state.get_code(BOB) == code
    state.set_code(BEACON_ROOTS_ADDRESS, b"\x00")
    assert state.get_code(BEACON_ROOTS_ADDRESS) == b"\x00"


def test_accelerated_rules_touch_the_same_selfdestruct_beneficiaries_below_nested_calls():
    """
    EIP-161 deletes an empty account a SELFDESTRUCT two calls down touches:
    the accelerated frames, which keep their collected beneficiaries, find
    it as py-evm's walk of the call tree does, block for block.
    """
    empty, outer, inner = b"\x0e" * 20, b"\x0a" * 20, b"\x0b" * 20
    # inner: SELFDESTRUCT to the empty account; middle calls inner; outer calls middle.
    middle = b"\x0c" * 20
    inner_code = b"\x73" + empty + b"\xff"

    def calling(target: bytes) -> bytes:
        return b"\x60\x00" * 5 + b"\x73" + target + b"\x5a\xf1\x00"

    def blocks(vm_class):
        chain = new_chain(
            vm_class,
            L2_CHAIN_ID,
            {
                KEY_1.public_key.to_canonical_address(): GenesisAccount(10**21),
                empty: GenesisAccount(0),
                outer: GenesisAccount(0, code=calling(middle)),
                middle: GenesisAccount(0, code=calling(inner)),
                inner: GenesisAccount(0, code=inner_code),
            },
        )
        assert chain.get_vm().state.account_exists(empty)
        sender = Sender(chain, KEY_1, L2_CHAIN_ID)
        block = build_block(chain, [sender.transaction(outer, gas=200_000)], timestamp=100)
        assert not chain.get_vm().state.account_exists(empty), "the touched empty account stays"
        return block.header

    assert blocks(accel.accelerate(Prague)) == blocks(Prague)


def funded_chain_with_code(vm_class, codes):
    """A chain whose genesis funds KEY_1 and holds ``codes`` (address -> code)."""
    accounts = {address: GenesisAccount(0, code=code) for address, code in codes.items()}
    accounts[KEY_1.public_key.to_canonical_address()] = GenesisAccount(10**21)
    return new_chain(vm_class, L2_CHAIN_ID, accounts)


def test_accelerated_gas_and_transient_storage_run_as_py_evms():
    """
    GAS, TSTORE and TLOAD (faster logic in the accelerated rules): a value
    stored, read back, overwritten with zero, an unset slot read, the gas left
    read, and a TSTORE under STATICCALL refused; the same block as py-evm's.
    """
    contract, writer = b"\x0a" * 20, b"\x0b" * 20
    code = bytes.fromhex(
        "61123460015d"  # TSTORE(1, 0x1234)
        "60015c600055"  # SSTORE(0, TLOAD(1))
        "60025c600155"  # SSTORE(1, TLOAD(2)): never stored
        "5a600255"  # SSTORE(2, GAS)
        "600060015d60015c600355"  # TSTORE(1, 0); SSTORE(3, TLOAD(1))
        "600060006000600073" + writer.hex() + "5afa600455"  # SSTORE(4, STATICCALL(writer))
        "00"
    )

    def run(vm_class):
        chain = funded_chain_with_code(
            vm_class, {contract: code, writer: bytes.fromhex("600160015d00")}
        )
        sender = Sender(chain, KEY_1, L2_CHAIN_ID)
        block = build_block(chain, [sender.transaction(contract, gas=300_000)], timestamp=100)
        state = chain.get_vm().state
        return block.header, [state.get_storage(contract, slot) for slot in range(5)]

    header, slots = run(accel.accelerate(Prague))
    assert (header, slots) == run(Prague)
    assert slots[0] == 0x1234 and slots[1] == 0 and slots[3] == 0
    assert 0 < slots[2] < 300_000 and slots[4] == 0  # the gas left; the static write failed


def test_finished_calls_let_go_of_their_input_unless_a_tracer_reads_them():
    """
    A call that failed keeps neither its 64-byte input nor its traceback once
    it returned (py-evm keeps every frame of a transaction); the classes a
    tracer runs keep them, for it reads them afterwards.
    """
    from l1.tracing import traced_vm_class, tracer_from_options

    caller, callee = b"\x0a" * 20, b"\x0b" * 20
    # MSTORE(0, 1); CALL(GAS, callee, 0, 0, 64, 0, 0); callee: REVERT(0, 0)
    code = bytes.fromhex("60016000526000600060406000600073" + callee.hex() + "5af100")

    def finished_call(vm_class):
        chain = funded_chain_with_code(
            vm_class, {caller: code, callee: bytes.fromhex("60006000fd")}
        )
        vm = chain.get_vm()
        transaction = Sender(chain, KEY_1, L2_CHAIN_ID).transaction(caller, gas=100_000)
        _, computation = vm.apply_transaction(vm.get_header(), transaction)
        (child,) = computation.children
        assert child.is_error
        return child

    plain = finished_call(Prague)
    assert len(plain.msg.data) == 64 and plain.error.__traceback__ is not None
    accelerated = accel.accelerate(Prague)
    let_go = finished_call(accelerated)
    assert let_go.msg.data == b"" and let_go.error.__traceback__ is None
    call_tracer = tracer_from_options({"tracer": "callTracer"})
    kept = finished_call(traced_vm_class(accelerated, call_tracer))
    assert kept.msg.data == plain.msg.data and kept.error.__traceback__ is not None


def test_faster_memory_reads_what_py_evms_reads():
    import random

    from eth.vm.memory import Memory

    from l1.accel.interpreter import FasterMemory

    content = random.Random(5).randbytes(4096)
    memories = [Memory(), FasterMemory()]
    for memory in memories:
        memory.extend(0, 4096)
        memory.write(0, 4096, content)
    for start, size in [(0, 0), (0, 32), (17, 100), (4000, 96), (4096, 0), (2**40, 0)]:
        read = [memory.read_bytes(start, size) for memory in memories]
        assert read[0] == read[1] and type(read[1]) is bytes, (start, size)
