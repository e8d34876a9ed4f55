"""
Run blockchain-test fixtures through witness generation and the stateless guest.

For every block of every case: rebuild the parent state on a full-state chain,
record the block's witness, encode a ``StatelessInput``, run the guest on the
bytes, and compare with the fixture: valid blocks must validate and the chain
must reach the fixture's post state; blocks with ``expectException`` must be
rejected. A block the guest refuses for an internal error (not one of the
errors that mean "invalid") fails its case as an internal error, counted apart:
the right verdict for the wrong reason is not a pass.
"""

import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import rlp
from eth.abc import BlockAPI, ChainAPI
from eth.chains.base import Chain
from eth.db.atomic import AtomicDB
from eth.exceptions import HeaderNotFound

from precompile.encoding import decode, encode
from precompile.engines import REFERENCE_ENGINE, EngineDeclined
from precompile.forks import FORK_RULES, ForkRules, UnknownFork, fork_id_of_network
from precompile.genesis import accounts_from_fixture, write_accounts
from precompile.guest import INTERNAL_ERROR, VALID, verify_stateless_new_payload
from precompile.payload import block_to_new_payload_request
from precompile.ssz import ChainConfig, StatelessInput
from precompile.witness import BlockExecution, prove_block

# Blockchain tests without a ``config`` predate chain ids in fixtures: mainnet.
DEFAULT_FIXTURE_CHAIN_ID = 1


class MalformedFixture(ValueError):
    """A JSON file that looks like a blockchain test but cannot be read as one."""


@dataclass
class CaseResult:
    path: str
    name: str
    outcome: str  # "passed", "failed", "internal error" or "skipped"
    reason: str = ""
    # engine -> why it declined a block of this case (the reference engine ran instead)
    declined: Dict[str, str] = field(default_factory=dict)


