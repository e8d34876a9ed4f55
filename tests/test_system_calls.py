"""A remembered end-of-block system call does exactly what running its bytecode does."""

import pytest
from eth.vm.forks.prague.constants import WITHDRAWAL_REQUEST_PREDEPLOY_ADDRESS

from l1.accel import accelerate
from l1.accel.system_calls import ENVIRONMENT_OPCODES, SystemCallOutcomes, opcodes
from l1.builder import build_block
from l1.node import Devnet, DevnetConfig
from precompile.constants import FORK_PRAGUE
from precompile.forks import Prague
from precompile.genesis import GenesisAccount, new_chain
from precompile.guest import verify_stateless_new_payload
from precompile.ssz import ChainConfig
from precompile.system_contracts import (
    CONSOLIDATION_REQUEST_CONTRACT_CODE,
    WITHDRAWAL_REQUEST_CONTRACT_CODE,
)
from precompile.witness import execute_with_witness, prove_block

from chains import BOB, KEY_1, L2_CHAIN_ID, Sender

CHAIN_CONFIG = ChainConfig(chain_id=L2_CHAIN_ID, fork=FORK_PRAGUE)
# A withdrawal request: a 48-byte validator key and an 8-byte amount, paying the fee.
WITHDRAWAL_REQUEST = bytes(range(48)) + (32 * 10**9).to_bytes(8, "big")


class NeverReused(SystemCallOutcomes):
    def key(self, state, address, code):
        return None


class Counted(SystemCallOutcomes):
    def __init__(self):
        super().__init__()
        self.replayed = 0

    def replay(self, state, key):
        output = super().replay(state, key)
        self.replayed += output is not None
        return output


def chain(vm_class):
    return new_chain(
        vm_class, L2_CHAIN_ID, {KEY_1.public_key.to_canonical_address(): GenesisAccount(10**21)}
    )


def remember_with(chain, outcomes) -> None:
    """Make the accelerated VM class of ``chain`` use ``outcomes`` for its system calls."""
    chain.get_vm_class_for_block_number(0).system_call_outcomes = outcomes


def build(outcomes, rounds):
    """Blocks of ``rounds`` (lists of (to, data, value)), with ``outcomes`` deciding reuse."""
    built = chain(accelerate(Prague))
    remember_with(built, outcomes)
    sender = Sender(built, KEY_1, L2_CHAIN_ID)
    blocks = []
    for index, transactions in enumerate(rounds):
        signed = [
            sender.transaction(to, data, value, gas=200_000) for to, data, value in transactions
        ]
        blocks.append(build_block(built, signed, timestamp=100 + index))
    return built, blocks


TRANSFERS = [[(BOB, b"", 1)], [(BOB, b"", 2)], [], [(BOB, b"", 3)]]


def test_each_accelerated_chain_remembers_its_own_calls():
    first, second = accelerate(Prague), accelerate(Prague)
    assert first.system_call_outcomes is not second.system_call_outcomes
    assert not hasattr(Prague, "system_call_outcomes")


def test_remembered_calls_build_the_same_blocks_and_witnesses():
    counted = Counted()
    reference_chain, reference = build(NeverReused(), TRANSFERS)
    reused_chain, reused = build(counted, TRANSFERS)
    assert counted.replayed >= 2 * (len(TRANSFERS) - 1)
    assert [b.header for b in reused] == [b.header for b in reference]
    last = reused[-1]
    # Recording the witness replays the call again: the same trie nodes must be read.
    replayed_before = counted.replayed
    witness = execute_with_witness(reused_chain, last).witness
    assert counted.replayed > replayed_before
    assert witness == execute_with_witness(reference_chain, reference[-1]).witness
    stateless_input, _ = prove_block(reused_chain, last, CHAIN_CONFIG)
    for engine in ("pyevm", "revm", "eels"):  # the last two run the bytecode themselves
        report = verify_stateless_new_payload(stateless_input, engine=engine)
        assert report.result.successful_validation, report.error


def test_a_queued_withdrawal_request_is_dequeued_as_the_bytecode_does():
    rounds = [[], [(WITHDRAWAL_REQUEST_PREDEPLOY_ADDRESS, WITHDRAWAL_REQUEST, 1)], [], []]
    _, reference = build(NeverReused(), rounds)
    counted = Counted()
    _, reused = build(counted, rounds)
    assert counted.replayed >= 2
    assert [b.header for b in reused] == [b.header for b in reference]
    # The request made it out (requests hash of block 2 differs from the empty blocks').
    assert len({b.header.requests_hash for b in reference}) == 2


def test_code_that_sees_more_than_its_storage_always_runs():
    counted = Counted()
    with Devnet(DevnetConfig(accelerated=True)) as devnet:
        remember_with(devnet.chain, counted)
        # The withdrawal contract replaced by one that returns the block number.
        number_code = bytes.fromhex("435f5260205ff3")  # NUMBER PUSH0 MSTORE PUSH1 32 PUSH0 RETURN
        devnet.set_account(WITHDRAWAL_REQUEST_PREDEPLOY_ADDRESS, code=number_code)
        first, second, third = devnet.mine(3)
    hashes = {block.header.requests_hash for block in (first, second, third)}
    assert len(hashes) == 3
    assert counted.replayed == 2  # the consolidation contract's, never the withdrawal's


def test_a_remembered_call_repeats_reads_of_slots_it_does_not_write():
    counted = Counted()
    # Returns slot 5 and writes nothing: only the read puts that slot's trie node in a witness.
    read_slot_code = bytes.fromhex("6005545f5260205ff3")  # SLOAD(5), MSTORE, RETURN 32
    with Devnet(DevnetConfig(accelerated=True)) as devnet:
        remember_with(devnet.chain, counted)
        devnet.set_account(
            WITHDRAWAL_REQUEST_PREDEPLOY_ADDRESS, code=read_slot_code, storage={5: 7}
        )
        devnet.mine(2)
        block = devnet.block(2)
        replayed_before = counted.replayed
        witness = execute_with_witness(devnet.chain, block).witness
        assert counted.replayed == replayed_before + 2
        remember_with(devnet.chain, NeverReused())
        assert witness == execute_with_witness(devnet.chain, block).witness


@pytest.mark.parametrize(
    "code", [WITHDRAWAL_REQUEST_CONTRACT_CODE, CONSOLIDATION_REQUEST_CONTRACT_CODE]
)
def test_the_request_contracts_see_only_their_storage(code):
    assert ENVIRONMENT_OPCODES.isdisjoint(opcodes(code))


def test_opcodes_skip_push_data():
    # PUSH32 of bytes that look like NUMBER and CALL, then a real TIMESTAMP.
    code = bytes([0x7F]) + bytes([0x43, 0xF1] * 16) + bytes([0x42])
    assert opcodes(code) == [0x7F, 0x42]
    assert opcodes(bytes([0x60])) == [0x60]  # truncated push data
