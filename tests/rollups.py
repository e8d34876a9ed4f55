"""Helpers for the rollup tests: a demo rollup on an in-process L1, time travel, forged inputs."""

import dataclasses

from l1.accounts import derive_accounts
from rollup.adversaries import with_payload_fields, with_state_root  # noqa: F401 (for the tests)
from rollup.rollup import Rollup
from rollup.stages import load_preset

ACCOUNTS = derive_accounts()
ALICE, BOB, CAROL = (account.checksum_address for account in ACCOUNTS[:3])
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
