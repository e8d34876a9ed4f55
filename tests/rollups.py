"""Helpers for the rollup tests: a demo rollup on an in-process L1, time travel, forged inputs."""

import dataclasses

from l1.accounts import derive_accounts
from rollup.adversaries import with_payload_fields, with_state_root  # noqa: F401 (for the tests)
from rollup.based import BasedBuilder
from rollup.composable import SLOT_FRIENDLY_L2_GAS_LIMIT, ComposableRollup
from rollup.rollup import Rollup
from rollup.stages import load_preset

ACCOUNTS = derive_accounts()
ALICE, BOB, CAROL = (account.checksum_address for account in ACCOUNTS[:3])
# Who builds and lands based blocks in the composability tests.
BUILDER = ACCOUNTS[5]
SLOT_TIME = 12
ETHER = 10**18
HOUR = 3600
DAY = 24 * HOUR


def deploy(l1, stage, **changes) -> Rollup:
    config = load_preset(stage)
    return Rollup.deploy(l1.web3(), dataclasses.replace(config, **changes))


def wait(l1, seconds):
    l1.increase_time(seconds)
    l1.mine()


def read_until_ready(process) -> list:
    """The output lines of ``nr up`` or ``nr deploy`` up to its "Ready in" line."""
    lines = []
    for line in process.stdout:
        lines.append(line.rstrip("\n"))
        if line.startswith("Ready in"):
            return lines
    raise AssertionError("the command exited before it was ready:\n" + "\n".join(lines))


def composable(l1, stage=1, **changes) -> ComposableRollup:
    """A composable rollup on ``l1``, which mines one block per slot from then on."""
    changes.setdefault("l2_gas_limit", SLOT_FRIENDLY_L2_GAS_LIMIT)
    config = dataclasses.replace(load_preset(stage), **changes)
    rollup = ComposableRollup.deploy(l1.web3(), config, slot_time=SLOT_TIME)
    l1.set_automine(False)  # from here on, one block per slot
    rollup.sequencer.slot = rollup.sequencer.latest_l1_slot()
    return rollup


def land_and_follow(l1, rollup, based, builder=None, slot=None):
    """Land ``based`` in its slot's L1 block, let the sequencer follow; the L1 receipt."""
    builder = builder or BasedBuilder(rollup, BUILDER)
    sent = builder.land(based)
    block = l1.mine_slot(slot if slot is not None else rollup.sequencer.next_l1_slot())
    rollup.sequencer.follow_l1()
    return l1.web3().eth.get_transaction_receipt(sent), block


def reason_of(l1, receipt) -> str:
    """Why an L1 transaction reverted: its trace's revert reason (it ran in its own block)."""
    trace = l1.trace_transaction(bytes(receipt.transactionHash), {"tracer": "callTracer"})
    if trace.get("revertReason"):
        return trace["revertReason"]
    if not trace.get("error"):
        return "did not revert"
    # A revert without a reason passes on a failure deeper down (out of gas, say): name it.
    return " <- ".join(reversed(failures_down_to_the_first(trace)))


def failures_down_to_the_first(call: dict) -> list:
    """Each failed call's address and error, from ``call`` to the first failure under it."""
    chain = [f"{call.get('to')}: {call.get('revertReason') or call.get('error')}"]
    failed = [inner for inner in call.get("calls") or () if inner.get("error")]
    return chain + failures_down_to_the_first(failed[0]) if failed else chain
