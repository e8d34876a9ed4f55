"""
Run blockchain-test fixtures through witness generation and the stateless guest.

For every block of every case: rebuild the parent state on a full-state chain,
record the block's witness, encode a ``StatelessInput``, run the guest on the
bytes, and compare with the fixture: valid blocks must validate and the chain
must reach the fixture's post state; blocks with ``expectException`` must be
rejected.
"""

import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import rlp
from eth.abc import BlockAPI, ChainAPI
from eth.chains.base import Chain
from eth.db.atomic import AtomicDB
from eth.exceptions import HeaderNotFound

from .encoding import decode, encode
from .forks import FORK_RULES, UnknownFork, fork_id_of_network
from .genesis import accounts_from_fixture, write_accounts
from .guest import stateless_validation_error
from .payload import block_to_new_payload_request
from .ssz import ChainConfig, StatelessInput
from .witness import BlockExecution, prove_block

# Blockchain tests without a ``config`` predate chain ids in fixtures: mainnet.
DEFAULT_FIXTURE_CHAIN_ID = 1


class MalformedFixture(ValueError):
    """A JSON file that looks like a blockchain test but cannot be read as one."""


@dataclass
class CaseResult:
    path: str
    name: str
    outcome: str  # "passed", "failed" or "skipped"
    reason: str = ""


@dataclass
class Summary:
    results: List[CaseResult] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for result in self.results if result.outcome == outcome)

    @property
    def line(self) -> str:
        return (
            f"{self.count('passed')} passed, {self.count('failed')} failed, "
            f"{self.count('skipped')} skipped"
        )


def find_fixture_files(root: Path) -> List[Path]:
    """Every ``.json`` file under ``root`` (or ``root`` itself), sorted."""
    if root.is_file():
        return [root]
    return sorted(path for path in root.rglob("*.json") if path.is_file())


def load_cases(path: Path) -> Iterator[Tuple[str, Optional[Dict[str, Any]], str]]:
    """
    Yield ``(name, case, problem)`` for each case in a fixture file. Files that
    are not blockchain tests yield nothing; malformed cases come with a problem.
    """
    try:
        content = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        yield "<file>", None, f"not valid JSON: {error}"
        return
    if not isinstance(content, dict):
        return
    for name, case in sorted(content.items()):
        if not isinstance(case, dict) or "blocks" not in case:
            continue
        missing = [key for key in ("network", "pre", "genesisRLP") if key not in case]
        if missing:
            yield name, None, f"missing {', '.join(missing)}"
        else:
            yield name, case, ""


def run_case(case: Dict[str, Any]) -> Tuple[str, str]:
    """Run one case; return ``(outcome, reason)``."""
    try:
        fork = fork_id_of_network(case["network"])
    except UnknownFork as error:
        return "skipped", str(error)
    vm_class = FORK_RULES[fork]
    chain_id = int(case.get("config", {}).get("chainid", hex(DEFAULT_FIXTURE_CHAIN_ID)), 16)
    chain = chain_from_fixture(case, vm_class, chain_id)
    chain_config = ChainConfig(chain_id=chain_id, fork=fork)

    for number, block_fixture in enumerate(case["blocks"], start=1):
        expect_invalid = "expectException" in block_fixture
        accepted, reason, execution = check_block(chain, vm_class, chain_config, block_fixture)
        if expect_invalid and accepted:
            return "failed", (
                f"block {number}: accepted, but fixture expects {block_fixture['expectException']}"
            )
        if not expect_invalid and not accepted:
            return "failed", f"block {number}: rejected valid block: {reason}"
        if accepted:
            execution.persist(chain)

    return compare_post_state(chain, case)


def check_block(
    chain: ChainAPI,
    vm_class: type,
    chain_config: ChainConfig,
    block_fixture: Dict[str, Any],
) -> Tuple[bool, str, Optional[BlockExecution]]:
    """Witness one fixture block and ask the guest; ``(accepted, reason, host execution)``."""
    try:
        block = rlp.decode(
            bytes.fromhex(block_fixture["rlp"][2:]), sedes=vm_class.get_block_class()
        )
    except Exception as error:  # undecodable block RLP is an invalid block
        return False, f"block RLP does not decode: {error}", None
    try:
        stateless_input, execution = witness_block(chain, chain_config, block)
    except Exception as error:  # e.g. extra_data longer than the payload allows
        return False, f"no StatelessInput form: {error}", None
    decoded = decode(encode(stateless_input), StatelessInput)
    error = stateless_validation_error(decoded)
    if error is None and execution.error is not None:
        return (
            False,
            (f"UNSOUND: guest accepted a block the full-state import rejected: {execution.error}"),
            execution,
        )
    return error is None, error or "", execution


