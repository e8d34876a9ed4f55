"""
Synchronous calls between L1 and L2 inside one based block (the execution
table): an L1 contract calls an L2 contract and uses its result, the L2 code
calls back into L1 under try/catch, and only the subtree that reverts is
undone, on both sides. Every way of lying in the table is refused, and the
same programs run in one merged EVM state leave the same outcome.
Against a real L1 devnet in slot mode and the real contracts.
"""

import dataclasses

import pytest
import vyper
from eth_abi import encode as abi_encode
from eth_hash.auto import keccak

from contracts import compile_contract
from l1.accounts import derive_accounts
from l1.node import Devnet, DevnetConfig
from rollup.based import Action, BasedBuilder
from rollup.cross_domain import TallyDemo, signed_l2_transaction
from rollup.execution_table import ExecutionTableBuilder, table_calldata
from rollup.l1_contract import L1Contract, RollupError
from rollup.l2 import L2_CROSS_CALLS
from rollup.merged_reference import (
    CROSS_CALLS,
    Calldata,
    Deployment,
    Program,
    based_program,
    merged_program,
)

from rollups import BUILDER, composable, reason_of

ACCOUNTS = derive_accounts()
ALICE, STRANGER = ACCOUNTS[0], ACCOUNTS[6]
TALLY = compile_contract("L2Tally")
INITIATOR = compile_contract("L1Initiator")


@pytest.fixture
def l1():
    return Devnet(DevnetConfig())


class Tally(TallyDemo):
    """The demo on a slot-mode L1 (``node``), built and landed by the builder's key."""

    def __init__(self, node: Devnet, demo: TallyDemo) -> None:
        super().__init__(demo.rollup, demo.tally, demo.counter, demo.initiator)
        self.node = node
        self.tables = ExecutionTableBuilder(BasedBuilder(demo.rollup, BUILDER))

    def build(self, *actions: Action, transactions=()):
        certificate = self.rollup.sequencer.end_slot()
        return self.tables.build(transactions, after=list(actions), slot_ending=certificate)

    def land(self, based):
        """Land ``based`` in the next slot's block, follow it on L2; the L1 receipt."""
        sent = self.tables.land(based)
        self.node.mine_slot(self.rollup.sequencer.next_l1_slot())
        self.rollup.sequencer.follow_l1()
        return self.rollup.l1.eth.get_transaction_receipt(sent)

    def relanded(self, based):
        """``based`` with its entries changed by the caller, landed: the L1 receipt."""
        based.calls = table_calldata(based.entries)
        return self.land(based)

    def tally_view(self, name: str):
        contract = self.rollup.l2_web3.eth.contract(self.tally, abi=TALLY.abi)
        return getattr(contract.functions, name)().call()

    def everything(self) -> dict:
        """What a refused based block must leave as it was, on both chains."""
        return {
            "count": self.counter.view("count"),
            "results": self.initiator.view("results"),
            "messages": self.rollup.contract.view("message_count"),
            "l2 head": self.rollup.l2.head().hash,
            "calls from l1": self.tally_view("calls_from_l1"),
            "inner writes": self.tally_view("inner_writes"),
        }


@pytest.fixture
def program(l1) -> Tally:
    rollup = composable(l1)
    l1.set_automine(True)
    demo = TallyDemo.deploy(rollup, ALICE)
    l1.set_automine(False)
    return Tally(l1, demo)


def refused(program: Tally, based) -> str:
    """
    Land ``based`` (changed by the caller), require that nothing changed on
    either chain (L1 settles the sequenced blocks up to the slot-ending one,
    and nothing of the based block): L1's reason.
    """
    before = program.everything()
    receipt = program.relanded(based)
    assert receipt.status == 0
    assert program.everything() == before
    assert program.rollup.contract.view("head_hash") == based.block.header.parent_hash
    return reason_of(program.node, receipt)


# -- calls that work --


