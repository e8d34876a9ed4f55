"""
What the plugin's helpers say when a test gives them what they cannot take:
each refuses at once, in the project's words (what was wrong, what to give),
never a library's error from deep inside, a wait that ends in a timeout, or
an account's private key.

The helpers run here as the plugin runs them, on one network of its kind
(an L1, a stage 1 rollup, a composable rollup on its slot-mode L1), each
test in its own snapshot.
"""

import json
import re
import time

import pytest
from eth_account import Account
from hypothesis import HealthCheck, given, settings

from nr.testing.arguments import InvalidArgument
from nr.testing.artifacts import ArtifactError, ConstructorReverted, abi_and_bytecode
from nr.testing.assertions import CustomError, execute_accepts, execute_rejects, reverts
from nr.testing.cross_domain import deposit, withdraw
from nr.testing.gas import selectors
from nr.testing.network import (
    chain_controls,
    deployer,
    note_session_chains,
    session_network,
    session_prover,
)
from nr.testing.strategies import amounts, block_mutations, mutate, signed_l2_transactions
from rollup.l1_contract import RollupError

ETHER = 10**18

BOX = """
limit: public(uint256)

@deploy
def __init__(limit: uint256):
    assert limit < 100, "limit too big"  # dev: a small limit
    self.limit = limit
"""


@pytest.fixture(scope="module")
def network():
    """One network of the plugin's kind for the module: an L1, a rollup, a composable rollup."""
    with session_network(None, "reexecute", [1], [1], None) as network:
        yield network


@pytest.fixture(scope="module")
def block(network, accounts) -> bytes:
    """A valid L2 block's EXECUTE input: one deposit's (made once, before any test's snapshot)."""
    rollup = network.rollups[1]
    number = deposit(rollup, accounts[1].checksum_address, ETHER)
    return rollup.sequencer.stateless_input(number)


@pytest.fixture(scope="module")
def accounts():
    from l1.accounts import derive_accounts

    return derive_accounts()


@pytest.fixture
def net(network, block):
    """
    The network, this test's changes undone after it; its revert sites noted
    again (a pytester run of the plugin in this process starts its own).
    """
    note_session_chains(network)
    with network.world.isolate("test"):
        yield network


@pytest.fixture
def deploy(net, accounts):
    return deployer(net, accounts[0].checksum_address, None)


@pytest.fixture
def rollup(net):
    return net.rollups[1]


@pytest.fixture
def composable(net):
    return net.composables[1]


def write_artifact(tmp_path, name: str, document) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return str(path)


# -- 1. deploying on a chain that mines by slot --


def test_deploying_where_nothing_mines_it_is_refused_at_once(deploy, composable):
    started = time.monotonic()
    with pytest.raises(InvalidArgument, match=r"mines by slot; .*with composable\.automining\(\)"):
        deploy(BOX, 1, on=composable.w3)
    assert time.monotonic() - started < 5
    with pytest.raises(InvalidArgument, match="give one of its chains: composable.w3"):
        deploy(BOX, 1, on=composable)
    with composable.automining():
        assert deploy(BOX, 1, on=composable.w3).functions.limit().call() == 1
    composable.build_based()
    with pytest.raises(InvalidArgument, match=r"slot has ended .*after composable\.next_slot\(\)"):
        deploy(BOX, 1, on=composable.l2)
    composable.next_slot()
    assert deploy(BOX, 2, on=composable.l2).functions.limit().call() == 2


# -- 2. EXECUTE assertions given what is not the L1, or no input --


def test_execute_assertions_refuse_an_l2_a_rollup_and_inputs_that_are_no_bytes(
    net, rollup, block
):
    l2 = rollup.l2_web3
    for check in (execute_accepts, execute_rejects):
        with pytest.raises(InvalidArgument, match="this is not the L1: chain 901 has no EXECUTE"):
            check(l2, block)
        with pytest.raises(InvalidArgument, match=r"w3 is a rollup: pass .* rollup\.l1"):
            check(rollup, block)
        for no_bytes in ("0xzz", "0xabc", None, 5):
            with pytest.raises(InvalidArgument, match="encoded_input=.*: give bytes, or their hex"):
                check(net.w3, no_bytes)
    with pytest.raises(InvalidArgument, match="reason=5: give the text it should contain"):
        execute_rejects(net.w3, mutate(block, "state_root", 1), reason=5)
    with pytest.raises(InvalidArgument, match=r"l2='x': pass the L2's web3"):
        execute_accepts(net.w3, block, l2="x")
    assert execute_accepts(net.w3, "0x" + block.hex()).successful_validation


# -- 3. a based block that did not land --


