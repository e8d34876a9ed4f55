"""
The pytest plugin, run on test files of its users' kind (pytester): isolation
across L1 and the L2 at every scope (stack order: tests/test_isolation.py), the opt-outs,
what a failing assertion says, external nodes, and the reports.
"""

import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from l1.node import Devnet, DevnetConfig
from precompile.execute import ExecuteParameters

from chains import free_port, serve_in_thread
from peers import start_anvil

pytest_plugins = ["pytester"]

COUNTER = '''
COUNTER = """
count: public(uint256)

@external
def bump(by: uint256):
    assert by < 10, "at most 9 at a time"
    self.count += by
"""
'''


@pytest.fixture(scope="module", autouse=True)
def imported_once():
    """
    Compile and deploy once out here: pytester's in-process runs drop the
    modules each run imports, and Vyper imports parts of itself on first use.
    """
    import hypothesis  # noqa: F401

    from nr.testing.artifacts import abi_and_bytecode
    from rollup.rollup import Rollup

    Rollup.deploy(Devnet().web3(), 1)
    abi_and_bytecode(COUNTER.split('"""')[1])


def run(pytester, source, *args):
    pytester.makepyfile(test_user=source)
    return pytester.runpytest("-p", "no:cacheprovider", "-q", *args)


def test_a_run_without_the_plugins_fixtures_imports_no_node_nor_web3(pytester):
    """
    pytest loads the plugin in every run of the environment, so loading it
    imports no node, web3.py or py-evm (1.7 s): a test that asks for one of
    its fixtures does.
    """
    pytester.makepyfile(test_user='''
import sys

HEAVY = ("web3", "eth", "l1.node", "rollup.stages", "py_ecc")

def test_without_the_plugin():
    assert [name for name in HEAVY if name in sys.modules] == []

def test_with_it(w3):
    assert [name for name in HEAVY if name in sys.modules] != []
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q", "-p", "no:randomly")
    result.assert_outcomes(passed=2)


def test_state_written_in_one_test_is_gone_in_the_next_at_every_scope_on_l1(pytester):
    pytester.makeconftest(COUNTER + '''
import pytest

@pytest.fixture(scope="session")
def session_counter(deploy):
    counter = deploy(COUNTER)
    counter.functions.bump(1).transact()
    return counter

@pytest.fixture(scope="module")
def module_bump(session_counter):
    session_counter.functions.bump(2).transact()
    return session_counter

@pytest.fixture
def function_bump(module_bump):
    module_bump.functions.bump(4).transact()
    return module_bump
''')
    pytester.makepyfile(test_later='''
def test_session_fixture_survives_its_tests_and_modules_are_gone(session_counter):
    assert session_counter.functions.count().call() == 1
''')
    result = run(pytester, '''
def test_first(function_bump, w3, accounts):
    assert function_bump.functions.count().call() == 7
    function_bump.functions.bump(8).transact()
    w3.eth.send_transaction({"to": accounts[5].checksum_address, "value": 1})
    assert function_bump.functions.count().call() == 15

def test_second(function_bump, w3, accounts):
    assert function_bump.functions.count().call() == 7
    assert w3.eth.get_balance(accounts[5].checksum_address) == 10**22

def test_module_fixture_survives_its_tests(module_bump):
    assert module_bump.functions.count().call() == 3
''', "-p", "no:randomly")
    result.assert_outcomes(passed=4)


def test_every_scope_unwinds_on_the_l2_and_the_sequencer_cursor_too(pytester):
    pytester.makepyfile(test_later='''
def test_nothing_left_outside_the_module(rollup):
    assert rollup.l2.head().block_number == 0
    assert rollup.contract.view("message_count") == 0
    assert rollup.sequencer.messages_taken_in == 0
''')
    result = run(pytester, '''
import pytest
from nr.testing.cross_domain import deposit

@pytest.fixture(scope="module")
def deposited(rollups, accounts):
    deposit(rollups[1], accounts[1].checksum_address, 10**18)
    return rollups[1]

def test_deposit_in_a_test(deposited, accounts):
    assert deposited.l2.head().block_number == 1
    deposit(deposited, accounts[2].checksum_address, 5)
    assert deposited.l2.head().block_number == 2
    assert deposited.sequencer.messages_taken_in == 2

def test_only_the_module_deposit_is_left(deposited, accounts):
    assert deposited.l2.head().block_number == 1
    assert deposited.sequencer.messages_taken_in == 1
    assert deposited.l2_balance(accounts[2].checksum_address) == 10**22
''', "-p", "no:randomly")
    result.assert_outcomes(passed=3)


def test_the_marker_and_the_flag_turn_isolation_off(pytester):
    source = COUNTER + '''
import pytest

@pytest.fixture(scope="session")
def counter(deploy):
    return deploy(COUNTER)

@pytest.mark.no_isolation
def test_writes(counter):
    counter.functions.bump(5).transact()

def test_reads(counter):
    assert counter.functions.count().call() == 5
'''
    run(pytester, source).assert_outcomes(passed=2)
    flagged = source.replace("@pytest.mark.no_isolation\n", "")
    run(pytester, flagged, "--no-isolation").assert_outcomes(passed=2)
    run(pytester, flagged, "--no-isolation-scopes=test").assert_outcomes(passed=2)
    run(pytester, flagged, "--no-isolation-scopes=module,session").assert_outcomes(
        passed=1, failed=1
    )
    run(pytester, flagged).assert_outcomes(passed=1, failed=1)
    by_scope = source.replace("@pytest.mark.no_isolation\n", '@pytest.mark.no_isolation("test")\n')
    run(pytester, by_scope).assert_outcomes(passed=2)
    other_scope = source.replace("@pytest.mark.no_isolation\n",
                                 '@pytest.mark.no_isolation("module")\n')
    run(pytester, other_scope).assert_outcomes(passed=1, failed=1)
    result = run(pytester, flagged, "--no-isolation-scopes=modul")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--no-isolation-scopes: no scope modul; the scopes are test,*"])


def test_a_request_for_another_chain_is_refused_on_l1_and_l2(pytester):
    """The clients skip web3.py's chain id check; the nodes make it."""
    result = run(pytester, """
import pytest
from web3.exceptions import Web3RPCError

@pytest.mark.parametrize("on", ["w3", "l2"])
def test_wrong_chain(w3, l2, on, accounts):
    web3 = {"w3": w3, "l2": l2}[on]
    chain_id = web3.eth.chain_id
    sender = accounts[0].checksum_address
    wrong = {"from": sender, "to": sender, "value": 1, "chainId": chain_id + 1}
    for send in (web3.eth.send_transaction, web3.eth.call, web3.eth.estimate_gas):
        with pytest.raises(Web3RPCError, match=f"chainId {chain_id + 1} is not this chain's"):
            send(wrong)
    web3.eth.send_transaction({**wrong, "chainId": chain_id})
""")
    result.assert_outcomes(passed=2)


def test_fixtures_finalized_out_of_order_leave_no_writes_behind(pytester):
    """
    A parametrized module fixture's second value, set up while a fixture
    set up after the first is still in use; a module fixture asked for
    inside a test: neither sees what the one before wrote.
    """
    fixtures = COUNTER + """
import pytest

@pytest.fixture(scope="module")
def counter(deploy):
    return deploy(COUNTER)

@pytest.fixture(scope="module")
def label():
    return "a value, no chain touched"
"""
    pytester.makepyfile(test_late=fixtures + """
@pytest.fixture(scope="module")
def writer(counter):
    counter.functions.bump(5).transact()

def test_writes_then_asks_late(counter, request):
    counter.functions.bump(7).transact()
    request.getfixturevalue("label")

def test_sees_none_of_it(counter):
    assert counter.functions.count().call() == 0

def test_zz_a_late_fixture_that_writes_is_named(counter, request):
    counter.functions.bump(3).transact()
    request.getfixturevalue("writer")
""")
    pytester.makepyfile(test_late_reader=fixtures + """
@pytest.fixture(scope="module")
def writer(counter):
    counter.functions.bump(5).transact()

def test_reads_then_asks_late(counter, request):
    assert counter.functions.count().call() == 0
    request.getfixturevalue("writer")
    assert counter.functions.count().call() == 5

def test_the_late_fixture_still_holds_its_writes(counter, writer):
    assert counter.functions.count().call() == 5
""")
    result = run(pytester, fixtures + """
@pytest.fixture(scope="module", params=[1, 2])
def bumped(request, counter):
    counter.functions.bump(request.param).transact()
    return request.param

def test_each_value_on_a_clean_counter(counter, bumped, label):
    assert counter.functions.count().call() == bumped
""", "-p", "no:randomly")
    result.assert_outcomes(passed=6, failed=1)
    result.stdout.fnmatch_lines([
        "*test test_late.py::test_zz_a_late_fixture_that_writes_is_named ended while module"
        " fixture writer, set up after it, is still in use and changed a chain*",
    ])


def test_what_no_head_shows_is_kept_and_undone_like_the_rest(pytester):
    """
    A session fixture first asked for in a module's second test, which
    changes no head (a transaction queued with automine off, a censoring
    sequencer): the module fixture below it ends without taking that along.
    """
    pytester.makeconftest("""
import pytest

@pytest.fixture(scope="session")
def prepared(l1, w3, accounts, rollups):
    l1.set_automine(False)
    w3.eth.send_transaction({"from": accounts[5].checksum_address,
                             "to": accounts[6].checksum_address, "value": 1, "gas": 21000})
    rollups[1].sequencer.ignores_forced = True
""")
    pytester.makepyfile(test_a="""
import pytest

@pytest.fixture(scope="module")
def label():
    return "a value, no chain touched"

def test_1(label, rollup):
    pass

def test_2(label, prepared, l1, rollup):
    assert len(l1.pool.pending) == 1 and rollup.sequencer.ignores_forced
""")
    result = run(pytester, """
def test_3(prepared, l1, rollup):
    assert len(l1.pool.pending) == 1 and rollup.sequencer.ignores_forced
    assert not l1.settings().automine

def test_4(l1, rollup):
    pass
""", "-p", "no:randomly", "-W", "error::nr.testing.isolation.LeftoverWrites")
    result.assert_outcomes(passed=4)


def test_fixtures_the_isolation_once_missed_are_undone(pytester):
    """
    A project fixture named like one of the plugin's; a fixture that starts
    the session through request.getfixturevalue; a function fixture a test
    asks for late; a session fixture that writes and then fails; the shared
    client's default account and middlewares.
    """
    pytester.makeconftest("""
import pytest

BASE = 10_000 * 10**18

@pytest.fixture
def accounts(accounts, w3):
    w3.eth.send_transaction({"from": accounts[0].checksum_address,
                             "to": accounts[9].checksum_address, "value": 1})
    return accounts

@pytest.fixture
def starts_the_session(request):
    w3 = request.getfixturevalue("w3")
    w3.eth.send_transaction({"to": w3.eth.accounts[8], "value": 2})
    return w3

@pytest.fixture
def funded(w3):
    w3.eth.send_transaction({"to": w3.eth.accounts[7], "value": 3})

@pytest.fixture(scope="session")
def half_done(w3):
    w3.eth.send_transaction({"to": w3.eth.accounts[6], "value": 4})
    raise RuntimeError("setup failed after a write")
""")
    result = run(pytester, """
from conftest import BASE

def test_a_starts_it(starts_the_session):
    assert starts_the_session.eth.get_balance(starts_the_session.eth.accounts[8]) == BASE + 2

def test_b_own_accounts(accounts, w3):
    assert w3.eth.get_balance(accounts[9].checksum_address) == BASE + 1

def test_c_own_accounts_again(accounts, w3):
    assert w3.eth.get_balance(accounts[9].checksum_address) == BASE + 1

def test_d_asks_late(request, w3):
    request.getfixturevalue("funded")
    w3.eth.default_account = w3.eth.accounts[5]
    w3.middleware_onion.remove("buffered_estimate")

def test_e_uses_the_failing_one(half_done):
    pass

def test_f_nothing_is_left(w3):
    assert w3.eth.block_number == 0
    assert w3.eth.default_account == w3.eth.accounts[0]
    assert "buffered_estimate" in w3.middleware_onion
""", "-p", "no:randomly")
    result.assert_outcomes(passed=5, errors=1)
    result.stdout.fnmatch_lines(["*RuntimeError: setup failed after a write*"])


def test_a_fixture_whose_writes_must_stay_warns_and_later_failures_say_so(pytester):
    """
    Two parametrized module fixtures that write: pytest ends one's first
    value while the other's, set up after it, is still in use. Its writes
    cannot go without the other's: a warning says so, and a test that fails
    meanwhile names them.
    """
    result = run(pytester, """
import pytest

@pytest.fixture(scope="module", params=[1, 2])
def a(request, w3):
    w3.eth.send_transaction({"to": w3.eth.accounts[8], "value": request.param})
    return request.param

@pytest.fixture(scope="module", params=[10, 20])
def b(request, w3):
    w3.eth.send_transaction({"to": w3.eth.accounts[9], "value": request.param})
    return request.param

def test_both(a, b, w3):
    assert w3.eth.get_balance(w3.eth.accounts[8]) == 10_000 * 10**18 + a
""", "-p", "no:randomly")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines([
        "*still on the chains, from before this test: the writes of module fixture a*",
        "*test_user.py:3: LeftoverWrites: module fixture a ended while module fixture b, set up"
        " after it, is still in use*",
    ])


def test_with_a_composable_rollup_in_the_session_a_fixture_that_writes_nothing_is_neutral(
    pytester
):
    """
    The slot sequencer's cursor compares equal to itself: a session fixture
    first set up above a parametrized module fixture's first value, writing
    nothing, lets the second value start clean, without a warning.
    """
    result = run(pytester, """
import pytest

@pytest.fixture(scope="session")
def harmless():
    return 42

@pytest.fixture(scope="module", params=["a", "b"])
def sent(request, w3):
    w3.eth.send_transaction({"to": w3.eth.accounts[9], "value": 1})
    return request.param

def test_first(sent, w3, composable):
    assert w3.eth.get_transaction_count(w3.eth.accounts[0]) == 1

def test_second(sent, harmless, w3):
    assert w3.eth.get_transaction_count(w3.eth.accounts[0]) == 1
""", "-p", "no:randomly", "-W", "error::nr.testing.isolation.LeftoverWrites")
    result.assert_outcomes(passed=4)


def test_an_isolate_block_left_open_is_named_and_nothing_else_is_blamed(pytester):
    """
    A test that opens an isolate() block and never closes it fails saying so;
    a later failure names its writes, not a fixture that wrote nothing; and
    the block is not closed behind everyone's back when the process exits.
    """
    pytester.makepyfile(test_user="""
import pytest

KEPT = []

@pytest.fixture(autouse=True)
def harmless():
    yield

def test_1_leaves_a_block_open(isolate, w3):
    KEPT.append(isolate())
    KEPT[-1].__enter__()
    w3.eth.send_transaction({"to": w3.eth.accounts[2], "value": 1})

def test_2_after(w3):
    assert w3.eth.block_number == 0
""")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q", "-p", "no:randomly")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines([
        "*ended with an isolate() block opened in it still open*",
        "*still on the chains, from before this test: the writes of test"
        " test_user.py::test_1_leaves_a_block_open (*",
    ])
    result.stdout.no_fnmatch_line("*the writes of function fixture harmless*")
    assert "Exception ignored" not in result.stderr.str() + result.stdout.str()


NODE_SETTINGS = '''
import pytest

OTHER = "0x000000000000000000000000000000000000bEEF"

def rpc(w3, method, *params):
    answer = w3.provider.make_request(method, list(params))
    assert "error" not in answer, answer

def test_a_changes_every_setting(w3):
    rpc(w3, "anvil_setCoinbase", OTHER)
    rpc(w3, "evm_setBlockGasLimit", hex(5_000_000))
    rpc(w3, "anvil_impersonateAccount", OTHER)
    rpc(w3, "anvil_setNextBlockBaseFeePerGas", hex(12345))
    rpc(w3, "anvil_setChainId", hex(999))
    rpc(w3, "evm_setAutomine", False)

def test_b_finds_them_as_they_were(w3):
    assert w3.eth.chain_id == 31337
    rpc(w3, "anvil_setBalance", OTHER, hex(10**18))
    with pytest.raises(Exception, match="not impersonated|unknown account|no key"):
        w3.eth.send_transaction({"from": OTHER, "to": OTHER, "value": 0})
    sent = w3.eth.send_transaction({"to": OTHER, "value": 1})
    block = w3.eth.get_block(w3.eth.wait_for_transaction_receipt(sent, timeout=5).blockNumber)
    assert block.miner != OTHER and block.gasLimit != 5_000_000 and block.baseFeePerGas != 12345
'''


def test_node_settings_a_test_changes_are_back_for_the_next(pytester):
    """Mining mode, coinbase, gas limit, next base fee, chain id, impersonation."""
    run(pytester, NODE_SETTINGS, "-p", "no:randomly").assert_outcomes(passed=2)


def test_an_external_node_gets_its_chain_id_back(pytester):
    """The one setting that would make the node refuse the next session."""
    devnet = Devnet()
    port, _ = serve_in_thread(devnet)
    url = f"--native-rollups-l1=http://127.0.0.1:{port}"
    source = NODE_SETTINGS.split("def test_b_finds")[0]
    run(pytester, source, url).assert_outcomes(passed=1)
    assert devnet.web3().eth.chain_id == 31337


def test_after_a_failed_restore_the_next_tests_say_why_they_cannot_run(pytester):
    result = run(pytester, COUNTER + '''
import pytest

@pytest.fixture(scope="session")
def counter(deploy):
    return deploy(COUNTER)

def test_resets_the_node_behind_the_plugins_back(counter, w3):
    w3.provider.make_request("anvil_reset", [])

def test_later(counter):
    counter.functions.count().call()
''', "-p", "no:randomly")
    # The session fixture's own restore, at the end, fails the same way.
    result.assert_outcomes(failed=2, errors=1)
    result.stdout.fnmatch_lines([
        "*L1: the node no longer has the snapshot taken at block * (reverted, reset or restarted"
        " outside the plugin?)*",
        "*a restore failed earlier in this session, so the chains are not as this test expects*",
    ])


def test_a_misspelt_scope_in_the_no_isolation_marker_is_refused(pytester):
    result = run(pytester, '''
import pytest

@pytest.mark.no_isolation("tests")
def test_x(w3):
    pass
''')
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([
        "*test_user.py::test_x: no_isolation marker: no scope 'tests'; the scopes are test,*"
    ])


def test_a_stage_no_test_asked_for_is_explained_and_examples_keep_their_name(pytester):
    result = run(pytester, '''
import pytest
from hypothesis import given, settings, strategies as st

@pytest.fixture(scope="session")
def stage_two(rollups):
    return rollups[2]

def test_needs_stage_two(stage_two, rollup):
    pass

@settings(max_examples=3, database=None, deadline=None)
@given(st.integers(min_value=5, max_value=9))
def test_examples(w3, number):
    assert number < 5
''')
    result.assert_outcomes(errors=1, failed=1)
    result.stdout.fnmatch_lines([
        "*rollups[[]2]: no rollup of stage 2 in this session (deployed: 1); a stage is deployed"
        " when a selected test asks for the rollup, rollups or l2 fixture under"
        " @pytest.mark.stage(2)*",
        "*Failing test case: test_examples(*",
    ])
    result.stdout.no_fnmatch_line("*isolated(*")


def test_a_transaction_asks_the_node_only_what_it_needs_and_keeps_web3s_errors(pytester):
    """
    No chain id, block or fee reads around a transact(): the estimate, the gas
    limit (unformatted) and the send; the gas is web3.py's (estimate plus its
    buffer), and a revert still raises ContractLogicError with the reason.
    """
    result = run(pytester, COUNTER + """
import json

import pytest
from web3.exceptions import ContractLogicError

@pytest.mark.parametrize("on", ["l1", "l2"])
def test_lean(deploy, rollup, w3, l2, on):
    web3 = {"l1": w3, "l2": l2}[on]
    counter = deploy(COUNTER, on={"l1": "l1", "l2": rollup}[on])
    estimate = counter.functions.bump(3).estimate_gas()  # on the state the send runs on
    asked = []
    dispatcher = web3.provider.dispatcher
    handle_bytes = dispatcher.handle_bytes
    dispatcher.handle_bytes = lambda body, *rest: (
        asked.append(json.loads(body)["method"]) or handle_bytes(body, *rest)
    )
    sent = counter.functions.bump(3).transact()
    assert asked == ["eth_estimateGas", "eth_getBlockByNumber", "eth_sendTransaction"]
    assert web3.eth.get_transaction(sent).gas == estimate + 100_000
    with pytest.raises(ContractLogicError, match="at most 9 at a time"):
        counter.functions.bump(10).transact()
    assert counter.functions.count().call() == 3
""")
    result.assert_outcomes(passed=2)


def test_a_rollup_asked_for_too_late_is_named(pytester):
    result = run(pytester, """
import pytest

@pytest.mark.parametrize("name", ["l2", "composable"])
def test_late(request, name):
    request.getfixturevalue(name)
""")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines([
        "*nothing of stage 1 in this session for rollup*too late*",
        "*nothing of stage 1 in this session for composable*too late*",
    ])


def test_a_failing_reverts_shows_the_revert_reason(pytester):
    result = run(pytester, COUNTER + '''
import pytest
from nr.testing.assertions import reverts

def test_reverts_as_expected(deploy):
    counter = deploy(COUNTER)
    with reverts("at most 9") as caught:
        counter.functions.bump(10).transact()
    assert caught.reason == "at most 9 at a time"

def test_other_reason(deploy):
    with reverts("overflow"):
        deploy(COUNTER).functions.bump(10).transact()

def test_no_revert(deploy):
    with reverts("at most 9"):
        deploy(COUNTER).functions.bump(1).transact()

def test_as_a_decorator(deploy):
    counter = deploy(COUNTER)

    @reverts("at most 9")
    def bump_too_far():
        counter.functions.bump(10).transact()

    bump_too_far()

def test_one_object_entered_inside_itself(deploy):
    counter = deploy(COUNTER)
    too_far = reverts("at most 9")
    with too_far as outer:
        with too_far as inner:
            counter.functions.bump(10).transact()
        counter.functions.bump(11).transact()
    assert inner.reason == outer.reason == "at most 9 at a time"
''')
    result.assert_outcomes(passed=3, failed=2)
    result.stdout.fnmatch_lines([
        "*expected a revert 'overflow', but it reverted with 'at most 9 at a time'*",
        "*the call did not revert (expected 'at most 9')*",
    ])
    # Each failure points at the test's own line, not chained to web3.py's revert error.
    output = result.stdout.str()
    assert "During handling of the above exception" not in output
    assert "contextlib" not in output and "ContractLogicError" not in output
    result.stdout.re_match_lines([r"test_user.py:\d+: AssertionError"])


DEV_COMMENTS = '''
GUARDED = """
limit: public(uint256)

@deploy
def __init__():
    self.limit = 10

@external
def check(x: uint256) -> uint256:
    assert x != 7  # dev: seven is unlucky
    assert x < self.limit, "over the limit"  # dev: within the limit
    assert x != 3
    return x
"""

CALLER = """
interface Guarded:
    def check(x: uint256) -> uint256: nonpayable

@external
def relay(target: address, x: uint256) -> uint256:
    return extcall Guarded(target).check(x)  # dev: relayed
"""
'''


def test_reverts_dev_names_the_vyper_line_that_reverted_on_l1_and_l2(pytester):
    result = run(pytester, DEV_COMMENTS + '''
import pytest
from nr.testing.assertions import reverts

@pytest.mark.parametrize("on", ["l1", "l2"])
def test_dev_comments(deploy, rollup, on):
    chain = rollup if on == "l2" else "l1"
    guarded = deploy(GUARDED, on=chain)
    with reverts(dev="seven is unlucky"):
        guarded.functions.check(7).transact()
    with reverts("over the limit", dev="within the limit"):
        guarded.functions.check(12).call()
    caller = deploy(CALLER, on=chain)
    # The frame that reverted first is the callee's, not the caller's.
    with reverts(dev="seven is unlucky"):
        caller.functions.relay(guarded.address, 7).transact()

def test_wrong_dev(deploy):
    with reverts(dev="within the limit"):
        deploy(GUARDED).functions.check(7).transact()

def test_no_dev_comment(deploy):
    with reverts(dev="anything"):
        deploy(GUARDED).functions.check(3).call()

def test_wrong_reason_says_where(deploy):
    with reverts("something else"):
        deploy(GUARDED).functions.check(12).call()
''')
    result.assert_outcomes(passed=2, failed=3)
    result.stdout.fnmatch_lines([
        "*expected a revert with dev comment 'within the limit', but it reverted at source line 10"
        " (`assert x != 7  # dev: seven is unlucky`): # dev: seven is unlucky*",
    ])
    result.stdout.fnmatch_lines([
        "*expected a revert with dev comment 'anything', but it reverted at source line 12"
        " (`assert x != 3`), which has no # dev: comment*",
    ])
    result.stdout.fnmatch_lines([
        "*expected a revert 'something else', but it reverted with 'over the limit' at source"
        " line 11*",
    ])


def test_a_failing_execute_assertion_shows_the_refusal_and_the_roots(pytester):
    result = run(pytester, '''
from nr.testing.assertions import execute_accepts, execute_rejects
from nr.testing.cross_domain import deposit
from nr.testing.strategies import mutate

def block(rollup, accounts):
    number = deposit(rollup, accounts[1].checksum_address, 10**18)
    return rollup.sequencer.stateless_input(number)

def test_accepts_and_rejects(rollup, w3, accounts):
    valid = block(rollup, accounts)
    assert execute_accepts(w3, valid).successful_validation
    execute_rejects(w3, mutate(valid, "state_root", 1), reason="state_root does not match")

def test_accepts_a_tampered_block(rollup, w3, accounts):
    execute_accepts(w3, mutate(block(rollup, accounts), "state_root", 1))

def test_rejects_a_valid_block(rollup, w3, accounts):
    execute_rejects(w3, block(rollup, accounts))

def test_rejects_for_another_reason(rollup, w3, accounts):
    execute_rejects(w3, mutate(block(rollup, accounts), "gas_used", 1), reason="state_root")

def test_accepts_a_block_the_chain_does_not_have(rollup, w3, accounts, isolate):
    l2 = rollup.l2_web3
    sender, recipient = accounts[2].checksum_address, accounts[3].checksum_address
    with isolate():  # a block the L2 chain will not keep
        l2.eth.send_transaction({"from": sender, "to": recipient, "value": 5})
        number = l2.eth.block_number
        other = rollup.sequencer.stateless_input(number)
    l2.eth.send_transaction({"from": sender, "to": recipient, "value": 6})
    assert l2.eth.block_number == number
    execute_accepts(w3, mutate(other, "state_root", 1))
''')
    result.assert_outcomes(passed=1, failed=4)
    result.stdout.fnmatch_lines([
        "*EXECUTE refused the L2 block*",
        "*guest verdict: L2 block is invalid: InvalidBlock: state_root does not match*",
        "*state root:    expected 0x*, computed 0x*",
        "*transactions:  1 in the block, as execution computes them*",
        "*  #0 0x* status 1, gas *, * logs*",
        "*first diverging transaction: none, every one is as in the L2 chain's block *; the header"
        " differs from it in state root*",
        "*EXECUTE accepted the L2 block*",
        "*EXECUTE refused the L2 block, but not 'state_root': *gas_used*",
        "*gas used:      expected *, computed *",
        "*first diverging transaction: none, every one is as in the L2 chain's block *; the header"
        " differs from it in gas used*",
        "*first diverging transaction: #0, not the L2 chain's (its block * has 0x* there)*",
    ])


def test_block_mutations_get_the_refusal_each_must_get(pytester):
    result = run(pytester, '''
from hypothesis import given, settings, HealthCheck
from nr.testing.assertions import execute_rejects
from nr.testing.cross_domain import deposit
from nr.testing.strategies import block_mutations, signed_l2_transactions
import pytest

@pytest.fixture(scope="module")
def valid(rollups, accounts):
    rollup = rollups[1]
    return rollup.sequencer.stateless_input(deposit(rollup, accounts[1].checksum_address, 1))

def test_mutations(valid, w3):
    seen = set()
    @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
    @given(block_mutations(valid))
    def check(mutation):
        field, mutated, refusal = mutation
        seen.add(field)
        execute_rejects(w3, mutated, reason=refusal)
    check()
    assert len(seen) >= 2

def test_signed_transactions_go_through_each_example_isolated(rollup, accounts, isolate):
    l2 = rollup.l2_web3
    start = l2.eth.block_number

    @settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
    @given(signed_l2_transactions(rollup.config.l2_chain_id, accounts[3:5]))
    def check(raw):
        with isolate():
            receipt = l2.eth.wait_for_transaction_receipt(l2.eth.send_raw_transaction(raw))
            assert receipt.status == 1 and receipt.blockNumber == start + 1
    check()
''')
    result.assert_outcomes(passed=2)


def test_each_hypothesis_example_starts_from_the_same_state_on_l1_and_l2(pytester):
    result = run(pytester, COUNTER + '''
import pytest
from hypothesis import HealthCheck, Phase, given, settings, strategies as st

# Generation only, no example database: the same examples in any checkout, nothing to shrink.
SETTINGS = settings(
    max_examples=6, deadline=None, database=None, phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)
SEEN_WITHOUT_ISOLATION = []

@pytest.fixture(scope="module")
def counters(deploy, rollups):
    return deploy(COUNTER), deploy(COUNTER, on=rollups[1])

@SETTINGS
@given(by=st.integers(min_value=1, max_value=9))
def test_examples_isolated(counters, by):
    for counter in counters:
        assert counter.functions.count().call() == 0
        counter.functions.bump(by).transact()
        assert counter.functions.count().call() == by

@pytest.mark.no_isolation
@SETTINGS
@given(by=st.integers(min_value=1, max_value=9))
def test_examples_share_state_without_isolation(counters, by):
    SEEN_WITHOUT_ISOLATION.append(counters[0].functions.count().call())
    counters[0].functions.bump(by).transact()

def test_the_examples_without_isolation_saw_each_others_writes():
    assert SEEN_WITHOUT_ISOLATION[0] == 0 and SEEN_WITHOUT_ISOLATION[-1] > 0
''')
    result.assert_outcomes(passed=3)


def test_a_composable_rollup_lands_based_blocks_and_each_test_starts_from_its_state(pytester):
    result = run(pytester, '''
import pytest

@pytest.fixture(scope="module")
def preconfirmed(composables, accounts):
    # A module fixture's L2 transaction, preconfirmed and sequenced: kept for the module.
    composable = composables[1]
    raw = composable.sign_l2(accounts[1], accounts[2].checksum_address, 5)
    composable.l2.eth.send_raw_transaction(raw)
    return composable.l2.eth.get_balance(accounts[2].checksum_address)

def test_a_based_block_lands_in_its_slot(composable, preconfirmed, accounts):
    l2, receiver = composable.l2, accounts[2].checksum_address
    based = composable.build_based([composable.sign_l2(accounts[1], receiver, 7)])
    receipt = composable.land(based)
    assert receipt.status == 1
    assert composable.rollup.contract.view("head_hash") == based.block.hash
    assert l2.eth.get_balance(receiver) == preconfirmed + 7
    status = composable.rollup.rpc_namespace().nr_slotStatus()
    assert status["lastBased"]["blockHash"] == "0x" + based.block.hash.hex()

def test_the_next_test_starts_before_the_based_block(composable, preconfirmed, accounts):
    assert composable.l2.eth.get_balance(accounts[2].checksum_address) == preconfirmed
    assert composable.rollup.rpc_namespace().nr_slotStatus()["lastBased"] is None
    # The slot clock goes on from the restored heads: another based block lands.
    receiver = accounts[3].checksum_address
    based = composable.build_based([composable.sign_l2(accounts[1], receiver, 1)])
    assert composable.land(based).status == 1

def test_an_l1_contract_calls_l2_and_back_in_one_based_block(composable, accounts):
    from rollup.cross_domain import TallyDemo
    with composable.automining():
        demo = TallyDemo.deploy(composable.rollup, accounts[0])
    based = composable.build_calling(after=[demo.run(5)])
    assert composable.land(based).status == 1
    assert demo.initiator.view("last_result") == 5 and demo.counter.view("count") == 5

def test_its_l1_mines_by_slot_while_the_session_l1_automines(composable, w3, accounts):
    before, transfer = composable.w3.eth.block_number, {"to": accounts[5].checksum_address}
    composable.w3.eth.send_transaction({**transfer, "from": accounts[4].checksum_address})
    assert composable.w3.eth.block_number == before
    composable.next_slot()
    assert composable.w3.eth.block_number == before + 1
    session_head = w3.eth.block_number
    w3.eth.send_transaction({**transfer, "from": accounts[4].checksum_address})
    assert w3.eth.block_number == session_head + 1
''')
    result.assert_outcomes(passed=4)


def test_the_summary_gives_the_isolation_cost_and_gas_gives_a_table(pytester):
    """
    --gas counts what the test bodies and the fixtures they use sent, once
    each (a fixture a test asks for late too), inside isolate() blocks and
    hypothesis examples too.
    """
    result = run(pytester, COUNTER + '''
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

@pytest.fixture(scope="module")
def counter(deploy):
    counter = deploy(COUNTER)
    counter.functions.bump(1).transact()
    return counter

@pytest.fixture
def bumped_late(counter):
    counter.functions.bump(2).transact()

def test_bump(counter, request):
    request.getfixturevalue("bumped_late")
    counter.functions.bump(3).transact()

def test_bump_in_a_block_undone(counter, isolate):
    with isolate():
        counter.functions.bump(4).transact()
    counter.functions.bump(5).transact()

@given(by=st.integers(min_value=1, max_value=9))
@settings(max_examples=3, deadline=None, database=None)
def test_bump_per_example(counter, by):
    counter.functions.bump(by).transact()
''', "--gas", "-p", "no:randomly")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines([
        "*gas used (native-rollups --gas)*",
        "L1 *source *constructor *1 *",
    ])
    # 1 + 2 + 3, 4 (undone) + 5, and one per example.
    result.stdout.re_match_lines([r"L1\s+source\s+bump\s+8\s"])
    result.stdout.fnmatch_lines([
        "*native-rollups isolation*",
        "*snapshots in * ms, * restores (heads and state roots checked) in * ms;"
        " * ms per test over 3 isolated tests",
    ])


def test_under_xdist_the_summary_adds_up_every_workers_cost_and_gas(pytester):
    tests = COUNTER + """
import pytest

@pytest.fixture(scope="module")
def counter(deploy):
    return deploy(COUNTER)

@pytest.mark.parametrize("by", [1, 2])
def test_bump(counter, by):
    counter.functions.bump(by).transact()
"""
    pytester.makepyfile(test_one=tests, test_two=tests)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-q", "-n", "2", "--dist", "loadfile", "--gas"
    )
    result.assert_outcomes(passed=4)
    result.stdout.re_match_lines([r"L1\s+source\s+bump\s+4\s"])
    result.stdout.fnmatch_lines(["*restores (heads and state roots checked)*over 4 isolated tests"])


def test_a_bad_stage_marker_is_a_usage_error(pytester):
    result = run(pytester, '''
import pytest

@pytest.mark.stage(7)
def test_x(rollup):
    pass
''')
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*stage marker: no stage 7: the stages are*"])


def test_a_stage_named_as_text_is_the_same_stage_and_a_preset_is_found_beside_the_test(pytester):
    from rollup.stages import PRESETS

    preset = json.loads((PRESETS / "stage1.json").read_text())
    pytester.mkdir("presets")
    (pytester.path / "presets" / "own.json").write_text(json.dumps({**preset, "l2_chain_id": 77}))
    pytester.mkdir("elsewhere")
    pytester.makepyfile(test_user="""
import pytest

@pytest.mark.stage("1")
def test_text(rollups, rollup):
    assert rollup is rollups[1]

@pytest.mark.stage(1)
def test_number(rollups, rollup):
    assert rollup is rollups[1] and len(rollups) == 2

@pytest.mark.stage("presets/own.json")
def test_preset(l2, rollups, rollup):
    assert l2.eth.chain_id == 77 and rollups["presets/own.json"] is rollup
""")
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.chdir(pytester.path / "elsewhere")  # the preset's path is the test file's
    try:
        result = pytester.runpytest("-p", "no:cacheprovider", "-q", str(pytester.path))
    finally:
        monkeypatch.undo()
    result.assert_outcomes(passed=3)


@pytest.mark.parametrize("marker, said", [
    ("stage(-1)", "*stage marker: no stage -1: the stages are*"),
    ("stage(None)", "*the stage marker takes a stage (0, 1, 2) or a preset file's path, not None*"),
    ('stage("\u00b2")', "*stage marker: */\u00b2: no preset file there*"),
    ('stage("missing.json")', "*stage marker: */missing.json: no preset file there*"),
    ('stage("twin.json")', "*stage marker: the rollup of */twin.json' would have L2 chain id 901,"
     " as the rollup of 1 in this session has; give the preset an l2_chain_id of its own*"),
    ('no_isolation(scope="test")', "*no_isolation marker: it takes scopes as arguments*"),
    ('no_isolation(["test"])', "*no_isolation marker: give scopes as separate arguments*"),
])
def test_a_bad_marker_is_refused_in_words(pytester, marker, said):
    from rollup.stages import PRESETS

    (pytester.path / "twin.json").write_text((PRESETS / "stage1.json").read_text())
    result = run(pytester, f"""
import pytest

def test_stage_one(rollup):
    pass

@pytest.mark.{marker}
def test_x(rollup):
    pass
""", "-p", "no:randomly")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([said])


# -- external nodes --


def test_an_external_node_runs_the_same_tests_isolated(pytester):
    port, _ = serve_in_thread(Devnet())
    source = COUNTER + '''
import pytest

@pytest.fixture(scope="module")
def counter(deploy):
    return deploy(COUNTER)

def test_one(counter):
    counter.functions.bump(2).transact()
    assert counter.functions.count().call() == 2

def test_two(counter):
    assert counter.functions.count().call() == 0

def test_a_composable_rollup_lands_on_its_own_slot_mode_l1(composable, w3, accounts):
    assert composable.w3 is not w3
    receiver = accounts[2].checksum_address
    based = composable.build_based([composable.sign_l2(accounts[1], receiver, 7)])
    assert composable.land(based).status == 1
    assert composable.rollup.rpc_namespace().nr_slotStatus()["lastBased"] is not None

def test_the_composable_rollup_is_back_before_the_based_block(composable):
    assert composable.rollup.rpc_namespace().nr_slotStatus()["lastBased"] is None
'''
    result = run(pytester, source, f"--native-rollups-l1=http://127.0.0.1:{port}", "-p",
                 "no:randomly")
    result.assert_outcomes(passed=4)
    result = run(pytester, source, f"--native-rollups-l1=http://127.0.0.1:{port}",
                 "--native-rollups-chain-id=1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*the node's chain id is 31337, not 1; pass "
                                 "--native-rollups-chain-id 31337 if it is the node you mean*"])


def test_rollups_on_an_external_node_are_isolated_with_it(pytester):
    """
    With --native-rollups-l1 the rollups are deployed on that node and their
    L2 nodes run here: a deposit, a withdrawal and its claim in one test are
    gone from both chains in the next, and the L1 node agrees.
    """
    devnet = Devnet()
    port, _ = serve_in_thread(devnet)
    source = '''
from nr.testing.cross_domain import deposit, withdraw

ETHER = 10**18

def test_deposit_withdraw_and_claim(rollup, accounts, w3, l2):
    user = accounts[2].checksum_address
    deposit(rollup, user, 2 * ETHER, within=1)
    assert l2.eth.get_balance(user) == 10_000 * ETHER + 2 * ETHER
    withdrawal = withdraw(rollup, user, ETHER)
    before = w3.eth.get_balance(user)
    rollup.claim(withdrawal, sender=accounts[0].checksum_address)
    assert w3.eth.get_balance(user) == before + ETHER

def test_both_chains_are_back(rollup, accounts, w3, l2):
    user = accounts[2].checksum_address
    assert l2.eth.get_balance(user) == 10_000 * ETHER
    assert w3.eth.get_balance(rollup.address) == 0
    assert rollup.settled_head() == 0 and rollup.l2.head().block_number == 0
    assert rollup.contract.view("message_count") == 0
'''
    head = devnet.head().block_number
    result = run(pytester, source, f"--native-rollups-l1=http://127.0.0.1:{port}", "-p",
                 "no:randomly")
    result.assert_outcomes(passed=2)
    # The rollup's deployment came before the first snapshot and stays; what the tests did
    # on the node (the deposit, the claim) was reverted with the rest.
    assert devnet.head().block_number > head
    assert devnet.web3().eth.get_balance(devnet.accounts[2].checksum_address) == 10_000 * 10**18


PROVING = '''
from nr.testing.assertions import execute_accepts, execute_rejects
from nr.testing.cross_domain import deposit, withdraw

def test_proofs(rollup, prover, w3, accounts):
    valid = rollup.sequencer.stateless_input(deposit(rollup, accounts[1].checksum_address, 1))
    execute_rejects(w3, valid, reason="0 of the 3 proofs of distinct types needed")
    prover.prove(valid)
    assert execute_accepts(w3, valid).successful_validation

def test_withdraw_with_the_prover_at_hand(rollup, prover, accounts):
    creator = accounts[2].checksum_address
    deposit(rollup, creator, 2 * 10**18)
    with prover.proving_settlements():
        withdraw(rollup, creator, 10**18)
'''


def test_the_prover_fixture_proves_over_rpc_for_a_node_with_the_demo_keys(pytester):
    proofs_mode = ExecuteParameters(mode="proofs")
    port, _ = serve_in_thread(Devnet(DevnetConfig(execute=proofs_mode, deterministic_provers=True)))
    result = run(pytester, PROVING, f"--native-rollups-l1=http://127.0.0.1:{port}")
    result.assert_outcomes(passed=2)
    port, _ = serve_in_thread(Devnet(DevnetConfig(execute=proofs_mode)))
    result = run(pytester, PROVING, f"--native-rollups-l1=http://127.0.0.1:{port}", "-rs")
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines([
        "*the prover fixture on --native-rollups-l1: its provers' keys are its own; start it with"
        " --deterministic-provers*",
    ])


def test_rollup_tests_on_a_node_without_execute_are_refused_saying_so(pytester):
    """anvil snapshots, so L1 tests run on it; a rollup's settlement needs EXECUTE."""
    port = free_port()
    process, _ = start_anvil(port)
    try:
        url = f"--native-rollups-l1=http://127.0.0.1:{port}"
        run(pytester, "def test_x(w3): pass", url).assert_outcomes(passed=1)
        result = run(pytester, "def test_x(rollup): pass", url)
    finally:
        process.terminate()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([
        "*the node has no EXECUTE precompile at 0x0000000000000000000000000000000000000101*"
        "run them against nr devnet or nr up*"
    ])


@pytest.mark.parametrize("options, said", [
    (["--native-rollups-l1=http://10.1.2.3:8545"],
     "*10.1.2.3 is not this machine;*--native-rollups-allow-remote*"),
    (["--native-rollups-l1=http://127.0.0.1:99999"],
     "*127.0.0.1:99999: the port is no number from 1 to 65535*"),
    (["--native-rollups-l1=http://localhost:abc"], "*the port is no number from 1 to 65535*"),
    (["--native-rollups-l1=http://127.0.0.1:8545", "--native-rollups-execute=proofs"],
     "*--native-rollups-execute proofs: that is the embedded L1's mode; the node at"
     " --native-rollups-l1 verifies L2 blocks as it was started to (nr devnet --execute-mode"
     " proofs)*"),
    (["--native-rollups-l1=http://127.0.0.1:8545", "-n", "2"],
     "*--native-rollups-l1 with -n 2: every pytest-xdist worker would snapshot and revert the"
     " same node under the others; run with -n 0*"),
    (["--native-rollups-l1=http://127.0.0.1:8545", "--tx", "2*popen"],
     "*--native-rollups-l1 with --tx 2*popen: every pytest-xdist worker would*"),
], ids=["another machine", "a port too high", "a port that is no number", "an execute mode",
        "xdist workers", "xdist gateways"])
def test_a_node_option_that_cannot_hold_is_refused_in_words(pytester, options, said):
    result = run(pytester, "def test_x(w3): pass", *options)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([said])


def test_the_unspecified_address_is_this_machine():
    from nr.pytest_plugin import is_loopback

    assert is_loopback("0.0.0.0") and is_loopback("::") and is_loopback("127.0.0.2")
    assert not is_loopback("10.1.2.3") and not is_loopback("node.example")


class PostServer(BaseHTTPRequestHandler):
    """An HTTP server answering each POST with ``answer(body)``: (content type, bytes)."""

    def do_POST(self):
        content_type, body = self.answer(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@contextmanager
def serving(handler):
    """``handler`` served on a free local port meanwhile: its URL."""
    server = HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


class NotANode(PostServer):
    """A web server that answers every request with a page, not JSON-RPC."""

    def answer(self, body):
        return "text/html", b"<html>hello</html>"


def test_an_external_node_that_does_not_answer_is_refused_in_words(pytester):
    """Nothing listening, or a web server that is no node: said so, not in requests' words."""
    url = f"--native-rollups-l1=http://127.0.0.1:{free_port()}"
    result = run(pytester, "def test_x(w3): pass", url)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*: nothing answers there: is the node running, on that port?"])
    assert "HTTPConnectionPool" not in result.stderr.str()
    with serving(NotANode) as url:
        result = run(pytester, "def test_x(w3): pass", f"--native-rollups-l1={url}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*: what answers there is no JSON-RPC node (eth_chainId got no*"])


class NoSnapshots(PostServer):
    """A JSON-RPC node of chain 31337 without evm_snapshot, as geth answers an unknown method."""

    def answer(self, body):
        request = json.loads(body)
        if request["method"] == "eth_chainId":
            answer = {"result": "0x7a69"}
        else:
            message = f"the method {request['method']} does not exist/is not available"
            answer = {"error": {"code": -32601, "message": message}}
        return "application/json", json.dumps(
            {"jsonrpc": "2.0", "id": request["id"], **answer}
        ).encode()


def test_a_node_without_snapshots_is_refused_saying_what_is_missing(pytester):
    with serving(NoSnapshots) as url:
        result = run(pytester, "def test_x(w3): pass", f"--native-rollups-l1={url}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([
        "*the node cannot isolate tests: evm_snapshot failed: the method evm_snapshot does not"
        " exist/is not available*"
    ])


def test_proofs_the_prover_gossips_are_gone_in_the_next_test(pytester):
    result = run(pytester, '''
from nr.testing.cross_domain import deposit

def test_prove(rollup, prover, accounts):
    valid = rollup.sequencer.stateless_input(deposit(rollup, accounts[1].checksum_address, 1))
    w3 = rollup.l1
    w3.eth.call({"to": "0x0000000000000000000000000000000000000101", "data": valid})
    first = prover.pool.accepted_types[:1]
    assert [v.verdict for v in prover.prove(valid, first)] == ["accept"]
    assert [v.verdict for v in prover.prove(valid, first)] == ["ignore"]  # already held
    assert len(prover.pool.payloads) == 1

def test_pool_is_empty_again(prover):
    assert len(prover.pool.payloads) == 0 and prover.pool.queued == []
''', "-p", "no:randomly")
    result.assert_outcomes(passed=2)


def test_a_projects_own_rollup_fixture_is_left_alone(pytester):
    result = run(pytester, '''
import pytest

@pytest.fixture
def rollup():
    return "the project's own"

@pytest.mark.stage("no such preset")
def test_own(rollup):
    assert rollup == "the project's own"
''')
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("*native-rollups isolation*")


def custom_error_artifact(error_signature: str, argument: int) -> dict:
    """A contract whose every call reverts with ``error_signature``'s selector and one word."""
    from eth_hash.auto import keccak

    selector = keccak(error_signature.encode())[:4].hex()
    # mstore(0, selector << 224); mstore(4, argument); revert(0, 36)
    runtime = f"63{selector}60e01b600052" + f"60{argument:02x}" + "60045260246000fd"
    init = f"60{len(runtime) // 2:02x}80600b6000396000f3" + runtime
    abi = [{"type": "function", "name": "poke", "inputs": [], "outputs": [],
            "stateMutability": "nonpayable"}]
    return {"abi": abi, "bytecode": "0x" + init}


def test_a_transaction_sent_with_its_own_gas_reverts_on_chain_and_is_caught(pytester):
    """No estimate to refuse it: it is mined, fails, and only its receipt says why."""
    result = run(pytester, COUNTER + '''
import pytest
from nr.testing.assertions import reverts

@pytest.fixture
def counter_l1(deploy):
    return deploy(COUNTER)

def test_caught_with_its_reason_on_l1(counter_l1):
    with reverts("at most 9 at a time") as caught:
        counter_l1.functions.bump(10).transact({"gas": 200_000})
    assert caught.reason == "at most 9 at a time"

def test_caught_with_its_reason_on_l2(deploy, rollup):
    counter = deploy(COUNTER, on=rollup)
    with reverts("at most 9 at a time"):
        counter.functions.bump(10).transact({"gas": 200_000})

def test_the_wrong_reason_is_named(counter_l1):
    with reverts("something else"):
        counter_l1.functions.bump(10).transact({"gas": 200_000})

def test_a_mined_success_is_no_revert(counter_l1):
    with reverts("at most 9 at a time"):
        counter_l1.functions.bump(1).transact({"gas": 200_000})

def test_one_still_pending_is_said(counter_l1, l1):
    l1.set_automine(False)
    with reverts("at most 9 at a time"):
        counter_l1.functions.bump(10).transact({"gas": 200_000})
''', "-p", "no:randomly")
    result.assert_outcomes(passed=2, failed=3)
    result.stdout.fnmatch_lines([
        "*expected a revert 'something else', but it reverted with 'at most 9 at a time'*",
        "*the call did not revert (expected 'at most 9 at a time')*",
        "*did not revert (expected 'at most 9 at a time'); 1 transaction(s) it sent are still"
        " pending: mine them inside the block*",
    ])


def test_a_dev_comment_is_never_read_from_the_source_a_restore_took_away(pytester):
    """
    The next test deploys other code at the same address (the deployer's
    nonce went back with the restore): the first contract's dev comments
    must not be read for it, in order or in one run.
    """
    pytester.makefile(".json", plain=json.dumps(custom_error_artifact("TooLow(uint256)", 7)))
    result = run(pytester, COUNTER + '''
from nr.testing.assertions import reverts

def test_a_vyper_counter(deploy):
    counter = deploy(COUNTER)
    with reverts(dev="none here either"):
        counter.functions.bump(10).transact()

def test_b_an_artifact_at_the_same_address(deploy):
    plain = deploy("plain.json")
    with reverts(dev="at most 9 at a time"):
        plain.functions.poke().transact()
''', "-p", "no:randomly")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines([
        "*expected a revert with dev comment 'at most 9 at a time', but the revert came from"
        " code whose Vyper source the deploy fixture did not deploy*",
    ])


def test_custom_errors_from_hardhat_and_foundry_artifacts(pytester):
    hardhat = custom_error_artifact("TooLow(uint256)", 7)
    pytester.makefile(".json", hardhat=json.dumps(hardhat))
    foundry = {"abi": hardhat["abi"], "bytecode": {"object": hardhat["bytecode"]}}
    pytester.makefile(".json", foundry=json.dumps(foundry))
    pytester.makefile(".json", broken=json.dumps({"abi": []}))
    result = run(pytester, '''
import pytest
from nr.testing.artifacts import ArtifactError
from nr.testing.assertions import CustomError, reverts

@pytest.mark.parametrize("artifact", ["hardhat.json", "foundry.json"])
def test_error_as_expected(deploy, artifact):
    with reverts(error=CustomError("TooLow(uint256)", 7)) as caught:
        deploy(artifact).functions.poke().transact()
    assert caught.data[4:] == (7).to_bytes(32, "big")

def test_other_argument(deploy):
    with reverts(error=CustomError("TooLow(uint256)", 8)):
        deploy("hardhat.json").functions.poke().transact()

def test_other_error(deploy):
    with reverts(error=CustomError("TooHigh(uint256)", 7)):
        deploy("hardhat.json").functions.poke().transact()

def test_not_an_artifact(deploy):
    with pytest.raises(ArtifactError, match="broken.json is not a contract artifact: it needs "
                       "an abi list and bytecode"):
        deploy("broken.json")

def test_reason_of_a_named_custom_error(deploy):
    with reverts("too low", error=CustomError("TooLow(uint256)", 7)):
        deploy("hardhat.json").functions.poke().transact()

def test_reason_of_an_unnamed_custom_error(deploy):
    with reverts("too low"):
        deploy("hardhat.json").functions.poke().transact()

def test_a_reason_found_in_the_errors_hex_is_no_reason(deploy):
    with reverts("x"):  # its data reads "0x..."
        deploy("hardhat.json").functions.poke().transact()
''')
    result.assert_outcomes(passed=3, failed=5)
    result.stdout.fnmatch_lines([
        "*expected a revert with TooLow(8), but it reverted with TooLow(7)*",
        "*expected a revert with TooHigh(7), but it reverted with custom error 0x*(not TooHigh)*",
        "*expected a revert 'too low', but it reverted with TooLow(7), a custom error, which"
        " carries no reason text*",
        "*expected a revert 'too low', but it reverted with 0x*0007, a custom error, which"
        " carries no reason text*",
        "*expected a revert 'x', but it reverted with 0x*0007, a custom error, which"
        " carries no reason text*",
    ], consecutive=False)


def test_chain_helpers_mine_warp_and_wait_for_a_condition(pytester):
    result = run(pytester, '''
import pytest
from nr.testing.artifacts import ArtifactError

def test_l1_and_l2(chain, rollup):
    start = chain.l1.height
    assert chain.l1.mine(3) == start + 3
    before = chain.l1.web3.eth.get_block("latest").timestamp
    assert chain.l1.warp(3600) >= before + 3600
    assert chain.l2.mine() == 1
    assert chain.l1.until(lambda: chain.l1.height >= start + 6, blocks=2) == start + 6

def test_until_says_what_did_not_hold(chain):
    chain.l1.until(lambda: False, blocks=2, what="the deposit")

def test_no_l2_without_a_rollup(chain):
    chain.l2

def test_deploy_errors(deploy):
    with pytest.raises(ArtifactError, match="no contract 'Nope'; available: .*BugRecord"):
        deploy("Nope")
    with pytest.raises(ArtifactError, match="no contract file /.*/missing.vy"):
        deploy("missing.vy")
    with pytest.raises(ArtifactError, match="source does not compile"):
        deploy("@external\\ndef f(:\\n    pass\\n")
''')
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines([
        "*AssertionError: the deposit did not hold on L1 within 2 blocks*",
        "*AttributeError: chain.l2: this test has no rollup (ask for the rollup fixture)*",
    ])


def test_in_proofs_mode_execute_accepts_once_proven_and_says_what_was_missing(pytester):
    result = run(pytester, '''
from nr.testing.assertions import execute_accepts, execute_rejects
from nr.testing.cross_domain import deposit, withdraw

def test_proofs(rollup, prover, w3, accounts):
    valid = rollup.sequencer.stateless_input(deposit(rollup, accounts[1].checksum_address, 1))
    execute_rejects(w3, valid, reason="0 of the 3 proofs of distinct types needed")
    prover.prove(valid)
    assert execute_accepts(w3, "0x" + bytes(valid).hex()).successful_validation  # hex too

def test_unproven_shows_what_execute_said(rollup, w3, accounts):
    valid = rollup.sequencer.stateless_input(deposit(rollup, accounts[1].checksum_address, 1))
    execute_accepts(w3, valid)

def test_proven_before_execute_ever_met_it(rollup, prover, w3, accounts):
    valid = rollup.sequencer.stateless_input(deposit(rollup, accounts[1].checksum_address, 1))
    verdicts = prover.prove(valid)
    assert [verdict.verdict for verdict in verdicts[:3]] == ["accept"] * 3
    assert execute_accepts(w3, valid).successful_validation

def test_withdraw_with_the_prover_at_hand(rollup, prover, accounts):
    creator = accounts[2].checksum_address
    deposit(rollup, creator, 2 * 10**18)
    with prover.proving_settlements():
        withdraw(rollup, creator, 10**18)
    assert rollup.settled_head() == rollup.l2.head().block_number
''', "--native-rollups-execute=proofs")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines([
        "*EXECUTE refused the L2 block: *0 of the 3 proofs of distinct types needed*",
        "*guest verdict: valid*",
    ])


@pytest.mark.parametrize(
    "hiding, options",
    [("contracts/", ()), ("contracts/", ("--gas",)), ("prover.py", ())],
    ids=["a folder, fixtures", "a folder, gas table", "a module"],
)
def test_a_project_folder_named_like_a_package_of_ours_is_said_so(pytester, hiding, options):
    """
    Its conftest puts the project's folder on sys.path, ahead of this
    project's packages: a folder or a module there named like one hides ours.
    In a process of its own: this one has imported ours already.
    """
    if hiding.endswith("/"):
        pytester.mkdir(hiding[:-1]).joinpath("TipJar.vy").write_text("# the project's contract\n")
        what = f"the folder {pytester.path / hiding[:-1]}"
    else:
        pytester.path.joinpath(hiding).write_text("# the project's module\n")
        what = f"the module {pytester.path / hiding}"
    pytester.makeconftest("")
    pytester.makepyfile(test_user="def test_on_l1(w3):\n    assert w3.eth.chain_id\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q", *options)
    assert result.ret != 0
    said = (result.stdout.str() + result.stderr.str()).replace("\n", " ")
    package = hiding.rstrip("/").removesuffix(".py")
    assert f"{what} has the name of native-rollups' own package `{package}` and hides it" in said
    assert "cannot import name" not in said and "is not a package" not in said


def test_a_helper_refusing_a_tests_input_points_at_the_tests_line(pytester):
    result = run(pytester, '''
from nr.testing.cross_domain import deposit

def test_bad_amount(rollup, accounts):
    deposit(rollup, accounts[1].checksum_address, -1)

def test_no_such_file(deploy):
    deploy("missing.vy")
''', "--tb=line")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines([
        "*test_user.py:4: *InvalidArgument: deposit: amount=-1: give a whole number, 0 or more",
        "*test_user.py:7: *ArtifactError: no contract file */missing.vy",
    ])


def test_gas_names_a_contract_only_while_its_address_holds_it(pytester):
    """A restore frees the address: a later test may deploy other code there."""
    result = run(pytester, COUNTER + '''
def test_a_deploys_the_counter(deploy):
    deploy(COUNTER)

def test_b_deploys_other_code_at_the_same_address(w3, accounts):
    # The same sender at the same nonce, once test a's snapshot is restored.
    w3.eth.send_transaction({
        "from": accounts[0].checksum_address,
        "data": "0x600a600c600039600a6000f3602a60005260206000f3",
    })
''', "--gas", "-p", "no:randomly")
    result.assert_outcomes(passed=2)
    result.stdout.re_match_lines([
        r"L1\s+\(contract creation\)\s+constructor\s+1\s",
        r"L1\s+source\s+constructor\s+1\s",
    ])