def test_an_l1_contract_calls_an_l2_contract_and_uses_its_result(program):
    based = program.build(program.run(5))
    receipt = program.land(based)
    assert receipt.status == 1
    # L1 used the L2 result in the same transaction; the L2 code's L1 call bumped L1.
    assert program.initiator.view("last_result") == 5
    assert program.counter.view("count") == 5
    assert program.counter.view("last_l2_sender") == program.tally
    # On L2 the call ran once, from the initiator, and its subtree was kept.
    assert program.tally_view("calls_from_l1") == 1
    assert program.tally_view("last_l1_caller") == program.initiator.address
    assert program.tally_view("inner_writes") == 1
    [entry] = based.entries
    assert [call.kept for call in entry.l1_calls] == [True]
    # The node took in the based block and the call's block: it agrees with L1.
    rollup = program.rollup
    assert rollup.l2.head().hash == rollup.contract.view("head_hash")
    assert rollup.l2.head().block_number == based.block.number + 1


def test_an_inner_l1_call_that_reverts_under_try_catch_rolls_back_only_its_subtree(program):
    based = program.build(program.run(500))  # above the counter's limit: it reverts on L1
    assert program.land(based).status == 1
    assert program.counter.view("count") == 0
    # The L2 subtree that made the call is undone (its write), the catch is kept.
    assert program.tally_view("inner_writes") == 0
    assert program.tally_view("caught") == 1
    assert program.tally_view("calls_from_l1") == 1
    # L1 went on with the result the L2 code returned after catching.
    assert program.initiator.view("results") == 1
    assert program.initiator.view("last_result") == 0


def test_an_l2_subtree_reverting_after_its_l1_call_undoes_that_l1_call_too(program):
    based = program.build(program.run(7, fail_after=True))
    [entry] = based.entries
    assert [(call.success, call.kept) for call in entry.l1_calls] == [(True, False)]
    assert program.land(based).status == 1
    # The L1 call succeeded when made, and is undone with the L2 frame that made it.
    assert program.counter.view("count") == 0
    assert program.tally_view("inner_writes") == 0
    assert program.tally_view("caught") == 1


def test_two_calls_into_l2_in_one_based_block_each_see_the_other(program):
    based = program.build(program.run(2), program.run(3))
    assert len(based.entries) == 2
    assert program.land(based).status == 1
    assert program.counter.view("count") == 5
    assert program.initiator.view("last_result") == 5
    assert program.tally_view("calls_from_l1") == 2


def test_a_reorg_of_the_l1_block_takes_the_calls_l2_blocks_out_too(program):
    rollup = program.rollup
    snapshot = program.node.snapshot()
    based = program.build(program.run(4))
    assert program.land(based).status == 1
    assert rollup.l2.head().block_number == based.block.number + 1
    program.node.revert(snapshot)
    rollup.sequencer.follow_l1()
    chain = [rollup.l2.backend.block(n).hash for n in range(rollup.l2.head().block_number + 1)]
    assert based.block.hash not in chain and based.entries[0].block.hash not in chain
    assert program.tally_view("calls_from_l1") == 0


# -- every lie in the table is refused, and nothing changes anywhere --


def test_wrong_return_data_is_refused(program):
    based = program.build(program.run(5))
    based.entries[0].returned = abi_encode(["uint256"], [6])
    assert "did not run the call as the entry says" in refused(program, based)


def test_a_wrong_result_given_to_the_l2_code_for_its_l1_call_is_refused(program):
    based = program.build(program.run(5))
    entry = based.entries[0]
    entry.l1_calls[0] = dataclasses.replace(
        entry.l1_calls[0], returned=abi_encode(["uint256"], [99])
    )
    assert "did not return what the L2 code was given" in refused(program, based)


def test_an_l1_call_said_to_revert_that_succeeds_is_refused(program):
    based = program.build(program.run(5))
    entry = based.entries[0]
    entry.l1_calls[0] = dataclasses.replace(entry.l1_calls[0], success=False)
    assert "did not return what the L2 code was given" in refused(program, based)


def test_a_kept_l1_call_said_to_be_undone_is_refused(program):
    based = program.build(program.run(5))
    entry = based.entries[0]
    entry.l1_calls[0] = dataclasses.replace(entry.l1_calls[0], kept=False)
    assert "did not run the call as the entry says" in refused(program, based)


