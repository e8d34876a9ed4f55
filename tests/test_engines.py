"""Engines agree on valid blocks, reject every mutation, read only the witness, decline openly."""

import itertools

import pytest
from eth.db.trie import make_trie_root_and_nodes
from eth.vm.forks.prague.constants import HISTORY_STORAGE_ADDRESS, HISTORY_STORAGE_CONTRACT_CODE
from eth_hash.auto import keccak

from l1.builder import build_block
from nr.testing.mutations import (
    STRUCTURAL_MUTATIONS,
    mutated_encodings,
    signs_chain_id,
    without_each_node,
)
from precompile.constants import FORK_PRAGUE
from precompile.encoding import decode
from precompile.engines import EngineDeclined, UnknownEngine, engines
from precompile.forks import Prague
from precompile.genesis import GenesisAccount, new_chain
from precompile.guest import INVALID, verify_stateless_new_payload
from precompile.ssz import ChainConfig, StatelessInput
from precompile.witness import prove_block

from chains import KEY_1, Sender, engine_outcome

ENGINES = sorted(engines())


def runs_itself(engine, soundness_inputs):
    """The inputs ``engine`` validates without declining."""
    return [
        (label, number, stateless_input)
        for label, number, stateless_input in soundness_inputs
        if verify_stateless_new_payload(stateless_input, engine).declined is None
    ]


def test_there_is_more_than_one_engine():
    assert {"pyevm", "revm", "eels"} <= set(ENGINES)


def test_engines_produce_identical_outcomes(soundness_inputs):
    compared = 0
    for label, _, stateless_input in soundness_inputs:
        outcomes = {}
        for engine in ENGINES:
            try:
                outcomes[engine] = engine_outcome(engine, stateless_input)
            except EngineDeclined:
                continue
        assert len(set(outcomes.values())) == 1, (label, outcomes)
        compared += len(outcomes) == len(ENGINES)
    assert compared >= len(soundness_inputs) // 2


@pytest.mark.parametrize("engine", ENGINES)
def test_valid_blocks_validate_and_declines_name_the_engine(soundness_inputs, engine):
    for label, _, stateless_input in soundness_inputs:
        report = verify_stateless_new_payload(stateless_input, engine)
        assert report.error is None, (label, report.error)
        if report.declined is not None:
            assert report.engine == "pyevm", label
            assert report.declined_reason.startswith(f"{engine}: "), label
    assert len(runs_itself(engine, soundness_inputs)) >= len(soundness_inputs) // 2


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("mutation", sorted(STRUCTURAL_MUTATIONS))
def test_every_mutation_is_rejected_by_every_engine(soundness_inputs, engine, mutation):
    for label, _, original in runs_itself(engine, soundness_inputs):
        if mutation == "wrong_chain_id" and not signs_chain_id(original):
            continue
        mutated = original.copy()
        STRUCTURAL_MUTATIONS[mutation](mutated)
        report = verify_stateless_new_payload(mutated, engine)
        assert not report.result.successful_validation, (label, mutation)


@pytest.mark.parametrize("engine", ENGINES)
def test_no_engine_reads_outside_the_witness(soundness_inputs, engine):
    for label, _, original in runs_itself(engine, soundness_inputs)[:4]:
        for index, mutated in without_each_node(original):
            report = verify_stateless_new_payload(mutated, engine)
            assert not report.result.successful_validation, (label, index)


def test_the_witness_holds_the_code_of_every_account_read_and_eels_declines_without_it():
    """
    BALANCE of a contract needs its account, not its code: py-evm reads no
    code, but EELS loads code with every account. The host reads it too
    (precompile/spec_reads.py), so EELS judges the block itself; a witness
    of py-evm's reads alone (another host's) makes it decline, and the
    reference engine decides.
    """
    alice = KEY_1.public_key.to_canonical_address()
    reader, stranger = b"\x0a" * 20, b"\x0b" * 20
    balance_of_stranger = bytes.fromhex("73" + stranger.hex() + "31" + "600055" + "00")
    chain = new_chain(
        Prague,
        901,
        {
            alice: GenesisAccount(balance=10**21),
            reader: GenesisAccount(nonce=1, code=balance_of_stranger),
            stranger: GenesisAccount(balance=5, nonce=1, code=b"\x00"),
        },
    )
    block = build_block(chain, [Sender(chain, KEY_1, 901).transaction(reader, gas=100_000)])
    stateless_input, _ = prove_block(chain, block, ChainConfig(chain_id=901, fork=FORK_PRAGUE))
    assert b"\x00" in [bytes(code) for code in stateless_input.witness.codes]
    report = verify_stateless_new_payload(stateless_input, "eels")
    assert report.result.successful_validation
    assert report.engine == "eels"

    codes = [code for code in stateless_input.witness.codes if bytes(code) != b"\x00"]
    stateless_input.witness.codes = codes
    report = verify_stateless_new_payload(stateless_input, "eels")
    assert report.result.successful_validation
    assert report.engine == "pyevm"
    assert report.declined_reason.startswith("eels: the witness lacks the code")
    assert "0x" + stranger.hex() in report.declined