def test_landing_a_based_block_after_its_slot_or_twice_says_why(composable, accounts):
    sender, to = accounts[1], accounts[2].checksum_address
    stale = composable.build_based([composable.sign_l2(sender, to, 1)])
    composable.next_slot()
    with pytest.raises(RollupError, match="did not land .*certificate is for another slot"):
        composable.land(stale)
    landed = composable.build_based([composable.sign_l2(sender, to, 1)])
    assert composable.land(landed).status == 1
    with pytest.raises(RollupError, match="did not land"):
        composable.land(landed)
    with pytest.raises(InvalidArgument, match="give what build_based or build_calling returned"):
        composable.land(None)


def test_a_based_block_of_what_is_no_transaction_is_refused_before_the_slot_ends(
    composable, accounts
):
    sequencer = composable.rollup.sequencer
    cursor = sequencer.cursor()
    for garbage, said in ((b"garbage", "7 bytes"), ("0xzz", "0xzz")):
        with pytest.raises(InvalidArgument, match=f"build_based: transactions.0.*{said}"):
            composable.build_based([garbage])
    assert sequencer.cursor() == cursor  # the slot did not end for nothing
    signed = composable.sign_l2(accounts[1], accounts[2].checksum_address.lower(), 1)
    assert composable.land(composable.build_based(["0x" + signed.hex()])).status == 1
    with pytest.raises(InvalidArgument, match="sign_l2: sender=.*an account with its key"):
        composable.sign_l2(accounts[1].checksum_address, accounts[2].checksum_address, 1)
    with pytest.raises(InvalidArgument, match="sign_l2: to='0x12': not an address"):
        composable.sign_l2(accounts[1], "0x12", 1)


# -- 4. an artifact without code --


@pytest.mark.parametrize(
    "bytecode", [{"object": "0x"}, "0x", ""], ids=["foundry", "hardhat", "empty"]
)
def test_an_artifact_without_bytecode_is_refused(tmp_path, bytecode):
    path = write_artifact(tmp_path, "IThing.json", {"abi": [], "bytecode": bytecode})
    with pytest.raises(ArtifactError, match="has no bytecode: an interface or abstract contract"):
        abi_and_bytecode(path)


def test_a_one_line_source_is_source_and_no_contract_at_all_is_said_so():
    abi, bytecode = abi_and_bytecode("x: public(uint256)")
    assert [entry["name"] for entry in abi] == ["x"] and bytecode
    for nothing in ("", "  "):
        with pytest.raises(ArtifactError, match="no contract given .*: give Vyper source"):
            abi_and_bytecode(nothing)


@pytest.mark.parametrize("contract, said", [
    (42, "no contract given .42.: give Vyper source, a .vy or .json path"),
    (b"\x60\x00", "no contract given .2 bytes.: give Vyper source"),
    ("Thing.sol", "Thing.sol: Solidity is not compiled here; build it with foundry or hardhat"),
    ("nope/Missing", "no contract file /.*/nope/Missing .give a .vy or .json path."),
    (".", "is a folder: give a .vy or .json file in it"),
])
def test_what_is_no_contract_is_said_so(contract, said):
    with pytest.raises(ArtifactError, match=said):
        abi_and_bytecode(contract)


OWNED = """
owner: public(address)

@deploy
def __init__(owner: address):
    self.owner = owner
"""


def test_an_address_argument_may_be_lowercase_or_an_account(deploy, accounts):
    expected = accounts[3].checksum_address
    for owner in (expected.lower(), accounts[3]):
        assert deploy(OWNED, owner).functions.owner().call() == expected
    with pytest.raises(InvalidArgument, match="owner='0x12' is not an address"):
        deploy(OWNED, "0x12")


# -- 5. chain helpers --


def test_chain_helpers_refuse_counts_and_times_that_are_not_whole_numbers(net, rollup):
    l1 = chain_controls(net, rollup).l1
    height = l1.height
    for blocks in (-1, "3", None, 2.5, True):
        with pytest.raises(InvalidArgument, match=r"chain\.l1\.mine: blocks=.*give a whole number"):
            l1.mine(blocks)
    for seconds in (1.5, "60", None):
        with pytest.raises(InvalidArgument, match=r"chain\.l1\.warp: seconds=.*whole number"):
            l1.warp(seconds)
    with pytest.raises(InvalidArgument, match="seconds=-3600: .*the clock only moves ahead"):
        l1.warp(-3600)
    with pytest.raises(InvalidArgument, match="condition=True: give a function to call"):
        l1.until(True)
    with pytest.raises(InvalidArgument, match="step=5: give a function to call"):
        l1.until(lambda: False, step=5)
    with pytest.raises(InvalidArgument, match="blocks=-3: give a whole number"):
        l1.until(lambda: False, blocks=-3)
    assert l1.height == height  # nothing was mined on the way