def test_an_entry_on_a_stale_l2_state_is_refused(program):
    stale = program.build(program.run(5))
    # The same call after another L2 transaction: the old entry's block builds on a
    # based block that is no longer the one settled before it.
    transfer = signed_l2_transaction(program.rollup, ACCOUNTS[2], {
        "to": ACCOUNTS[3].checksum_address, "value": 1, "gas": 21_000,
    })
    based = program.build(program.run(5), transactions=[transfer])
    based.entries = stale.entries
    assert "does not build on the settled head" in refused(program, based)


def test_an_entry_replayed_in_a_later_block_is_refused(program):
    first = program.build(program.run(5))
    assert program.land(first).status == 1
    based = program.build(program.run(5))
    based.entries = first.entries
    assert "does not build on the settled head" in refused(program, based)
    # Nor can anyone run the call again on L2.
    rollup = program.rollup
    cross = rollup.l2_web3.eth.contract(L2_CROSS_CALLS, abi=compile_contract("L2CrossCalls").abi)
    entry = first.entries[0]
    index = rollup.contract.view("message_count")
    with pytest.raises(Exception, match="already ran"):
        cross.functions.execute(
            index, entry.caller, entry.target, entry.data, []
        ).call({"from": STRANGER.checksum_address})


def test_reordered_entries_are_refused(program):
    based = program.build(program.run(2), program.run(3))
    based.entries.reverse()
    assert "the entry is for another call" in refused(program, based)


def test_a_call_into_l2_with_no_entry_is_refused(program):
    based = program.build(program.run(5))
    based.entries = []
    assert "no entry in the execution table" in refused(program, based)


def test_two_callers_for_one_entry_are_refused(program):
    program.node.set_automine(True)
    other = L1Contract.deploy(
        program.rollup.l1, "L1Initiator", ALICE.checksum_address,
        program.rollup.cross_calls.address,
    )
    program.node.set_automine(False)
    based = program.build(program.run(5))
    # The other initiator makes the same call with the first one's entry.
    based.after = [program.run(5, initiator=other)]
    assert "the entry is for another caller" in refused(program, based)


def test_the_ends_refuse_callers_outside_a_based_block(program):
    rollup = program.rollup
    stranger = STRANGER.checksum_address
    cross = rollup.cross_calls
    for call, reason in [
        (lambda: cross.contract.functions.call_l2(program.tally, b"").call({"from": stranger}),
         "no entry in the execution table"),
        (lambda: cross.contract.functions.load([]).call({"from": stranger}),
         "only the sequencing contract loads a table"),
        (lambda: rollup.sequencing.contract.functions.settle_call(
            stranger, program.tally, bytes(32), b"").call({"from": stranger}),
         "only the cross calls contract"),
        (lambda: rollup.contract.contract.functions.enqueue_call(
            stranger, program.tally, bytes(32)).call({"from": stranger}),
         "only the sequencer"),
    ]:
        with pytest.raises(Exception, match=reason):
            call()
    l2_cross = rollup.l2_web3.eth.contract(
        L2_CROSS_CALLS, abi=compile_contract("L2CrossCalls").abi
    )
    with pytest.raises(Exception, match="only inside a call from L1"):
        l2_cross.functions.call_l1(program.counter.address, b"").call({"from": stranger})
    # Nobody on L2 can pose as an L1 caller: the call must have been queued on L1.
    with pytest.raises(Exception, match="L1 queued no such call"):
        l2_cross.functions.execute(
            rollup.contract.view("message_count") + 1, program.initiator.address,
            program.tally, b"", [],
        ).call({"from": stranger})


def test_calls_that_are_not_an_execution_table_are_refused(program):
    based = program.build(program.run(5))
    based.calls = b"\x12\x34\x56\x78" + based.calls[4:]
    before = program.everything()
    receipt = program.land(based)
    assert receipt.status == 0
    assert "not an execution table" in reason_of(program.node, receipt)
    assert program.everything() == before
    assert program.rollup.contract.view("head_hash") == based.block.header.parent_hash


