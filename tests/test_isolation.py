"""
One snapshot across L1, an L2, its sequencer's cursor and the proof pools
(``nr.testing.isolation``): restored together, in stack order, and checked.
"""

import warnings
from types import SimpleNamespace

import pytest
from test_prover_robustness import for_unseen_payload
from web3 import Web3
from web3.middleware import Web3Middleware

from l1.node import Devnet
from nr.testing import assertions
from nr.testing.isolation import (
    ClientSettings,
    Entry,
    IsolationError,
    LeftoverWrites,
    LocalChain,
    RemoteChain,
    World,
)
from precompile.encoding import encode
from precompile.ssz import StatelessValidationResult
from prover.pool import ProofPool
from rollup.rollup import Rollup

from chains import serve_in_thread
from proving import PROVERS, sign

ETHER = 10**18


@pytest.fixture(scope="module")
def network():
    l1 = Devnet()
    rollup = Rollup.deploy(l1.web3(), 1)
    world = World()
    world.add_chain(LocalChain("L1", l1))
    world.add_chain(LocalChain("L2", rollup.l2))
    world.add_sequencer(rollup.sequencer)
    world.add_part(l1.proof_pool)
    return world, l1, rollup


def test_a_restore_takes_l1_the_l2_and_the_sequencer_cursor_back_together(network):
    world, l1, rollup = network
    alice = l1.accounts[0].checksum_address
    with world.isolate():
        rollup.deposit(alice, ETHER)
        assert rollup.sequencer.take_in_messages() == 1
        assert rollup.sequencer.messages_taken_in == 1
    assert rollup.l2.head().block_number == 0
    assert rollup.contract.view("message_count") == 0
    assert rollup.sequencer.messages_taken_in == 0
    # The cursor reads L1's logs again from where it stood: the same deposit
    # index at the same L1 height is taken in anew.
    with world.isolate():
        before = rollup.l2_balance(alice)
        rollup.deposit(alice, 2 * ETHER)
        assert rollup.sequencer.take_in_messages() == 1
        assert rollup.l2_balance(alice) == before + 2 * ETHER


def test_entries_finished_out_of_order_wait_for_the_ones_above_and_say_so(network):
    world, l1, _ = network
    bob = l1.accounts[1].checksum_address
    w3 = l1.web3()
    start = l1.head().block_number
    lower = world.push("module fixture lower", "module")
    w3.eth.send_transaction({"from": bob, "to": bob, "value": 1})
    world.settled(lower)
    upper = world.push("session fixture upper", "session")
    w3.eth.send_transaction({"from": bob, "to": bob, "value": 1})
    world.settled(upper)
    with pytest.warns(LeftoverWrites, match="module fixture lower ended while session fixture"
                      " upper, set up after it, is still in use"):
        world.finish(lower)
    assert l1.head().block_number == start + 2 and world.stack == [lower, upper]
    assert world.leftovers() == ["module fixture lower"]
    world.finish(upper)
    assert l1.head().block_number == start and world.stack == []


def test_a_finished_fixture_that_changed_nothing_gives_way_to_the_ones_above(network):
    world, l1, _ = network
    bob = l1.accounts[1].checksum_address
    start = l1.head().block_number
    lower = world.push("module fixture lower", "module")
    world.settled(lower)
    upper = world.push("session fixture upper", "session")
    l1.web3().eth.send_transaction({"from": bob, "to": bob, "value": 1})
    world.settled(upper)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        world.finish(lower)
    assert world.stack == [upper] and l1.head().block_number == start + 1
    world.finish(upper)
    assert l1.head().block_number == start and world.stack == []


def queue_a_transaction(l1, rollup):
    l1.set_automine(False)
    bob = l1.accounts[1].checksum_address
    l1.web3().eth.send_transaction({"from": bob, "to": bob, "value": 1})


def censor(l1, rollup):
    rollup.sequencer.ignores_forced = True


def what_no_head_shows(l1, rollup):
    return (
        len(l1.pool.pending), l1.settings().automine, rollup.sequencer.ignores_forced,
        l1.clock.offset,
    )


