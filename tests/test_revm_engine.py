"""
The revm engine: where pyrevm 0.3.7 leaves gaps, it either fills them as the
EVM does (and agrees with py-evm) or declines; every read it makes is
checked against the witness, also in frames that revert.
"""

from typing import Dict

import pytest
from eth.vm.forks.cancun.constants import BEACON_ROOTS_ADDRESS

from l1.builder import build_block
from nr.testing.mutations import STRUCTURAL_MUTATIONS, without_each_node
from precompile.constants import FORK_PRAGUE
from precompile.engines import EngineDeclined
from precompile.forks import Prague
from precompile.genesis import GenesisAccount, new_chain
from precompile.guest import verify_stateless_new_payload
from precompile.ssz import ChainConfig
from precompile.witness import prove_block

from chains import GAS_PRICE, KEY_1, STORE_42, Sender, engine_outcome
from conftest import FIXTURES, needs_fixtures

CHAIN_ID = 901
ALICE = KEY_1.public_key.to_canonical_address()
CONTRACT, CALLEE = b"\xc0" * 20, b"\xc1" * 20
GAS = 200_000


def proven(contracts: Dict[bytes, GenesisAccount], calls, alice_balance: int = 10**21):
    """A Prague block of ``calls`` (to, data) from Alice over ``contracts``, with its witness."""
    chain = new_chain(Prague, CHAIN_ID, {ALICE: GenesisAccount(balance=alice_balance), **contracts})
    sender = Sender(chain, KEY_1, CHAIN_ID)
    block = build_block(chain, [sender.transaction(to, data=data, gas=GAS) for to, data in calls])
    stateless_input, _ = prove_block(chain, block, ChainConfig(chain_id=CHAIN_ID, fork=FORK_PRAGUE))
    return stateless_input


def contract(code_hex: str, storage=None) -> GenesisAccount:
    return GenesisAccount(nonce=1, code=bytes.fromhex(code_hex), storage=storage or {})


def assert_revm_runs_and_agrees(stateless_input) -> None:
    """revm validates the block itself, as py-evm does, and itself rejects a wrong post-state."""
    report = verify_stateless_new_payload(stateless_input, "revm")
    assert report.error is None
    assert (report.engine, report.declined) == ("revm", None)
    assert engine_outcome("revm", stateless_input) == engine_outcome("pyevm", stateless_input)
    mutated = stateless_input.copy()
    STRUCTURAL_MUTATIONS["post_state_root"](mutated)
    rejected = verify_stateless_new_payload(mutated, "revm")
    assert (rejected.engine, rejected.declined) == ("revm", None)
    assert not rejected.result.successful_validation


def test_gas_price_and_the_senders_balance_read_as_the_evm_has_them():
    # slot 0 = GASPRICE, slot 1 = BALANCE(ORIGIN): the fee is taken before execution.
    probe = contract("3a600055" "3231600155" "00")
    stateless_input = proven({CONTRACT: probe}, [(CONTRACT, b"")])
    assert_revm_runs_and_agrees(stateless_input)


def test_a_slot_written_earlier_in_the_block_has_that_value_as_its_original():
    """
    The first transaction sets slots 0 and 1; the second clears slot 1, whose
    SSTORE cost and refund depend on the original value the first one left.
    """
    # calldata non-empty: slot0 = 90, slot1 = 0xffff; empty: slot1 = 0
    code = "3615601157" "605a600055" "61ffff600155" "00" "5b" "6000600155" "00"
    stateless_input = proven({CONTRACT: contract(code)}, [(CONTRACT, b"\x01"), (CONTRACT, b"")])
    assert_revm_runs_and_agrees(stateless_input)


def test_blockhash_is_served_from_the_witness_headers():
    # slot 0 = BLOCKHASH(NUMBER - 1)
    stateless_input = proven({CONTRACT: contract("600143034060005500")}, [(CONTRACT, b"")])
    assert_revm_runs_and_agrees(stateless_input)