# -- the merged single-EVM reference --


def tally_program(amount: int, fail_after: bool, catch: bool) -> Program:
    """
    The tally as a Program; ``catch``: the initiator calls the tally's internal
    function instead (it reverts on L2) and catches the revert.
    """
    if catch:
        call = Calldata("L2Tally", "bump_on_l1", ("counter", amount, fail_after))
        calls = (("initiator", "try_run", ("tally", call)),)
    else:
        call = Calldata("L2Tally", "tally", ("counter", amount, fail_after))
        calls = (("initiator", "run", ("tally", call)),)
    deployments = (
        Deployment("tally", "L2Tally", "l2"),
        Deployment("counter", "L1Counter", "l1"),
        Deployment("initiator", "L1Initiator", "l1", (CROSS_CALLS,)),
    )
    reads = (
        ("counter", "count", ()), ("counter", "last_l2_sender", ()),
        ("initiator", "last_result", ()), ("initiator", "results", ()),
        ("initiator", "failures", ()), ("tally", "calls_from_l1", ()),
        ("tally", "last_l1_caller", ()), ("tally", "inner_writes", ()), ("tally", "caught", ()),
    )
    return Program(deployments, calls, reads)


@pytest.mark.parametrize(
    "amount, fail_after, catch",
    [(5, False, False), (500, False, False), (7, True, False), (5, False, True)],
    ids=["kept", "inner-l1-revert-caught", "l2-revert-after-l1-call", "l2-revert-caught-on-l1"],
)
def test_the_based_block_leaves_what_the_merged_single_evm_program_leaves(
    l1, amount, fail_after, catch
):
    program = tally_program(amount, fail_after, catch)
    merged = merged_program(program, ALICE)
    rollup = composable(l1)
    l1.set_automine(True)

    def land(tables, based):
        sent = tables.land(based)
        l1.mine_slot(rollup.sequencer.next_l1_slot())
        rollup.sequencer.follow_l1()
        return rollup.l1.eth.get_transaction_receipt(sent)

    based = based_program(
        program, rollup, BasedBuilder(rollup, BUILDER), (ALICE, ACCOUNTS[7]), land,
        deployed=lambda: l1.set_automine(False),
    )
    assert based == merged
    assert merged.committed


REENTERING_COUNTER = """
# pragma version ~=0.4.3
interface CrossCalls:
    def call_l2(target: address, data: Bytes[1024]) -> Bytes[1024]: nonpayable

cross_calls: address
tally: address
count: public(uint256)

@deploy
def __init__(cross_calls: address, tally: address):
    self.cross_calls = cross_calls
    self.tally = tally

@external
def bump(amount: uint256) -> uint256:
    self.count += amount
    extcall CrossCalls(self.cross_calls).call_l2(self.tally, b"")
    return self.count
"""


def test_a_call_into_l2_from_an_l1_call_the_l2_code_made_is_refused(program):
    compiled = vyper.compile_code(REENTERING_COUNTER, output_formats=["abi", "bytecode"])
    web3 = program.rollup.l1
    program.node.set_automine(True)
    factory = web3.eth.contract(abi=compiled["abi"], bytecode=compiled["bytecode"])
    sent = factory.constructor(program.rollup.cross_calls.address, program.tally).transact(
        {"from": ALICE.checksum_address}
    )
    reentering = web3.eth.contract(
        web3.eth.get_transaction_receipt(sent).contractAddress, abi=compiled["abi"]
    )
    program.node.set_automine(False)
    data = TALLY.encode_call("tally", reentering.address, 5, False)
    based = program.build(
        Action(program.initiator.address, INITIATOR.encode_call("run", program.tally, data))
    )
    [entry] = based.entries
    [l1_call] = entry.l1_calls
    assert not l1_call.success
    assert b"no call into L2 from an L1 call the L2 code made" in l1_call.returned
    assert program.land(based).status == 1
    # The L1 call failed whole, and the L2 code caught it.
    assert reentering.functions.count().call() == 0
    assert program.tally_view("caught") == 1