@pytest.mark.parametrize("change", [
    queue_a_transaction,
    lambda l1, rollup: l1.set_automine(False),
    censor,
    lambda l1, rollup: l1.increase_time(3600),
], ids=["a pending transaction", "automine off", "a censoring sequencer", "the clock moved"])
def test_a_fixture_that_changed_no_head_but_something_else_is_not_taken_for_neutral(
    network, change
):
    """
    Below it, a finished fixture waits, rather than being restored with a
    snapshot of the fixture taken again on top: that would lose what it did.
    """
    world, l1, rollup = network
    before = what_no_head_shows(l1, rollup)
    lower = world.push("module fixture lower", "module")
    l1.web3().eth.send_transaction({"from": l1.accounts[2].checksum_address,
                                   "to": l1.accounts[2].checksum_address, "value": 1})
    world.settled(lower)
    upper = world.push("session fixture upper", "session")
    change(l1, rollup)
    world.settled(upper)
    changed = what_no_head_shows(l1, rollup)
    assert changed != before and not upper.neutral
    with pytest.warns(LeftoverWrites):
        world.finish(lower)
    assert what_no_head_shows(l1, rollup) == changed
    world.finish(upper)
    assert what_no_head_shows(l1, rollup) == before and world.stack == []


def test_a_test_body_and_a_function_fixture_it_asked_for_late_end_together(network):
    """
    A function fixture reached through request.getfixturevalue ends in the
    test's own teardown: the body's writes wait for it, without an error.
    """
    world, l1, _ = network
    bob = l1.accounts[1].checksum_address
    w3 = l1.web3()
    start = l1.head().block_number
    body = world.push("test body")
    w3.eth.send_transaction({"from": bob, "to": bob, "value": 1})
    late = world.push("function fixture late", "function")
    w3.eth.send_transaction({"from": bob, "to": bob, "value": 1})
    world.settled(late)
    world.finish(body, strict=True)
    world.finish(late)
    assert l1.head().block_number == start and world.stack == []


def late_module_fixture_writing(world, w3, sender) -> Entry:
    """A module fixture a test body asks for late, which sends a transaction in its setup."""
    late = world.push("module fixture late", "module")
    w3.eth.send_transaction({"from": sender, "to": sender, "value": 1})
    world.settled(late)
    return late


def body_ends_in_error(world, body) -> None:
    with pytest.raises(IsolationError, match="test body ended while module fixture late"):
        world.finish(body, strict=True)


@pytest.mark.parametrize("body_writes", ["before asking", "after asking"])
def test_a_test_body_that_wrote_under_a_wider_fixture_it_asked_for_late_is_an_error(
    network, body_writes
):
    world, l1, _ = network
    bob, carol = (account.checksum_address for account in l1.accounts[1:3])
    w3 = l1.web3()
    body = world.push("test body")
    if body_writes == "before asking":
        w3.provider.make_request("anvil_setBalance", [carol, hex(5)])
    late = late_module_fixture_writing(world, w3, bob)
    if body_writes == "after asking":
        w3.provider.make_request("anvil_setBalance", [carol, hex(5)])
    body_ends_in_error(world, body)
    world.finish(late)
    assert world.stack == []


def test_a_function_fixture_a_body_asked_for_late_under_a_wider_one_is_the_bodys(network):
    """Its writes end with the test: under a wider fixture asked for after it, an error."""
    world, l1, _ = network
    bob = l1.accounts[1].checksum_address
    w3 = l1.web3()
    start = l1.head().block_number
    body = world.push("test body")
    own = world.push("function fixture funded", "function")
    w3.eth.send_transaction({"from": bob, "to": bob, "value": 1})
    world.settled(own)
    wider = late_module_fixture_writing(world, w3, bob)
    body_ends_in_error(world, body)
    with pytest.warns(LeftoverWrites):
        world.finish(own)
    world.finish(wider)
    assert l1.head().block_number == start and world.stack == []