def test_a_read_in_a_reverted_frame_is_checked_against_the_witness():
    """
    The callee reads slot 7 and reverts, so revm's journal forgets the read;
    the witness server still sees it. Without any node of the witness, revm
    never accepts, and for a node only that read needs, revm itself says so.
    """
    callee = contract("6007545060006000fd", storage={7: 5, 8: 6})
    caller = contract("6000600060006000600073" + CALLEE.hex() + "5af15000")
    stateless_input = proven({CONTRACT: caller, CALLEE: callee}, [(CONTRACT, b"")])
    assert_revm_runs_and_agrees(stateless_input)
    revm_noticed = 0
    for index, mutated in without_each_node(stateless_input):
        report = verify_stateless_new_payload(mutated, "revm")
        assert not report.result.successful_validation, index
        revm_noticed += report.declined_reason == "revm: read what the witness does not cover"
    assert revm_noticed >= 1


def test_initcode_that_could_observe_the_gas_price_is_declined():
    plain = proven({}, [(b"", STORE_42)])
    assert_revm_runs_and_agrees(plain)
    # GASPRICE -> slot 0 in the constructor: pyrevm would run it at price 0.
    observing = proven({}, [(b"", bytes.fromhex("3a60005500"))])
    report = verify_stateless_new_payload(observing, "revm")
    assert report.error is None and report.engine == "pyevm"
    assert report.declined_reason.startswith("revm: pyrevm 0.3.7 deploys at gas price 0")
    with pytest.raises(EngineDeclined):
        verify_stateless_new_payload(observing, "revm", fallback=False)


def test_a_sender_too_poor_for_the_second_fee_check_is_declined():
    fee = GAS * GAS_PRICE
    too_poor = fee * 3 // 2
    stateless_input = proven({CONTRACT: contract("00")}, [(CONTRACT, b"")], alice_balance=too_poor)
    report = verify_stateless_new_payload(stateless_input, "revm")
    assert report.error is None and report.engine == "pyevm"
    assert report.declined_reason == (
        "revm: the sender cannot pay the fee twice, as pyrevm 0.3.7 checks it"
    )


@pytest.mark.parametrize(
    "instruction, reason",
    [
        ("48", "code may read BASEFEE, which pyrevm 0.3.7 zeroes, or create code that may"),
        # EEST VMTests/vmTests/blockInfo (gaslimit): revm stored 2**64-1, every other engine
        # the header's gas limit.
        ("45", "code may read GASLIMIT, which pyrevm 0.3.7 answers 2**64-1"),
    ],
)
def test_code_that_may_read_what_pyrevm_misreports_is_declined_wherever_revm_meets_it(
    instruction, reason
):
    """pyrevm 0.3.7 zeroes BASEFEE and answers GASLIMIT 2**64-1; called code is checked too."""
    # slot 0 = the instruction's value, in the called contract and in a contract it calls
    reads_it = contract(instruction + "60005500")
    direct = proven({CONTRACT: reads_it}, [(CONTRACT, b"")])
    caller = contract("6000600060006000600073" + CALLEE.hex() + "5af15000")
    nested = proven({CONTRACT: caller, CALLEE: reads_it}, [(CONTRACT, b"")])
    for stateless_input in (direct, nested):
        report = verify_stateless_new_payload(stateless_input, "revm")
        assert report.error is None and report.engine == "pyevm"
        assert report.declined_reason == f"revm: {reason}"


def test_withdrawals_are_credited_after_the_transactions():
    """EIP-4895: gwei credited to an account, a new one, and a zero withdrawal creates nothing."""
    from eth.vm.forks.shanghai.withdrawals import Withdrawal

    chain = new_chain(Prague, CHAIN_ID, {ALICE: GenesisAccount(balance=10**21)})
    sender = Sender(chain, KEY_1, CHAIN_ID)
    parent = chain.get_canonical_head()
    vm = chain.get_vm(chain.create_header_from_parent(parent))
    withdrawals = [
        Withdrawal(index=0, validator_index=1, address=ALICE, amount=5),
        Withdrawal(index=1, validator_index=2, address=b"\xd0" * 20, amount=7),
        Withdrawal(index=2, validator_index=3, address=b"\xd1" * 20, amount=0),
    ]
    template = vm.get_block_class()(
        header=vm.get_header().copy(timestamp=parent.timestamp + 12),
        transactions=[sender.transaction(b"\xd0" * 20, gas=21_000)],
        withdrawals=withdrawals,
    )
    block = vm.import_block(template).block
    chain.chaindb.persist_block(block)
    stateless_input, _ = prove_block(chain, block, ChainConfig(chain_id=CHAIN_ID, fork=FORK_PRAGUE))
    assert_revm_runs_and_agrees(stateless_input)


