"""Engines agree on valid blocks, reject every mutation, read only the witness, decline openly."""

import pytest

from l1.builder import build_block
from precompile.constants import FORK_PRAGUE
from precompile.engines import UnknownEngine, engines
from precompile.forks import Prague, fork_rules
from precompile.genesis import GenesisAccount, new_chain
from precompile.guest import (
    stateless_validation,
    validate_witness_headers,
    witness_entries,
)
from precompile.payload import new_payload_request_to_block
from precompile.ssz import ChainConfig
from precompile.witness import prove_block

from chains import KEY_1, Sender
from mutations import STRUCTURAL_MUTATIONS, signs_chain_id, without_each_node

ENGINES = sorted(engines())


def outcome(engine, stateless_input):
    vm_class = fork_rules(stateless_input.chain_config)
    block = new_payload_request_to_block(stateless_input.new_payload_request, vm_class)
    headers = validate_witness_headers(stateless_input.witness, vm_class)
    return engines()[engine].execute(
        vm_class,
        block,
        headers,
        witness_entries(stateless_input.witness),
        int(stateless_input.chain_config.chain_id),
    )


def test_there_is_more_than_one_engine():
    assert {"pyevm", "eels"} <= set(ENGINES)


def test_engines_produce_identical_outcomes(soundness_inputs):
    for label, _, stateless_input in soundness_inputs:
        outcomes = {engine: outcome(engine, stateless_input) for engine in ENGINES}
        assert len(set(outcomes.values())) == 1, (label, outcomes)


@pytest.mark.parametrize("engine", ENGINES)
def test_valid_blocks_validate_without_declining(soundness_inputs, engine):
    for label, _, stateless_input in soundness_inputs:
        report = stateless_validation(stateless_input, engine)
        assert report.error is None, (label, report.error)
        assert report.engine == engine and report.declined is None, label


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("mutation", sorted(STRUCTURAL_MUTATIONS))
def test_every_mutation_is_rejected_by_every_engine(soundness_inputs, engine, mutation):
    for label, _, original in soundness_inputs:
        if mutation == "wrong_chain_id" and not signs_chain_id(original):
            continue
        mutated = original.copy()
        STRUCTURAL_MUTATIONS[mutation](mutated)
        report = stateless_validation(mutated, engine)
        assert not report.result.successful_validation, (label, mutation)


@pytest.mark.parametrize("engine", ENGINES)
def test_no_engine_reads_outside_the_witness(soundness_inputs, engine):
    for label, _, original in soundness_inputs[:4]:
        for index, mutated in without_each_node(original):
            report = stateless_validation(mutated, engine)
            assert not report.result.successful_validation, (label, index)


def test_eels_declines_an_account_whose_code_the_witness_lacks():
    """
    BALANCE of a contract needs its account, not its code: py-evm's witness
    leaves the code out, EELS loads code with every account, so it declines
    and the reference engine decides.
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
    report = stateless_validation(stateless_input, "eels")
    assert report.result.successful_validation
    assert report.engine == "pyevm"
    assert report.declined_reason.startswith("eels: the witness lacks the code")
    assert "0x" + stranger.hex() in report.declined


def test_unknown_engine_is_the_callers_error(soundness_inputs):
    with pytest.raises(UnknownEngine, match="'revm9' is not one of"):
        stateless_validation(soundness_inputs[0][2], "revm9")