@dataclass
class Summary:
    results: List[CaseResult] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for result in self.results if result.outcome == outcome)

    def declines(self) -> Dict[str, Dict[str, List[str]]]:
        """engine -> decline reason -> the cases it declined for that reason."""
        by_engine: Dict[str, Dict[str, List[str]]] = {}
        for result in self.results:
            for engine, reason in result.declined.items():
                by_engine.setdefault(engine, {}).setdefault(reason, []).append(
                    f"{result.path}::{result.name}"
                )
        return by_engine

    @property
    def line(self) -> str:
        return (
            f"{self.count('passed')} passed, {self.count('failed')} failed, "
            f"{self.count(INTERNAL_ERROR)} internal errors, {self.count('skipped')} skipped"
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


def run_case(
    case: Dict[str, Any],
    engines: Sequence[str] = (REFERENCE_ENGINE,),
    rules: ForkRules = FORK_RULES,
) -> CaseResult:
    """Run one case under each of ``engines``; path and name are the caller's to fill."""
    try:
        chain, vm_class, chain_config = fixture_chain(case, rules)
    except UnknownFork as error:
        return CaseResult("", "", "skipped", str(error))
    declined: Dict[str, str] = {}

    for number, block_fixture in enumerate(case["blocks"], start=1):
        verdict = check_block(chain, vm_class, chain_config, block_fixture, engines, rules)
        for engine, reason in verdict.declined.items():
            declined.setdefault(engine, reason)
        if verdict.internal_error:
            reason = f"block {number}: {verdict.internal_error}"
            return CaseResult("", "", INTERNAL_ERROR, reason, declined)
        problem = block_problem(verdict, block_fixture.get("expectException"))
        if problem:
            return CaseResult("", "", "failed", f"block {number}: {problem}", declined)
        if verdict.accepted:
            verdict.execution.persist(chain)

    outcome, reason = compare_post_state(chain, case)
    return CaseResult("", "", outcome, reason, declined)


def block_problem(verdict: "BlockVerdict", expected_exception: Optional[str]) -> str:
    """What is wrong with the verdict on a block, given the fixture's expectation; "" if nothing."""
    if verdict.disagreement:
        return verdict.disagreement
    if expected_exception is not None and verdict.accepted:
        return f"accepted, but fixture expects {expected_exception}"
    if expected_exception is None and not verdict.accepted:
        return f"rejected valid block: {verdict.reason}"
    return ""


@dataclass
class BlockVerdict:
    accepted: bool
    reason: str = ""
    execution: Optional[BlockExecution] = None
    # Set when engines reached different verdicts: a bug in one of them.
    disagreement: str = ""
    declined: Dict[str, str] = field(default_factory=dict)
    # Set when an engine refused the block for an internal error, not as invalid.
    internal_error: str = ""


def check_block(
    chain: ChainAPI,
    vm_class: type,
    chain_config: ChainConfig,
    block_fixture: Dict[str, Any],
    engines: Sequence[str] = (REFERENCE_ENGINE,),
    rules: ForkRules = FORK_RULES,
) -> BlockVerdict:
    """Witness one fixture block and ask the guest under each engine."""
    try:
        block = decode_fixture_block(block_fixture["rlp"], vm_class)
    except Exception as error:  # undecodable block RLP is an invalid block
        return BlockVerdict(False, f"block RLP does not decode: {error}")
    try:
        stateless_input, execution = witness_block(chain, chain_config, block)
    except Exception as error:  # e.g. extra_data longer than the payload allows
        return BlockVerdict(False, f"no StatelessInput form: {error}")
    decoded = decode(encode(stateless_input), StatelessInput)
    # A declining engine has no verdict of its own; the reference's is asked once.
    reports, declined = {}, {}
    for engine in engines:
        try:
            reports[engine] = verify_stateless_new_payload(
                decoded, engine, fallback=False, rules=rules
            )
        except EngineDeclined as declining:
            declined[engine] = declining.reason
    if not reports:
        reports[REFERENCE_ENGINE] = verify_stateless_new_payload(decoded, rules=rules)
    internal = [
        f"{engine} internal error: {report.error}"
        for engine, report in reports.items()
        if report.verdict == INTERNAL_ERROR
    ]
    if internal:
        return BlockVerdict(
            False, "", execution, declined=declined, internal_error="; ".join(internal)
        )
    verdicts = {engine: report.verdict == VALID for engine, report in reports.items()}
    if len(set(verdicts.values())) > 1:
        described = ", ".join(
            f"{engine} {'accepted' if ok else 'rejected (' + str(reports[engine].error) + ')'}"
            for engine, ok in verdicts.items()
        )
        return BlockVerdict(False, "", execution, f"engines disagree: {described}", declined)
    accepted = next(iter(verdicts.values()))
    reason = next((r.error for r in reports.values() if r.error), "") or ""
    if accepted and execution.error is not None:
        reason = (
            f"UNSOUND: guest accepted a block the full-state import rejected: {execution.error}"
        )
        return BlockVerdict(False, reason, execution, declined=declined)
    return BlockVerdict(accepted, reason, execution, declined=declined)


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


def fixture_chain(
    case: Dict[str, Any], rules: ForkRules = FORK_RULES
) -> Tuple[ChainAPI, type, ChainConfig]:
    """
    The case's full-state chain at genesis, its fork rules (from ``rules``) and
    its ``ChainConfig``; ``UnknownFork`` for a network without rules here.
    """
    fork = fork_id_of_network(case["network"])
    vm_class = rules[fork]
    chain_id = int(case.get("config", {}).get("chainid", hex(DEFAULT_FIXTURE_CHAIN_ID)), 16)
    chain = chain_from_fixture(case, vm_class, chain_id)
    return chain, vm_class, ChainConfig(chain_id=chain_id, fork=fork)


def decode_fixture_block(encoded: str, vm_class: type) -> BlockAPI:
    """A fixture's ``0x``-prefixed block RLP as a block of ``vm_class``'s fork."""
    return rlp.decode(bytes.fromhex(encoded[2:]), sedes=vm_class.get_block_class())


def chain_from_fixture(case: Dict[str, Any], vm_class: type, chain_id: int) -> ChainAPI:
    """A full-state chain at the fixture's genesis."""
    genesis = decode_fixture_block(case["genesisRLP"], vm_class)
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


# This process's accelerated fork rules, made on first use (each worker its own).
_accelerated_rules: Optional[ForkRules] = None


def accelerated_rules_in_this_process() -> ForkRules:
    """The speed-ups switched on here, and the fork rules with them."""
    global _accelerated_rules
    if _accelerated_rules is None:
        from l1 import accel

        accel.enable()
        _accelerated_rules = accel.accelerated_rules() if accel.enabled() else FORK_RULES
    return _accelerated_rules


def run_file(
    path: str, engines: Sequence[str] = (REFERENCE_ENGINE,), accelerate: bool = False
) -> List[CaseResult]:
    """
    All cases of one file, each caught on its own so one cannot stop the rest;
    with ``accelerate``, under the devnet's speed-ups (guest and host alike).
    """
    rules = accelerated_rules_in_this_process() if accelerate else FORK_RULES
    results = []
    for name, case, problem in load_cases(Path(path)):
        if case is None:
            result = CaseResult("", "", "failed", f"malformed fixture: {problem}")
        else:
            try:
                result = run_case(case, engines, rules)
            except MalformedFixture as error:
                result = CaseResult("", "", "failed", f"malformed fixture: {error}")
            except Exception as error:  # report, never abort the run
                problem = f"malformed fixture or runner error: {type(error).__name__}: {error}"
                result = CaseResult("", "", "failed", problem)
        result.path, result.name = path, name
        results.append(result)
    return results


def run_conformance(
    root: Path,
    jobs: int = 0,
    progress: bool = True,
    engines: Sequence[str] = (REFERENCE_ENGINE,),
    accelerate: bool = False,
) -> Summary:
    """
    Run every fixture under ``root`` with ``engines`` on ``jobs`` processes (0: per
    core), with or without the devnet's speed-ups.
    """
    files = [str(path) for path in find_fixture_files(root)]
    summary = Summary()
    jobs = jobs or os.cpu_count() or 1
    started = time.monotonic()
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for done, results in enumerate(
            pool.map(
                partial(run_file, engines=tuple(engines), accelerate=accelerate),
                files,
                chunksize=1,
            ),
            start=1,
        ):
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