def test_until_mines_at_most_the_blocks_it_is_given(net, rollup):
    l1 = chain_controls(net, rollup).l1
    height = l1.height
    with pytest.raises(AssertionError, match="did not hold on L1 within 5 blocks"):
        l1.until(lambda: False, blocks=5)
    assert l1.height == height + 5
    assert l1.until(lambda: True, blocks=0) == height + 5


# -- 6. deploy's arguments --


def test_deploy_names_the_constructors_parameters_when_its_arguments_do_not_fit(deploy):
    takes = r"deploying the Vyper source given: its constructor takes \(limit: uint256\)"
    with pytest.raises(InvalidArgument, match=f"{takes}; 0 argument\\(s\\) given"):
        deploy(BOX)
    with pytest.raises(InvalidArgument, match=f"{takes}; 2 argument\\(s\\) given"):
        deploy(BOX, 1, 2)
    for wrong in ("abc", -1, 2**256):
        with pytest.raises(InvalidArgument, match=f"{takes}; limit=.* is not a uint256"):
            deploy(BOX, wrong)
    with pytest.raises(InvalidArgument, match="limit given by name; .*by position"):
        deploy(BOX, limit=1)


def test_a_reverting_constructor_says_so_with_its_reason(deploy, rollup):
    for on in ("l1", rollup):
        with pytest.raises(ConstructorReverted, match="^deploying the Vyper source given: the"
                           " constructor reverted: limit too big$"):
            deploy(BOX, 500, on=on)
    with reverts("limit too big"):
        deploy(BOX, 500)
    with pytest.raises(AssertionError, match="reverted in the constructor of the Vyper source"
                       r" given.*expect reverts\('limit too big'\) instead"):
        with reverts(dev="a small limit"):
            deploy(BOX, 500)


def test_deploy_takes_an_account_or_its_address_and_never_shows_a_key(deploy, accounts):
    account = accounts[1]
    assert deploy(BOX, 1, sender=account).functions.limit().call() == 1
    assert deploy(BOX, 1, sender=account.checksum_address.lower()).address
    key = account.private_key
    for wrong in (key, "0x" + key.hex(), "0x123", 5):
        with pytest.raises(InvalidArgument, match="sender=.*: not an address") as refused:
            deploy(BOX, 1, sender=wrong)
        assert key.hex() not in str(refused.value)
    with pytest.raises(InvalidArgument, match="the node refused to send from 0x1111.*no key"):
        deploy(BOX, 1, sender="0x" + "11" * 20)


@pytest.mark.parametrize("entry, problem", [
    ({"type": "function", "inputs": []}, r"entry 0 \(function\) has no name"),
    ({"type": "function", "name": "f", "inputs": [{"name": "a", "type": "tuple"}]},
     r"entry 0 \(f\): inputs: parameter 0 is a tuple without components"),
    ({"type": "bogus"}, "entry 0 has type 'bogus'"),
    ({"type": "function", "name": "f", "inputs": [{"name": "a"}]},
     r"entry 0 \(f\): inputs: parameter 0 has no type"),
])
def test_an_artifact_with_a_malformed_abi_entry_is_refused(tmp_path, entry, problem):
    path = write_artifact(tmp_path, "Bad.json", {"abi": [entry], "bytecode": "0x6000"})
    with pytest.raises(ArtifactError, match=f"Bad.json: its abi {problem}"):
        abi_and_bytecode(path)


def test_a_function_without_inputs_in_its_abi_is_named_in_the_gas_report():
    assert list(selectors([{"type": "function", "name": "f"}]).values()) == ["f"]


# -- 7. reverts --


def test_reverts_refuses_what_it_cannot_match_before_the_block_runs():
    ran = []
    for arguments, refusal in (
        ({"reason": 5}, "reverts: reason=5: give the text"),
        ({"dev": 7}, "reverts: dev=7: give the text"),
        ({"error": "TooLow(uint256)"}, r"error='TooLow\(uint256\)': give a CustomError"),
    ):
        with pytest.raises(InvalidArgument, match=refusal):
            with reverts(**arguments):
                ran.append(arguments)
    assert ran == []


def test_a_custom_error_must_fit_its_signature():
    with pytest.raises(InvalidArgument, match="its signature has 1 argument"):
        CustomError("TooLow(uint256)")
    with pytest.raises(InvalidArgument, match="'x' is not a uint256"):
        CustomError("TooLow(uint256)", "x")
    with pytest.raises(InvalidArgument, match="is not an error's signature"):
        CustomError("TooLow(uint256")
    with pytest.raises(InvalidArgument, match="are not all ABI types"):
        CustomError("TooLow(uint257)", 1)
    pair = CustomError("Pair((uint256,uint256),bool)", (1, 2), True)
    assert pair.types == ["(uint256,uint256)", "bool"] and len(pair.data) == 4 + 3 * 32


