"""
Client diversity on the demo rollups: every engine proves every demo L2 block
(a deposit relayed, a transfer, a withdrawal), so a k-of-n threshold over the
proof types can be met. revm used to decline them all (it reads the system
address, which the witness did not cover).
"""

import pytest

from l1.node import Devnet
from precompile.encoding import decode
from precompile.engines import engines
from precompile.guest import verify_stateless_new_payload
from precompile.ssz import StatelessInput

from rollups import ALICE, BOB, ETHER, deploy


@pytest.mark.parametrize("stage", [0, 2])
def test_every_engine_proves_every_demo_block(stage):
    l1 = Devnet()
    rollup = deploy(l1, stage)
    rollup.deposit(ALICE, ETHER, BOB)
    rollup.sequencer.settle()
    rollup.l2_web3.eth.send_transaction({"from": ALICE, "to": BOB, "value": 1})
    rollup.withdraw(BOB, 10**15)
    rollup.sequencer.settle()
    blocks = range(1, rollup.l2.head().block_number + 1)
    assert len(blocks) >= 2
    for number in blocks:
        stateless_input = decode(rollup.sequencer.stateless_input(number), StatelessInput)
        for engine in sorted(engines()):
            report = verify_stateless_new_payload(stateless_input, engine)
            assert (report.engine, report.declined_reason) == (engine, None), number
            assert report.result.successful_validation, (number, engine, report.error)
