"""Witness host: records what execution and the post-state root need, nothing from outside."""

import rlp
from eth.db.atomic import AtomicDB
from eth_hash.auto import keccak

from l1.builder import build_block
from nr.testing.mutations import without_each_node
from precompile.constants import FORK_PRAGUE
from precompile.forks import Prague
from precompile.genesis import GenesisAccount, new_chain
from precompile.guest import verify_stateless_new_payload
from precompile.ssz import ChainConfig
from precompile.system_contracts import prague_system_contracts
from precompile.witness import (
    RecordingDB,
    execute_with_witness,
    prove_block,
    read_system_caller,
)

from chains import KEY_0, Sender

CHAIN_ID = 1337
SENDER = KEY_0.public_key.to_canonical_address()
CONTRACT = b"\x0c" * 20
# SSTORE(1, 0): clears slot 1 and nothing else.
CLEAR_SLOT_1 = bytes.fromhex("6000600155" + "00")


def sender_and_contract(storage):
    """The funded sender and the slot-clearing contract holding ``storage``."""
    return {
        SENDER: GenesisAccount(balance=10**18),
        CONTRACT: GenesisAccount(nonce=1, code=CLEAR_SLOT_1, storage=storage),
    }


def chain_with(accounts):
    return new_chain(Prague, CHAIN_ID, accounts)


def mine(chain, *transactions):
    return build_block(chain, transactions)


def call(chain, to, nonce, data=b""):
    sender = Sender(chain, KEY_0, CHAIN_ID)
    sender.nonce = nonce
    return sender.transaction(to, data, gas=100_000)


def stateless_input_for(chain_before, block):
    stateless_input, execution = prove_block(
        chain_before, block, ChainConfig(chain_id=CHAIN_ID, fork=FORK_PRAGUE)
    )
    assert execution.error is None
    return stateless_input


def test_deleting_a_slot_records_the_sibling_the_collapse_needs():
    # keccak(1) and keccak(2) differ in their first nibble: the storage root is
    # a branch over two leaves, and clearing slot 1 collapses it.
    accounts = sender_and_contract({1: 1, 2: 2})
    block_chain = chain_with(accounts)
    block = mine(block_chain, call(block_chain, CONTRACT, 0))
    witness_chain = chain_with(accounts)
    stateless_input = stateless_input_for(witness_chain, block)
    assert verify_stateless_new_payload(stateless_input).result.successful_validation

    slot_2_leaves = [
        index
        for index, node in enumerate(stateless_input.witness.state)
        if _is_leaf_with_value(bytes(node), rlp.encode(2))
    ]
    assert len(slot_2_leaves) == 1, "the untouched sibling leaf must be in the witness"
    without = stateless_input.copy()
    nodes = list(without.witness.state)
    del nodes[slot_2_leaves[0]]
    without.witness.state = nodes
    assert "Missing" in verify_stateless_new_payload(without).error


def test_absent_account_is_proven_absent():
    """Calling an address that does not exist needs the trie path showing it is not there."""
    accounts = {SENDER: GenesisAccount(balance=10**18)}
    for filler in range(1, 40):
        accounts[bytes([filler]).rjust(20, b"\xaa")] = GenesisAccount(balance=1)
    nobody = b"\x42" * 20
    block = mine(chain_with(accounts), call(chain_with(accounts), nobody, 0))
    stateless_input = stateless_input_for(chain_with(accounts), block)
    assert verify_stateless_new_payload(stateless_input).result.successful_validation
    caller_path = system_caller_path(chain_with(accounts), block)
    for index, mutated in without_each_node(stateless_input):
        if verify_stateless_new_payload(mutated).result.successful_validation:
            # Only the system caller's path may go unused by py-evm; revm needs it.
            assert bytes(stateless_input.witness.state[index]) in caller_path, index
            assert verify_stateless_new_payload(mutated, "revm").declined is not None, index


def system_caller_path(chain, block) -> set:
    """The trie nodes that prove the system address's account before ``block``."""
    parent = chain.get_block_header_by_hash(block.header.parent_hash)
    recording = RecordingDB(chain.chaindb.db)
    read_system_caller(recording, parent.state_root)
    return set(recording.reads.values())


def test_the_witness_covers_the_system_caller_every_engine_reads():
    """revm runs system calls as messages from the system address: the witness proves it."""
    accounts = {SENDER: GenesisAccount(balance=10**18)}
    for filler in range(1, 40):
        accounts[bytes([filler]).rjust(20, b"\xaa")] = GenesisAccount(balance=1)
    block = mine(chain_with(accounts), call(chain_with(accounts), b"\x42" * 20, 0))
    stateless_input = stateless_input_for(chain_with(accounts), block)
    assert caller_path_in(stateless_input, system_caller_path(chain_with(accounts), block))
    report = verify_stateless_new_payload(stateless_input, "revm")
    assert report.declined is None and report.engine == "revm"
    assert report.result.successful_validation


def caller_path_in(stateless_input, path) -> bool:
    return path <= {bytes(node) for node in stateless_input.witness.state}


def test_witness_holds_only_keccak_addressed_pre_state():
    accounts = sender_and_contract({1: 1})
    chain = chain_with(accounts)
    parent = chain.get_canonical_head()
    block = mine(chain_with(accounts), call(chain_with(accounts), CONTRACT, 0))
    witness = execute_with_witness(chain, block).witness
    # The called contract, and the system contracts every Prague block calls.
    expected_codes = {CLEAR_SLOT_1, *prague_system_contracts().values()}
    assert {bytes(code) for code in witness.codes} == expected_codes
    assert [bytes(h) for h in witness.headers] == [rlp.encode(parent)]
    for node in witness.state:
        assert keccak(bytes(node)) in chain.chaindb.db
    # Witness generation writes nothing into the chain it reads.
    assert chain.get_canonical_head() == parent


def test_recording_db_keeps_writes_out_of_the_pre_state():
    pre = AtomicDB()
    pre[b"k"] = b"v"
    recording = RecordingDB(pre)
    recording[b"new"] = b"x"
    assert recording[b"new"] == b"x" and b"new" not in pre
    assert recording[b"k"] == b"v" and recording.reads == {b"k": b"v"}
    del recording[b"k"]
    assert b"k" not in recording and pre[b"k"] == b"v"


def _is_leaf_with_value(node, value):
    items = rlp.decode(node)
    return len(items) == 2 and items[0][0] >> 4 in (2, 3) and items[1] == value


def test_persisting_the_host_execution_matches_a_full_import():
    builder = chain_with(sender_and_contract({1: 1}))
    block = mine(builder, call(builder, CONTRACT, 0))
    chain = chain_with(sender_and_contract({1: 1}))
    execution = execute_with_witness(chain, block)
    assert execution.error is None
    execution.persist(chain)
    assert chain.get_canonical_head() == block.header
    assert chain.get_vm().state.get_storage(CONTRACT, 1) == 0
    assert chain.get_vm().state.state_root == builder.get_vm().state.state_root


def test_host_reports_a_header_that_execution_does_not_reproduce():
    builder = chain_with(sender_and_contract({1: 1}))
    block = mine(builder, call(builder, CONTRACT, 0))
    forged = block.copy(header=block.header.copy(state_root=keccak(b"forged")))
    execution = execute_with_witness(chain_with(sender_and_contract({1: 1})), forged)
    assert execution.error is not None
    try:
        execution.persist(chain_with(sender_and_contract({1: 1})))
    except ValueError as error:
        assert "invalid block" in str(error)
    else:
        raise AssertionError("an invalid block was persisted")
