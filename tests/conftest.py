"""
Shared test helpers: fixture locations, valid stateless inputs built from them,
and the speed-ups the suite's devnets run with (as ``nr devnet`` runs them).
"""

import importlib
import json
import os
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest

from l1 import accel
from nr.conformance import decode_fixture_block, fixture_chain, witness_block
from precompile.encoding import encode
from precompile.ssz import StatelessInput

REPOSITORY = Path(__file__).resolve().parent.parent


def fixtures_directory() -> Path:
    """Blockchain-test fixtures: ``NR_FIXTURES``, else ``../shared/fixtures`` beside the repo."""
    configured = os.environ.get("NR_FIXTURES")
    return Path(configured) if configured else REPOSITORY.parent / "shared" / "fixtures"


FIXTURES = fixtures_directory()
needs_fixtures = pytest.mark.skipif(
    not FIXTURES.is_dir(),
    reason=f"no blockchain-test fixtures at {FIXTURES}: set NR_FIXTURES to a directory of "
    "BlockchainTests JSON (an unpacked execution-spec-tests release works as is)",
)


def pytest_configure(config) -> None:
    # The devnets under test run as users get them from ``nr devnet``: accelerated.
    # Tests of the rules as written pass ``FORK_RULES`` or build unaccelerated chains.
    accel.enable()
    # Extension modules built with PyO3 can be initialized once per process, and
    # pytester's in-process runs (the plugin's tests) drop the modules imported
    # during them: one first imported there could never be imported again.
    for module in ("pyrevm", "rusty_rlp"):
        importlib.import_module(module)


def fixture_path(relative: str) -> Path:
    return FIXTURES / relative


def valid_inputs(relative: str) -> Iterator[Tuple[str, int, StatelessInput]]:
    """``(case, block number, StatelessInput)`` for every valid block of a fixture file."""
    content = json.loads(fixture_path(relative).read_text())
    for name, case in sorted(content.items()):
        chain, vm_class, chain_config = fixture_chain(case)
        for number, block_fixture in enumerate(case["blocks"], start=1):
            if "expectException" in block_fixture:
                continue
            block = decode_fixture_block(block_fixture["rlp"], vm_class)
            stateless_input, _ = witness_block(chain, chain_config, block)
            yield name, number, stateless_input
            chain.import_block(block)


# Valid blocks with transactions of every type, storage writes and deletions,
# contract creation, logs, blobs, requests and withdrawals: the soundness set.
SOUNDNESS_FIXTURES = (
    "BlockchainTests/ValidBlocks/bcValidBlockTest/SimpleTx.json",
    "BlockchainTests/ValidBlocks/bcEIP1559/transType.json",
    "BlockchainTests/ValidBlocks/bcEIP4844-blobtransactions/blockWithAllTransactionTypes.json",
    "BlockchainTests/ValidBlocks/bcStateTests/simpleSuicide.json",
    "blockchain_tests/prague/eip7702_set_code_tx/test_set_code_to_sstore.json",
    "blockchain_tests/prague/eip7685_general_purpose_el_requests/test_valid_multi_type_requests.json",
)


@pytest.fixture(scope="session")
def soundness_inputs() -> List[Tuple[str, int, StatelessInput]]:
    """Valid inputs that carry at least one transaction."""
    if not FIXTURES.is_dir():
        pytest.skip(needs_fixtures.kwargs["reason"])
    inputs = []
    for relative in SOUNDNESS_FIXTURES:
        for name, number, stateless_input in valid_inputs(relative):
            if len(stateless_input.new_payload_request.execution_payload.transactions) > 0:
                inputs.append(
                    (f"{Path(relative).stem}:{name[-40:]}#{number}", number, stateless_input)
                )
    assert len(inputs) >= 6
    return inputs


@pytest.fixture(scope="module")
def valid_input() -> StatelessInput:
    """A valid L2 block's StatelessInput (``chains.l2_block_input``)."""
    from chains import l2_block_input

    return l2_block_input()


@pytest.fixture(scope="module")
def encoded_input(valid_input) -> bytes:
    """``valid_input`` as EXECUTE takes it: schema id and SSZ."""
    return encode(valid_input)