# -- 8. composables by stage --


def test_a_composable_stage_no_test_asked_for_is_explained(network):
    with pytest.raises(LookupError, match=re.escape(
        "composables[0]: no composable rollup of stage 0 in this session (deployed: 1); a stage"
        " is deployed when a selected test asks for the composable or composables fixture under"
        " @pytest.mark.stage(0)"
    )):
        network.composables[0]


# -- 9. strategies and mutations --


@given(amounts(0))
def test_amounts_up_to_nothing_are_nothing(amount):
    assert amount == 0


def test_an_eth_account_account_signs_like_the_fixtures(composable, accounts):
    local = Account.from_key(accounts[1].private_key)
    recipient = accounts[2].checksum_address
    assert composable.sign_l2(local, recipient, 1) == composable.sign_l2(accounts[1], recipient, 1)

    @settings(max_examples=3, database=None, deadline=None)
    @given(signed_l2_transactions(901, [local]))
    def signed_by_it(raw):
        assert Account.recover_transaction(raw) == local.address

    signed_by_it()
    for nonce in (-1, "x"):
        with pytest.raises(InvalidArgument, match="sign_l2: nonce=.*give a whole number"):
            composable.sign_l2(local, recipient, 1, nonce=nonce)
    with pytest.raises(InvalidArgument, match="signed_l2_transactions: base_fee=-1"):
        signed_l2_transactions(901, [local], base_fee=-1)


def test_mutations_and_strategies_refuse_what_they_cannot_take(block, accounts):
    with pytest.raises(InvalidArgument, match="mutate: field='nope': give one of gas_used"):
        mutate(block, "nope", 1)
    with pytest.raises(InvalidArgument, match="mutate: drawn=-1: give a whole number"):
        mutate(block, "state_root", -1)
    with pytest.raises(InvalidArgument, match="block_mutations: encoded: not an EXECUTE input"):
        block_mutations(b"garbage")
    with pytest.raises(InvalidArgument, match="senders=.*an account with its key"):
        signed_l2_transactions(901, [accounts[0].checksum_address])
    with pytest.raises(InvalidArgument, match="senders: none given"):
        signed_l2_transactions(901, [])


def test_every_mutation_of_a_block_without_transactions_is_refused(net, rollup):
    empty = rollup.sequencer.stateless_input(chain_controls(net, rollup).l2.mine())

    @settings(max_examples=8, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(block_mutations(empty))
    def refused(mutation):
        field, mutated, refusal = mutation
        execute_rejects(net.w3, mutated, reason=refusal)

    refused()


# -- 10. deposits and withdrawals --


def test_deposit_and_withdraw_refuse_amounts_and_addresses_they_cannot_take(rollup, accounts):
    sender = accounts[1].checksum_address
    for helper, chain in ((deposit, "L1"), (withdraw, "L2")):
        name = helper.__name__
        with pytest.raises(InvalidArgument, match=f"{name}: 0x70.* wei on {chain}, less than"):
            helper(rollup, sender, 10**30)
        for amount in (-1, 1.5 * ETHER, "1"):
            with pytest.raises(InvalidArgument, match=f"{name}: amount=.*give a whole number"):
                helper(rollup, sender, amount)
        with pytest.raises(InvalidArgument, match=f"{name}: recipient='0x12': not an address"):
            helper(rollup, sender, ETHER, recipient="0x12")
    with pytest.raises(RollupError, match="deposit: nothing to deposit$"):
        deposit(rollup, sender, 0)
    with pytest.raises(RollupError, match="^withdraw: withdrawal: nothing to withdraw$"):
        withdraw(rollup, sender, 0)
    assert deposit(rollup, sender.lower(), ETHER)


# -- 11. the prover --


def test_the_prover_takes_hex_and_refuses_an_empty_list_of_proof_types(net, block):
    prover = session_prover(net)
    with pytest.raises(InvalidArgument, match=r"proof_types=\[\]: give a list of one or more"):
        prover.prove(block, proof_types=[])
    with pytest.raises(InvalidArgument, match="encoded_input=None: give bytes"):
        prover.prove(None)
    execute_accepts(net.w3, block)  # the pool holds a proof of a payload it has not seen
    verdicts = prover.prove("0x" + block.hex(), proof_types=prover.pool.accepted_types[:1])
    assert [verdict.verdict for verdict in verdicts] == ["accept"]
