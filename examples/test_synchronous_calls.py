"""
An L1 contract calls an L2 contract and uses its result, and the L2 code calls
L1 back, all inside one based block (one L1 transaction). The demo contracts
come with the package: L1Initiator and L1Counter on L1, L2Tally on L2.
"""

import pytest

from contracts import compile_contract
from rollup.cross_domain import TallyDemo


@pytest.fixture
def tally(composable, accounts):
    with composable.automining():
        return TallyDemo.deploy(composable.rollup, accounts[0])


def test_an_l1_contract_uses_what_an_l2_contract_returns(composable, tally):
    based = composable.build_calling(after=[tally.run(5)])
    assert composable.land(based).status == 1
    assert tally.initiator.view("last_result") == 5  # the L2 result, used on L1
    assert tally.counter.view("count") == 5  # the L2 code's call back into L1


def test_an_l1_revert_caught_on_l2_undoes_only_that_subtree(composable, tally):
    based = composable.build_calling(after=[tally.run(500)])  # above the counter's limit
    assert composable.land(based).status == 1
    assert tally.counter.view("count") == 0
    l2_tally = composable.l2.eth.contract(tally.tally, abi=compile_contract("L2Tally").abi)
    assert l2_tally.functions.caught().call() == 1  # the L2 code caught the revert
    assert l2_tally.functions.inner_writes().call() == 0  # and its subtree's write is gone