def witness_block(
    chain: ChainAPI, chain_config: ChainConfig, block: BlockAPI
) -> Tuple[StatelessInput, BlockExecution]:
    """
    The ``StatelessInput`` a prover builds for ``block`` on top of ``chain``.
    A block whose parent is unknown is witnessed on the chain's head, so the
    guest, not this host, is the one to reject it.
    """
    try:
        chain.get_block_header_by_hash(block.header.parent_hash)
    except HeaderNotFound:
        head = chain.get_canonical_head().hash
        stateless_input, execution = prove_block(
            chain, block.copy(header=block.header.copy(parent_hash=head)), chain_config
        )
        stateless_input.new_payload_request = block_to_new_payload_request(
            block, execution.requests
        )
        return stateless_input, execution
    return prove_block(chain, block, chain_config)


def chain_from_fixture(case: Dict[str, Any], vm_class: type, chain_id: int) -> ChainAPI:
    """A full-state chain at the fixture's genesis."""
    genesis = rlp.decode(bytes.fromhex(case["genesisRLP"][2:]), sedes=vm_class.get_block_class())
    db = AtomicDB()
    state_root = write_accounts(db, accounts_from_fixture(case["pre"]))
    if state_root != genesis.header.state_root:
        raise MalformedFixture("pre-state does not hash to the genesis state root")
    chain_class = Chain.configure(
        __name__="FixtureChain", vm_configuration=((0, vm_class),), chain_id=chain_id
    )
    return chain_class.from_genesis_header(db, genesis.header)


def compare_post_state(chain: ChainAPI, case: Dict[str, Any]) -> Tuple[str, str]:
    head = chain.get_canonical_head()
    if "lastblockhash" in case and head.hash.hex() != case["lastblockhash"][2:].lower():
        return "failed", f"head {head.hash.hex()} is not lastblockhash {case['lastblockhash']}"
    if "postStateHash" in case:
        expected_root = bytes.fromhex(case["postStateHash"][2:])
    elif "postState" in case:
        expected_root = write_accounts(AtomicDB(), accounts_from_fixture(case["postState"]))
    else:
        return "passed", ""
    if head.state_root != expected_root:
        return "failed", "post-state root differs from the fixture's post state"
    return "passed", ""


def run_file(path: str) -> List[CaseResult]:
    """All cases of one file, each caught on its own so one cannot stop the rest."""
    results = []
    for name, case, problem in load_cases(Path(path)):
        if case is None:
            results.append(CaseResult(path, name, "failed", f"malformed fixture: {problem}"))
            continue
        try:
            outcome, reason = run_case(case)
        except MalformedFixture as error:
            outcome, reason = "failed", f"malformed fixture: {error}"
        except Exception as error:  # report, never abort the run
            outcome, reason = (
                "failed",
                f"malformed fixture or runner error: {type(error).__name__}: {error}",
            )
        results.append(CaseResult(path, name, outcome, reason))
    return results


def run_conformance(root: Path, jobs: int = 0, progress: bool = True) -> Summary:
    """Run every fixture under ``root`` across ``jobs`` processes (0: one per core)."""
    files = [str(path) for path in find_fixture_files(root)]
    summary = Summary()
    jobs = jobs or os.cpu_count() or 1
    started = time.monotonic()
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for done, results in enumerate(pool.map(run_file, files, chunksize=1), start=1):
            summary.results.extend(results)
            if progress:
                elapsed = time.monotonic() - started
                print(
                    f"\r[{done}/{len(files)} files, {elapsed:.0f}s] {summary.line}",
                    end="",
                    file=sys.stderr,
                    flush=True,
                )
    if progress:
        print(file=sys.stderr)
    return summary