def test_over_rpc_a_body_is_never_taken_to_have_written_nothing():
    """Another client's writes go unseen there: a wider fixture asked for late is an error."""
    port, w3 = serve_in_thread(Devnet())
    carol = w3.eth.accounts[2]
    world = World()
    world.add_chain(RemoteChain("L1", w3))
    body = world.push("test body")
    another_client = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{port}"))
    another_client.provider.make_request("anvil_setBalance", [carol, hex(5)])
    late = late_module_fixture_writing(world, w3, w3.eth.accounts[1])
    body_ends_in_error(world, body)
    world.finish(late)
    assert w3.eth.get_balance(carol) == 10_000 * ETHER


def test_a_test_body_that_wrote_nothing_may_ask_late_for_a_wider_fixture_that_writes(network):
    world, l1, _ = network
    bob = l1.accounts[1].checksum_address
    w3 = l1.web3()
    start = l1.head().block_number
    body = world.push("test body")
    w3.eth.get_balance(bob)  # reads are not writes
    late = late_module_fixture_writing(world, w3, bob)
    world.finish(body, strict=True)
    # The fixture's writes stay while it is in use, and go when it ends.
    assert l1.head().block_number == start + 1 and world.stack == [late]
    world.finish(late)
    assert l1.head().block_number == start and world.stack == []


def test_an_isolate_block_left_open_is_named_as_such(network):
    world, l1, _ = network
    body = world.push("test body")
    world.push("block")
    with pytest.raises(IsolationError, match="an isolate.. block opened in it still open"):
        world.finish(body, strict=True)
    world.stack.clear()


def test_a_clients_default_account_and_middlewares_go_back(network):
    _, l1, _ = network
    w3 = l1.web3()
    w3.eth.default_account = l1.accounts[0].checksum_address
    middleware = tuple(w3.middleware_onion.middleware)
    world = World()
    world.add_part(ClientSettings(w3))
    with world.isolate():
        w3.eth.default_account = l1.accounts[3].checksum_address
        w3.eth.default_block = 0
        w3.eth.set_gas_price_strategy(lambda web3, transaction: 1)
        w3.strict_bytes_type_checking = False
        w3.middleware_onion.remove("validation")
        w3.middleware_onion.add(Web3Middleware, "a test's own")
    assert w3.eth.default_account == l1.accounts[0].checksum_address
    assert w3.eth.default_block == "latest" and w3.strict_bytes_type_checking
    assert w3.eth.generate_gas_price() is None
    assert tuple(w3.middleware_onion.middleware) == middleware


def test_a_fixture_that_writes_after_asking_for_a_wider_one_is_not_dropped(network):
    """
    A module fixture that asks for a session fixture first (its snapshot is
    taken before either wrote) and then writes: its writes lie under the
    session fixture's, so it waits, and says so.
    """
    world, l1, _ = network
    bob = l1.accounts[1].checksum_address
    w3 = l1.web3()
    start = l1.head().block_number
    module = world.push("module fixture m", "module")
    session = world.push("session fixture s", "session")
    w3.eth.send_transaction({"from": bob, "to": bob, "value": 1})
    world.settled(session)
    w3.eth.send_transaction({"from": bob, "to": bob, "value": 1})
    world.settled(module)
    with pytest.warns(LeftoverWrites, match="module fixture m ended while session fixture s"):
        world.finish(module)
    assert l1.head().block_number == start + 2 and world.stack == [module, session]
    world.finish(session)
    assert l1.head().block_number == start and world.stack == []


