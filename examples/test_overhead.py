"""
Fifty small tests, each isolated, for measuring the plugin's per-test cost
(docs/testing.md): 25 touch only L1, 25 a rollup's L2. Each sends one
transaction and reads it back, so every snapshot has something to undo.
"""

import pytest

COUNTER = """
count: public(uint256)

@external
def bump(by: uint256):
    self.count += by
"""


@pytest.fixture(scope="module")
def l1_counter(deploy):
    return deploy(COUNTER)


@pytest.fixture(scope="module")
def l2_counter(deploy, rollups):
    return deploy(COUNTER, on=rollups[1])


@pytest.mark.parametrize("by", range(1, 26))
def test_l1(l1_counter, by):
    l1_counter.functions.bump(by).transact()
    assert l1_counter.functions.count().call() == by


@pytest.mark.parametrize("by", range(1, 26))
def test_l2(l2_counter, by):
    l2_counter.functions.bump(by).transact()
    assert l2_counter.functions.count().call() == by