def test_an_access_list_naming_what_the_block_never_touches_runs_on_revm():
    """revm loads every account and slot an access list names; the witness proves them."""
    listed = b"\xd2" * 20
    chain = new_chain(
        Prague,
        CHAIN_ID,
        {ALICE: GenesisAccount(balance=10**21), listed: contract("00", storage={0: 1, 5: 2})},
    )
    builder = chain.get_vm().get_transaction_builder()
    unsigned = builder.new_unsigned_access_list_transaction(
        chain_id=CHAIN_ID, nonce=0, gas_price=GAS_PRICE, gas=60_000, to=b"\xd3" * 20, value=1,
        data=b"", access_list=((listed, (0, 7)),),
    )
    block = build_block(chain, [unsigned.as_signed_transaction(KEY_1)])
    stateless_input, _ = prove_block(chain, block, ChainConfig(chain_id=CHAIN_ID, fork=FORK_PRAGUE))
    assert_revm_runs_and_agrees(stateless_input)


def test_a_free_transaction_from_an_account_that_does_not_exist_creates_it():
    # Base fee 0 and gas price 0: a sender with no account pays nothing, and the
    # block gives it an account with nonce 1 (EEST stTransactionTest/NoSrcAccount1559).
    gas_limit = 30_000_000
    chain = new_chain(
        Prague, CHAIN_ID, {}, gas_limit=gas_limit, base_fee_per_gas=0, gas_used=gas_limit // 2
    )
    vm = chain.get_vm()
    unsigned = vm.create_unsigned_transaction(
        nonce=0, gas_price=0, gas=21_000, to=CALLEE, value=0, data=b""
    )
    block = build_block(chain, [unsigned.as_signed_transaction(KEY_1, chain_id=CHAIN_ID)])
    assert chain.get_vm().state.get_nonce(ALICE) == 1
    stateless_input, _ = prove_block(chain, block, ChainConfig(chain_id=CHAIN_ID, fork=FORK_PRAGUE))
    assert_revm_runs_and_agrees(stateless_input)


def test_a_block_whose_coinbase_nothing_pays_runs_on_revm_without_reading_it():
    # An empty block: only the system calls run, and no fee reaches the coinbase (an
    # account that exists), so the witness holds no proof of it (EEST prague/eip7251
    # and stEIP1559 cases).
    coinbase = b"\xcb" * 20
    chain = new_chain(Prague, CHAIN_ID, {coinbase: GenesisAccount(balance=10**18)})
    block = build_block(chain, [], coinbase=coinbase)
    stateless_input, _ = prove_block(chain, block, ChainConfig(chain_id=CHAIN_ID, fork=FORK_PRAGUE))
    assert_revm_runs_and_agrees(stateless_input)


def test_a_system_contract_that_reads_the_coinbase_is_declined():
    # System calls run on revm with the system address as coinbase: code that
    # could see it is not run there.
    coinbase = b"\xcb" * 20
    reads_coinbase = GenesisAccount(code=bytes.fromhex("4160005500"))  # SSTORE(0, COINBASE)
    chain = new_chain(Prague, CHAIN_ID, {BEACON_ROOTS_ADDRESS: reads_coinbase})
    block = build_block(chain, [], coinbase=coinbase)
    stateless_input, _ = prove_block(chain, block, ChainConfig(chain_id=CHAIN_ID, fork=FORK_PRAGUE))
    with pytest.raises(EngineDeclined, match="reads COINBASE or runs other code"):
        verify_stateless_new_payload(stateless_input, "revm", fallback=False)
    assert verify_stateless_new_payload(stateless_input).error is None