def test_unused_entries_holding_anything_do_not_stop_the_node_following_l1(program):
    based = program.build(program.run(5))
    # An entry L1 never consumes may hold any bytes: the node must not read it.
    junk = dataclasses.replace(based.entries[0], stateless_input=b"\xff" * 100)
    based.entries.append(junk)
    receipt = program.relanded(based)
    assert receipt.status == 1
    rollup = program.rollup
    assert rollup.l2.head().hash == rollup.contract.view("head_hash")
    assert program.counter.view("count") == 5


# -- what a based block's own actions may not do (they run as the rollup's sequencer) --


def test_an_action_cannot_queue_a_call_from_l1_in_anothers_name(program):
    rollup = program.rollup
    victim = program.initiator.address  # never calls anything here
    data = TALLY.encode_call("tally", program.counter.address, 5, False)
    forged = Action(rollup.address, rollup.contract.compiled.encode_call(
        "enqueue_call", victim, program.tally, keccak(data)
    ))
    settling = Action(rollup.address, rollup.contract.compiled.encode_call("advance", b"\x00"))
    loading = Action(rollup.cross_calls.address, b"")
    for action, reason in [
        (forged, "may not queue calls or settle blocks as the sequencer"),
        (settling, "may not queue calls or settle blocks as the sequencer"),
        (loading, "may not call the cross calls contract"),
    ]:
        based = BasedBuilder(rollup, BUILDER).build(
            before=[action], slot_ending=rollup.sequencer.end_slot()
        )
        assert reason in refused(program, based)


# -- the order of L1 calls --

# An L2 contract making two L1 calls: ``undone_then_kept`` bumps the counter by 2
# in a subcall that reverts (carrying the result out), then by 3 for good;
# ``two_undone`` bumps by 2 and by 3 in one subcall that reverts.
ORDER_PROBE = """
# pragma version ~=0.4.3
interface L2CrossCalls:
    def call_l1(target: address, data: Bytes[1024]) -> (bool, Bytes[1024]): nonpayable

CROSS_CALLS: constant(address) = 0x4200000000000000000000000000000000000030
seen: public(uint256)

@internal
def _bump(counter: address, amount: uint256) -> uint256:
    ok: bool = False
    response: Bytes[1024] = b""
    ok, response = extcall L2CrossCalls(CROSS_CALLS).call_l1(
        counter, abi_encode(amount, method_id=method_id("bump(uint256)"))
    )
    return abi_decode(response, uint256)

@external
def undone_then_kept(counter: address) -> uint256:
    ok: bool = False
    response: Bytes[32] = b""
    ok, response = raw_call(
        self, abi_encode(counter, method_id=method_id("bump_and_revert(address)")),
        max_outsize=32, revert_on_failure=False,
    )
    self.seen = abi_decode(response, uint256)
    self._bump(counter, 3)
    return self.seen

@external
def two_undone(counter: address) -> uint256:
    ok: bool = False
    response: Bytes[32] = b""
    ok, response = raw_call(
        self, abi_encode(counter, method_id=method_id("bump_twice_and_revert(address)")),
        max_outsize=32, revert_on_failure=False,
    )
    self.seen = abi_decode(response, uint256)
    return self.seen

@external
def bump_and_revert(counter: address):
    assert msg.sender == self
    raw_revert(abi_encode(self._bump(counter, 2)))

@external
def bump_twice_and_revert(counter: address):
    assert msg.sender == self
    self._bump(counter, 2)
    raw_revert(abi_encode(self._bump(counter, 3)))
"""


def order_probe(program):
    """The probe deployed on L2, and the L1 action calling ``function`` of it."""
    compiled = vyper.compile_code(ORDER_PROBE, output_formats=["abi", "bytecode"])
    l2 = program.rollup.l2_web3
    sent = l2.eth.contract(abi=compiled["abi"], bytecode=compiled["bytecode"]).constructor(
    ).transact({"from": ALICE.checksum_address})
    probe = l2.eth.contract(l2.eth.get_transaction_receipt(sent).contractAddress,
                            abi=compiled["abi"])

    def action(function: str) -> Action:
        data = bytes.fromhex(probe.encode_abi(function, [program.counter.address])[2:])
        return Action(program.initiator.address, INITIATOR.encode_call("run", probe.address, data))

    return probe, action


