"""EXECUTE accepts the sequencer's L2 block and rejects the same block tampered with."""

import pytest

from nr.testing.assertions import execute_accepts, execute_rejects
from nr.testing.cross_domain import deposit
from nr.testing.strategies import mutate

from conftest import ETHER


@pytest.fixture
def l2_block(rollup, accounts):
    """The encoded EXECUTE input of an L2 block taking in a deposit."""
    number = deposit(rollup, accounts[1].checksum_address, ETHER)
    return rollup.sequencer.stateless_input(number)


def test_execute_accepts_the_sequencers_block(w3, l2_block):
    result = execute_accepts(w3, l2_block)
    assert result.successful_validation


@pytest.mark.parametrize("field, refusal", [
    ("state_root", "state_root does not match the post-state"),
    ("receipts_root", "receipts_root does not match execution"),
    ("gas_used", "gas_used"),
])
def test_execute_rejects_a_tampered_block(w3, l2_block, field, refusal):
    execute_rejects(w3, mutate(l2_block, field, 7), reason=refusal)


def test_l1_settles_the_block_and_refuses_the_tampered_one(rollup, l2_block):
    from nr.testing.assertions import reverts

    with reverts("EXECUTE refused the block"):
        rollup.sequencer.submit(1, mutate(l2_block, "state_root", 7))
    rollup.sequencer.submit(1, l2_block)
    assert rollup.settled_head() == 1