def test_a_remote_node_counts_as_changed_by_any_request_that_is_no_read():
    """
    Over JSON-RPC nothing standard tells a node's pending transactions or an
    edited balance: the session client's requests tell whether it changed.
    """
    port, w3 = serve_in_thread(Devnet())
    world = World()
    world.add_chain(RemoteChain("L1", w3))
    reading = world.push("session fixture reading", "session")
    w3.eth.get_balance(w3.eth.accounts[1])
    w3.eth.call({"to": w3.eth.accounts[1]})
    w3.provider.make_request("eth_coinbase", [])
    w3.eth.filter("latest")
    with world.isolate():  # what it changed here it took back
        w3.provider.make_request("anvil_setBalance", [w3.eth.accounts[1], hex(1)])
    world.settled(reading)
    editing = world.push("session fixture editing", "session")
    w3.provider.make_request("anvil_setBalance", [w3.eth.accounts[1], hex(12345)])
    world.settled(editing)
    assert reading.neutral and not editing.neutral
    world.finish(editing)
    batching = world.push("session fixture batching", "session")
    w3.provider.make_batch_request([("anvil_setNonce", [w3.eth.accounts[1], hex(5)])])
    world.settled(batching)
    calling_execute = world.push("session fixture calling EXECUTE", "session")
    w3.provider.make_request("eth_call", [{"to": "0x" + "00" * 18 + "0101"}, "latest"])
    world.settled(calling_execute)
    assert not batching.neutral and not calling_execute.neutral
    world.finish(calling_execute)
    world.finish(batching)
    world.finish(reading)
    assert w3.eth.get_balance(w3.eth.accounts[1]) == 10_000 * ETHER
    assert w3.eth.get_transaction_count(w3.eth.accounts[1]) == 0


# Runtime code that hands its calldata to EXECUTE (STATICCALL) and returns what it answered.
EXECUTE_FORWARDER = "0x365f5f375f5f365f6101015afa3d5f5f3e3d5ff3"


def test_a_remote_call_reaching_execute_through_a_contract_is_a_change(valid_input):
    """No request names EXECUTE there: the node's proof pool digest tells the payload seen."""
    port, w3 = serve_in_thread(Devnet())
    forwarder = w3.to_checksum_address("0x" + "fe" * 20)
    w3.provider.make_request("anvil_setCode", [forwarder, EXECUTE_FORWARDER])
    world = World()
    world.add_chain(RemoteChain("L1", w3))
    verifying = world.push("session fixture verifying through a contract", "session")
    result = w3.eth.call({"to": forwarder, "data": encode(valid_input)})
    world.settled(verifying)
    assert StatelessValidationResult.decode_bytes(result).successful_validation
    assert not verifying.neutral
    again = world.push("session fixture verifying the same block again", "session")
    w3.eth.call({"to": forwarder, "data": encode(valid_input)})
    world.settled(again)
    assert again.neutral  # seen already: nothing a verdict depends on changed
    world.finish(again)
    world.finish(verifying)
    assert w3.provider.make_request("nr_getProofRequests", [])["result"] == []


def test_a_payload_seen_is_a_change_the_order_payloads_were_seen_in_is_not(valid_input):
    """A proof for a payload seen is judged, for one not seen held: seeing one changes that."""
    pool = ProofPool(PROVERS)
    before, digest_before = ProofPool.comparable(pool.saved()), pool.digest()
    pool.see(valid_input, encode(valid_input))
    seen, digest_seen = ProofPool.comparable(pool.saved()), pool.digest()
    assert seen != before and digest_seen != digest_before
    pool.see(valid_input, encode(valid_input))  # seen again: last in the pool's order
    assert ProofPool.comparable(pool.saved()) == seen and pool.digest() == digest_seen
    pool.submit(sign(for_unseen_payload(2, b"held"), 1))
    assert ProofPool.comparable(pool.saved()) != seen and pool.digest() != digest_seen


def test_an_isolate_block_entered_again_inside_itself_restores_each_level(network):
    world, l1, _ = network
    bob = l1.accounts[1].checksum_address
    w3 = l1.web3()
    start = l1.head().block_number
    block = world.isolate()
    with block:
        w3.eth.send_transaction({"from": bob, "to": bob, "value": 1})
        with block:
            w3.eth.send_transaction({"from": bob, "to": bob, "value": 1})
        assert l1.head().block_number == start + 1
    assert l1.head().block_number == start and world.stack == []

    @world.isolate()
    def deeper(levels):
        w3.eth.send_transaction({"from": bob, "to": bob, "value": 1})
        if levels:
            deeper(levels - 1)

    deeper(2)
    assert l1.head().block_number == start and world.stack == []


