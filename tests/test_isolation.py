"""
One snapshot across L1, an L2, its sequencer's cursor and the proof pools
(``nr.testing.isolation``): restored together, in stack order, and checked.
"""

import pytest
from test_prover_robustness import for_unseen_payload

from l1.node import Devnet
from nr.testing.isolation import IsolationError, LocalChain, World
from precompile.encoding import encode
from prover.pool import ProofPool
from rollup.rollup import Rollup

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


def test_entries_finished_out_of_order_wait_for_the_ones_above(network):
    world, l1, _ = network
    bob = l1.accounts[1].checksum_address
    w3 = l1.web3()
    start = l1.head().block_number
    lower = world.push("module fixture")
    w3.eth.send_transaction({"from": bob, "to": bob, "value": 1})
    upper = world.push("session fixture set up later")
    w3.eth.send_transaction({"from": bob, "to": bob, "value": 1})
    world.finish(lower)
    assert l1.head().block_number == start + 2 and world.stack == [lower, upper]
    world.finish(upper)
    assert l1.head().block_number == start and world.stack == []


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
