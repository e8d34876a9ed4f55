"""
The example project's shared fixtures. The plugin itself (fixtures ``l1``,
``w3``, ``accounts``, ``rollup``, ``l2``, ``deploy``, ``chain``, ...) comes
with the ``native-rollups`` package: nothing to import or configure.
"""

from pathlib import Path

import pytest

TIP_JAR = Path(__file__).parent / "sources" / "TipJar.vy"
ETHER = 10**18


@pytest.fixture(scope="session")
def creator(accounts):
    return accounts[3].checksum_address


@pytest.fixture
def tip_jar(deploy, rollup, creator):
    """A TipJar on the rollup's L2 (gone again after each test, as everything else)."""
    return deploy(TIP_JAR, creator, on=rollup)