def test_what_a_fixture_writes_in_its_teardown_is_its_own_too(network):
    """
    A fixture whose setup changed nothing but whose teardown writes, ending
    under one that wrote: its teardown's writes stay, and it says so, once.
    """
    world, l1, _ = network
    bob = l1.accounts[1].checksum_address
    w3 = l1.web3()
    lower = world.push("module fixture lower", "module")
    world.settled(lower)
    upper = world.push("session fixture upper", "session")
    w3.eth.send_transaction({"from": bob, "to": bob, "value": 1})
    world.settled(upper)
    world.tearing_down(lower)
    w3.eth.send_transaction({"from": bob, "to": bob, "value": 1})
    with pytest.warns(LeftoverWrites, match="module fixture lower ended while"):
        world.finish(lower)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        world.finish(lower)  # its finalizer after a failed setup's finish: said once
    world.finish(upper)
    assert world.stack == []


class FakeL2:
    """A client whose chain holds only the blocks named."""

    def __init__(self, *hashes: bytes) -> None:
        self.eth = self
        self.hashes = hashes

    def get_block(self, block_hash):
        if block_hash not in self.hashes:
            raise LookupError("no such block")
        return {"hash": block_hash}


def test_a_diagnosis_compares_with_the_l2_that_holds_the_blocks_parent(monkeypatch):
    parent = b"\x01" * 32
    first, second = FakeL2(b"\x02" * 32), FakeL2(parent)
    monkeypatch.setitem(assertions.KNOWN_L2S, 901, [first, second])
    block = SimpleNamespace(header=SimpleNamespace(parent_hash=parent))
    assert assertions.session_l2_of(block, 901) is second
    orphan = SimpleNamespace(header=SimpleNamespace(parent_hash=b"\x03" * 32))
    assert assertions.session_l2_of(orphan, 901) is first
    assert assertions.session_l2_of(block, 902) is None


def test_a_snapshot_the_node_lost_is_an_error_naming_the_chain(network):
    world, l1, _ = network
    entry = world.push("test")
    l1_snapshot_id = entry.point.chains[0][1][0]
    assert l1.revert(l1_snapshot_id)  # someone reverted the node behind the plugin's back
    number = l1.head().block_number
    with pytest.raises(IsolationError, match=f"L1: the node no longer has the snapshot taken at "
                       f"block {number} .reverted, reset or restarted outside the plugin"):
        world.finish(entry)


def test_a_proof_pool_restored_forgets_what_came_after(valid_input):
    pool = ProofPool(PROVERS)
    first = pool.submit(sign(for_unseen_payload(1, b"first"), 0))
    saved = pool.saved()
    pool.submit(sign(for_unseen_payload(2, b"second"), 1))
    pool.see(valid_input, encode(valid_input))
    assert first.queued and len(pool.queued) == 2 and len(pool.payloads) == 1
    pool.restore(saved)
    assert len(pool.queued) == 1 and pool.queued[0].validator == 0
    assert len(pool.payloads) == 0


def test_a_restore_watcher_that_fails_does_not_keep_the_chains_from_going_back(network):
    world, l1, _ = network
    bob = l1.accounts[1].checksum_address
    start = l1.head().block_number

    class FailingWatcher:  # a --gas window whose reading of the blocks fails
        told_after = False

        def before_restore(self):
            raise RuntimeError("reading the blocks failed")

        def after_restore(self):
            self.told_after = True

    watcher = FailingWatcher()
    world.restore_watchers.append(watcher)
    try:
        with pytest.raises(RuntimeError, match="reading the blocks failed"):
            with world.isolate():
                l1.web3().eth.send_transaction({"from": bob, "to": bob, "value": 1})
    finally:
        world.restore_watchers.remove(watcher)
    assert l1.head().block_number == start and watcher.told_after and world.stack == []