def judged_by_itself(accounts, target: bytes, engine: str = "eels") -> None:
    """A block calling ``target`` once, with ``accounts``: ``engine`` judges it on its witness."""
    alice = KEY_1.public_key.to_canonical_address()
    chain = new_chain(Prague, 901, {alice: GenesisAccount(balance=10**21), **accounts})
    block = build_block(chain, [Sender(chain, KEY_1, 901).transaction(target, gas=200_000)])
    stateless_input, _ = prove_block(chain, block, ChainConfig(chain_id=901, fork=FORK_PRAGUE))
    report = verify_stateless_new_payload(stateless_input, engine)
    assert report.result.successful_validation
    assert report.engine == engine, report.declined_reason


STRANGER = b"\x1b" * 20
# Each runs out of gas on what it names: revm loads that first, py-evm charges first.
OUT_OF_GAS_ON = {
    "BALANCE": "73" + STRANGER.hex() + "31",
    "EXTCODEHASH": "73" + STRANGER.hex() + "3f",
    "SELFDESTRUCT": "73" + STRANGER.hex() + "ff",
    "SLOAD": "600154",  # a cold slot: 2,100 gas
    "SSTORE": "6005600155",  # 2,300 gas or less left: refused
}


@pytest.mark.parametrize("instruction", sorted(OUT_OF_GAS_ON))
def test_the_witness_proves_what_revm_loads_before_charging_for_it(instruction):
    """
    A frame given 2,000 gas runs out on a cold account or slot (or the
    SSTORE stipend check); revm loads the account or slot first, so the
    host reads it too and revm judges the block itself.
    """
    starved, caller = b"\x1c" * 20, b"\x1d" * 20
    code = bytes.fromhex(OUT_OF_GAS_ON[instruction] + "00")
    # CALL(2000, starved, 0, 0, 0, 0, 0), its failure ignored.
    call_with_2000_gas = bytes.fromhex("6000" * 5 + "73" + starved.hex() + "6107d0f15000")
    judged_by_itself(
        {
            starved: GenesisAccount(nonce=1, code=code, storage={1: 7, 2: 8}),
            caller: GenesisAccount(nonce=1, code=call_with_2000_gas),
            STRANGER: GenesisAccount(balance=3, nonce=1, code=b"\x00"),
        },
        caller,
        engine="revm",
    )


def test_the_witness_proves_the_slot_an_sstore_refused_in_a_static_call_reads():
    """EELS reads the slot's original value before it refuses the write; py-evm refuses first."""
    writer, caller = b"\x0c" * 20, b"\x0d" * 20
    store_one = bytes.fromhex("6001600055" + "00")
    static_call = bytes.fromhex("6000600060006000" + "73" + writer.hex() + "620f4240fa5000")
    judged_by_itself(
        {
            writer: GenesisAccount(nonce=1, code=store_one, storage={0: 5, 1: 6}),
            caller: GenesisAccount(nonce=1, code=static_call),
        },
        caller,
    )


def test_the_witness_proves_the_target_of_a_call_that_cannot_pay_for_its_memory():
    """EELS reads a call's target before charging the call; py-evm fails on the memory first."""
    target, caller = b"\x0e" * 20, b"\x0f" * 20
    # CALL(GAS, target, 0, argsOffset=2**64-1, argsSize=32, 0, 0): the memory cannot be paid.
    out_of_memory_call = bytes.fromhex(
        "600060006020" + "67" + "ff" * 8 + "6000" + "73" + target.hex() + "5af15000"
    )
    judged_by_itself(
        {
            target: GenesisAccount(balance=1, nonce=1, code=b"\x00"),
            caller: GenesisAccount(nonce=1, code=out_of_memory_call),
        },
        caller,
    )