class ReorderingBuilder(ExecutionTableBuilder):
    """Serves an undone L1 call after a kept one that came later, with the later state's result."""

    def served(self, number, table):
        if len(table) == 2 and not table[0].kept and table[1].kept and table[0].returned:
            undone, kept = table
            return [kept, dataclasses.replace(undone, returned=abi_encode(["uint256"], [5]))]
        return table


def test_the_honest_order_of_an_undone_then_a_kept_l1_call_lands(program):
    probe, action = order_probe(program)
    based = program.build(action("undone_then_kept"))
    assert [(c.kept, c.position) for c in based.entries[0].l1_calls] == [(False, 0), (True, 0)]
    assert program.land(based).status == 1
    # The undone bump saw 2, as one EVM would; only the kept bump of 3 stays on L1.
    assert probe.functions.seen().call() == 2 and program.counter.view("count") == 3


def test_an_undone_l1_call_served_after_a_later_kept_one_is_refused(program):
    _, action = order_probe(program)
    program.tables = ReorderingBuilder(program.tables.builder)
    with pytest.raises(RollupError, match="an L1 call is out of place"):
        program.build(action("undone_then_kept"))


def test_two_l1_calls_in_one_reverted_l2_frame_get_a_refused_table_not_a_wrong_result(program):
    # On L1 each undone call runs alone: the second would not see the first's bump.
    _, action = order_probe(program)
    with pytest.raises(RollupError, match="an L1 call is out of place"):
        program.build(action("two_undone"))


# -- the node follows whatever L1 took --


def with_padding_byte(encoded: bytes, field: bytes) -> bytes:
    """``encoded`` with the padding byte after ``field`` (its last copy) set: the EVM takes it."""
    at = encoded.rindex(field) + len(field)
    assert len(field) % 32 and encoded[at] == 0
    return encoded[:at] + b"\x01" + encoded[at + 1:]


def test_the_node_follows_a_table_the_evm_decodes_and_a_strict_decoder_refuses(program):
    based = program.build(program.run(5))
    # The L1 call's calldata (36 bytes) is followed by padding in the table.
    based.calls = with_padding_byte(based.calls, based.entries[0].l1_calls[0].data)
    sent = program.tables.land(based)
    program.node.mine_slot(program.rollup.sequencer.next_l1_slot())
    assert program.rollup.l1.eth.get_transaction_receipt(sent).status == 1
    program.rollup.sequencer.follow_l1()
    assert program.rollup.l2.head().hash == program.rollup.contract.view("head_hash")
    assert program.tally_view("calls_from_l1") == 1


def test_the_node_follows_build_based_calldata_with_padding_only_the_evm_takes(program):
    rollup = program.rollup
    based = program.build(program.run(5))
    # The action's calldata (228 bytes) is followed by padding.
    calldata = with_padding_byte(
        rollup.sequencing.compiled.encode_call("build_based", *based.arguments()),
        based.after[0].data,
    )
    sent = rollup.l1.eth.send_transaction({
        "from": BUILDER.checksum_address, "to": rollup.sequencing.address, "data": calldata,
        "gas": program.tables.builder.landing_gas(based),
    })
    program.node.mine_slot(rollup.sequencer.next_l1_slot())
    assert rollup.l1.eth.get_transaction_receipt(sent).status == 1
    rollup.sequencer.follow_l1()
    assert rollup.l2.head().hash == rollup.contract.view("head_hash")


def test_the_banner_names_both_ends_of_synchronous_calls(program):
    from rollup.service import rollup_banner

    banner = rollup_banner([program.rollup], "127.0.0.1", [8546], "http://127.0.0.1:8545")
    lines = banner.splitlines()
    assert any(
        "CrossCalls (L1)" in line and line.split()[-1] == program.rollup.cross_calls.address
        for line in lines
    )
    assert any("L2CrossCalls (L2)" in line and line.endswith("0030") for line in lines)