def test_a_panic_inside_pyrevm_is_a_decline_not_a_crash():
    """
    A creation from a sender at nonce 2**64-1 (EIP-2681: invalid; EEST
    stCreateTest/CreateTransactionHighNonce) makes pyrevm 0.3.7's deploy
    unwrap a created address revm does not give: a Rust panic, which ended
    a whole conformance run. revm declines; the reference finds it invalid.
    """
    from eth.db.trie import make_trie_root_and_nodes

    from chains import KEY_0

    highest = 2**64 - 1
    other = KEY_0.public_key.to_canonical_address()
    accounts = {
        ALICE: GenesisAccount(balance=10**21, nonce=highest),
        other: GenesisAccount(balance=10**21),
    }
    built = new_chain(Prague, CHAIN_ID, accounts)
    template = build_block(built, [Sender(built, KEY_0, CHAIN_ID).transaction(b"\x77" * 20)])
    chain = new_chain(Prague, CHAIN_ID, accounts)
    creation = chain.get_vm().create_unsigned_transaction(
        nonce=highest, gas_price=template.header.base_fee_per_gas, gas=100_000, to=b"", value=0,
        data=b"\x00",
    ).as_signed_transaction(KEY_1, chain_id=CHAIN_ID)
    root, _ = make_trie_root_and_nodes([creation])
    block = template.copy(
        header=template.header.copy(transaction_root=root), transactions=[creation]
    )
    stateless_input, _ = prove_block(chain, block, ChainConfig(chain_id=CHAIN_ID, fork=FORK_PRAGUE))
    report = verify_stateless_new_payload(stateless_input, "revm")
    assert not report.result.successful_validation and report.engine == "pyevm"
    assert report.declined_reason == "revm: pyrevm 0.3.7 panicked"


@needs_fixtures
def test_a_transaction_above_the_blocks_gas_is_refused_before_its_sender_is_read():
    """
    The specification checks a transaction's gas against the block's before
    reading its sender; py-evm's witness of such a block then holds no sender.
    revm refuses the block itself (EEST frontier/validation/test_tx_gas_limit).
    """
    import json

    from nr.conformance import PASSED, run_case
    from precompile.forks import FORK_RULES

    fixture = FIXTURES / "blockchain_tests/frontier/validation/test_tx_gas_limit.json"
    cases = [case for name, case in json.loads(fixture.read_text()).items() if "Prague" in name]
    assert cases and "GAS_ALLOWANCE_EXCEEDED" in cases[0]["blocks"][0]["expectException"]
    for case in cases:
        result = run_case(case, ("revm",), FORK_RULES)
        assert (result.outcome, result.declined) == (PASSED, {}), result.reason


def test_a_decline_names_what_revm_was_refused_first_not_what_followed():
    """
    CREATE2 onto an account with storage only collides (EIP-7610): py-evm never
    runs the init code, which reads an account the witness therefore lacks.
    revm, blind to that storage, runs it; the reason given is what the witness
    server refused revm first, not the account it went on to read
    (EEST stExtCodeHash/dynamicAccountOverwriteEmpty_Paris).
    """
    from eth_utils import keccak

    elsewhere = b"\xdd" * 20
    init_code = b"\x73" + elsewhere + b"\x3b\x00"  # EXTCODESIZE(elsewhere)
    size = len(init_code)
    # CODECOPY the init code (after this code) to memory 0; CREATE2(0, 0, size, salt 0)
    deployer_code = bytes.fromhex(
        f"60{size:02x}6014600039" f"600060{size:02x}60006000f5" "600055" "00"
    )
    assert len(deployer_code) == 0x14
    target = keccak(b"\xff" + CONTRACT + b"\x00" * 32 + keccak(init_code))[12:]
    stateless_input = proven(
        {
            CONTRACT: GenesisAccount(nonce=1, code=deployer_code + init_code),
            target: GenesisAccount(storage={1: 1}),
            elsewhere: GenesisAccount(balance=1, code=b"\x00"),
        },
        [(CONTRACT, b"")],
    )
    with pytest.raises(EngineDeclined) as declined:
        verify_stateless_new_payload(stateless_input, "revm", fallback=False)
    assert "does not cover an account" not in str(declined.value)
    assert verify_stateless_new_payload(stateless_input).error is None