def block_with_a_fee_cap_too_low(accounts):
    """A chain with ``accounts`` and a block whose one transfer pays below the base fee."""
    alice = KEY_1.public_key.to_canonical_address()
    accounts = {alice: GenesisAccount(balance=10**21), **accounts}
    built = new_chain(Prague, 901, accounts)
    template = build_block(built, [Sender(built, KEY_1, 901).transaction(b"\x77" * 20)])
    chain = new_chain(Prague, 901, accounts)
    base_fee = template.header.base_fee_per_gas
    unsigned = chain.get_vm().create_unsigned_transaction(
        nonce=0, gas_price=base_fee - 1, gas=21_000, to=b"\x77" * 20, value=0, data=b""
    )
    too_cheap = unsigned.as_signed_transaction(KEY_1, chain_id=901)
    # Its own transactions root: the block is well formed, only the transaction is invalid.
    root, _ = make_trie_root_and_nodes([too_cheap])
    block = template.copy(
        header=template.header.copy(transaction_root=root), transactions=[too_cheap]
    )
    return chain, block


def judged_invalid_by_eels_itself(accounts) -> None:
    chain, block = block_with_a_fee_cap_too_low(accounts)
    stateless_input, _ = prove_block(chain, block, ChainConfig(chain_id=901, fork=FORK_PRAGUE))
    report = verify_stateless_new_payload(stateless_input, "eels")
    assert not report.result.successful_validation
    assert report.engine == "eels", report.declined_reason


def test_the_witness_proves_the_sender_of_a_transaction_whose_fee_cap_is_too_low():
    """EELS reads a transaction's sender before its fee checks; py-evm refuses it unread."""
    judged_invalid_by_eels_itself({})


def test_the_witness_proves_the_slot_the_parent_hash_goes_to_in_an_invalid_block():
    """
    py-evm writes EIP-2935's parent hash without running the contract; EELS
    runs it, and its SSTORE reads the slot. On a block whose transaction then
    fails nothing else reads that storage: the host reads the slot as it writes.
    """
    history = GenesisAccount(nonce=1, code=HISTORY_STORAGE_CONTRACT_CODE, storage={5: 1})
    judged_invalid_by_eels_itself({HISTORY_STORAGE_ADDRESS: history})


def test_unknown_engine_is_the_callers_error(soundness_inputs):
    with pytest.raises(UnknownEngine, match="'revm9' is not one of"):
        verify_stateless_new_payload(soundness_inputs[0][2], "revm9")


def test_eels_rejects_a_witness_missing_a_node_the_specification_reads(soundness_inputs):
    """
    The host records every read a specification execution makes, so a witness
    without a node EELS reads is incomplete: EELS itself calls the input
    invalid, never declines it for the reference to judge. A node EELS can do
    without is one only revm loads (an access list's accounts): the reference
    engine does without it too.
    """
    label, _, original = runs_itself("eels", soundness_inputs)[0]
    rejected = 0
    for index, mutated in without_each_node(original):
        report = verify_stateless_new_payload(mutated, "eels")
        assert report.declined is None and report.engine == "eels", (label, index, report)
        if report.result.successful_validation:
            assert verify_stateless_new_payload(mutated, "pyevm").result.successful_validation
        else:
            assert report.error.startswith("MissingTrieNode"), (label, index, report.error)
            rejected += 1
    assert rejected > 0
    mutated = decode(mutated_encodings(original)["removed_witness_node"], StatelessInput)
    report = verify_stateless_new_payload(mutated, "eels")
    assert (report.engine, report.verdict) == ("eels", INVALID)


def slot_sharing_a_branch_with(slot: int) -> int:
    """Another slot whose hashed key starts as ``slot``'s does: the two share a branch."""
    prefix = keccak(slot.to_bytes(32, "big"))[:1]
    return next(s for s in itertools.count(1) if keccak(s.to_bytes(32, "big"))[:1] == prefix)


def test_eels_judges_a_storage_clear_that_runs_out_of_gas_on_the_witness():
    """
    EELS asks whether a storage trie is empty after each write of a zero. Its
    post-root would need the other child of the branch the deletion collapses,
    which no execution reads (py-evm never deletes: the transaction runs out of
    gas and its writes are undone); the pre-state's top nodes answer instead.
    """
    target = b"\x0c" * 20
    clear_slot_0_then_loop = bytes.fromhex("6000600055" + "5b600556")
    storage = {0: 1, slot_sharing_a_branch_with(0): 2, **{s: 3 for s in range(1000, 1030)}}
    judged_by_itself(
        {target: GenesisAccount(nonce=1, code=clear_slot_0_then_loop, storage=storage)}, target
    )


def test_eels_still_finds_a_storage_trie_emptied_by_a_block():
    """Clearing an account's only slot empties its storage: EELS drops it and agrees."""
    target = b"\x0d" * 20
    clear_slot_0 = bytes.fromhex("600060005500")
    judged_by_itself({target: GenesisAccount(nonce=1, code=clear_slot_0, storage={0: 7})}, target)
