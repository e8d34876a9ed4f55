"""
What a pytest session of L2 integration tests runs against (``Network``):
the L1 (the embedded devnet, or a running node over JSON-RPC), the demo
rollups and composable rollups the selected tests ask for, and one ``World``
that snapshots them all. The plugin (``nr.pytest_plugin``) builds it in its
session fixture and imports this module only then: a pytest run that does
not use the plugin's fixtures pays nothing for this module's imports.
"""

import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Sequence, Union

import pytest
import requests
from web3 import Web3

from l1 import accel
from l1.accounts import derive_accounts
from l1.node import Devnet, DevnetConfig
from precompile.constants import EXECUTE_PRECOMPILE_ADDRESS
from precompile.execute import ExecuteParameters
from rollup.rollup import Rollup

from . import assertions, revert_sites
from .arguments import InvalidArgument, described, hidden_when_refusing
from .artifacts import (
    ArtifactError,
    abi_and_bytecode,
    deploy_contract,
    vyper_positions,
    vyper_source,
)
from .chains import ChainControl, Chains
from .clients import lean_client
from .composable import ComposableChains
from .gas import GasTable
from .isolation import ClientSettings, LocalChain, RemoteChain, World
from .proving import Prover, RemoteProver
from .stage_names import stage_number

# A helper refusing what a test gave it points at the test's line, not its own.
__tracebackhide__ = hidden_when_refusing(InvalidArgument, ArtifactError)

# Who lands based blocks for the composable fixture: an account no other fixture pays from.
BUILDER_ACCOUNT = 7
# How long a rollup's transaction may wait for execution proofs while none comes.
PROOF_PATIENCE_SECONDS = 20.0


class ByStage(dict):
    """
    The ``rollups`` and ``composables`` fixtures' dicts: a stage no test asked
    for is explained, not a KeyError.
    """

    def __init__(self, fixture: str, what: str, asked_through: str) -> None:
        super().__init__()
        self.fixture, self.what, self.asked_through = fixture, what, asked_through

    def __missing__(self, stage):
        spelled = self.stage_spelled(stage)
        if spelled is not None:
            return self[spelled]
        deployed = ", ".join(map(repr, self)) or "none"
        raise LookupError(
            f"{self.fixture}[{stage!r}]: no {self.what} of stage {stage!r} in this session"
            f" (deployed: {deployed}); a stage is deployed when a selected test asks for the"
            f" {self.asked_through} under @pytest.mark.stage({stage!r})"
        )

    def stage_spelled(self, stage) -> Any:
        """
        The stage ``stage`` names as a marker may spell it: "1" for 1, a preset's
        path as given for the absolute one the plugin keeps (if one path ends so).
        """
        number = stage_number(stage) if isinstance(stage, str) else None
        if number is not None:
            return number if number in self else None
        if not isinstance(stage, (str, os.PathLike)):
            return None
        given = Path(stage).parts
        ending_so = [
            key for key in self
            if isinstance(key, str) and Path(key).parts[-len(given) :] == given
        ]
        return ending_so[0] if len(ending_so) == 1 else None


def rollups_by_stage() -> ByStage:
    return ByStage("rollups", "rollup", "rollup, rollups or l2 fixture")


def composables_by_stage() -> ByStage:
    return ByStage("composables", "composable rollup", "composable or composables fixture")


@dataclass
class Network:
    """What one test session runs against."""

    world: World
    l1: Any
    w3: Web3
    rollups: Dict[Any, Rollup] = field(default_factory=rollups_by_stage)
    composables: Dict[Any, ComposableChains] = field(default_factory=composables_by_stage)
    # Where each chain's web3 is, for the gas report.
    web3s: Dict[str, Web3] = field(default_factory=dict)


# -- external nodes --


def connect_external(url: str, chain_id: int) -> Web3:
    """A web3 for the node at ``url`` (checked by the plugin as a URL already), of
    ``chain_id`` and able to snapshot; pytest.UsageError saying what is wrong otherwise."""
    where = f"--native-rollups-l1 {url}"
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 10}))
    try:
        found = w3.eth.chain_id
    except Exception as error:  # any failure to connect: requests, timeouts, bad JSON
        raise pytest.UsageError(f"{where}: {unanswered(error)}") from None
    if found != chain_id:
        raise pytest.UsageError(
            f"{where}: the node's chain id is {found}, not {chain_id}; pass "
            f"--native-rollups-chain-id {found} if it is the node you mean"
        )
    missing = missing_snapshot_support(w3)
    if missing:
        raise pytest.UsageError(
            f"{where}: the node cannot isolate tests: {missing} (nr devnet, nr up and anvil can)"
        )
    return w3


def unanswered(error: Exception) -> str:
    """Why asking a node for its chain id failed, in words (not the HTTP library's)."""
    if isinstance(error, requests.exceptions.SSLError):
        return "the TLS handshake failed: does the node serve plain http (an http:// URL)?"
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return "nothing answers there within 10 s (a firewall, or the wrong host?)"
    if isinstance(error, requests.exceptions.ConnectionError):
        return "nothing answers there: is the node running, on that port?"
    if isinstance(error, requests.exceptions.Timeout):
        return "the node took more than 10 s to tell its chain id"
    return "what answers there is no JSON-RPC node (eth_chainId got no chain id back)"


def missing_snapshot_support(w3: Web3) -> Optional[str]:
    """What the node lacks of evm_snapshot / evm_revert, or None."""
    taken = w3.provider.make_request("evm_snapshot", [])
    if "error" in taken or taken.get("result") is None:
        return f"evm_snapshot failed: {taken.get('error', {}).get('message', 'no result')}"
    reverted = w3.provider.make_request("evm_revert", [taken["result"]])
    if "error" in reverted or reverted.get("result") is not True:
        return f"evm_revert failed: {reverted.get('error', {}).get('message', 'it returned false')}"
    return None


def missing_execute(w3: Web3) -> Optional[str]:
    """Why the node has no EXECUTE precompile (a call to it that takes no input), or None."""
    address = "0x" + EXECUTE_PRECOMPILE_ADDRESS.hex()
    answer = w3.provider.make_request("eth_call", [{"to": address, "data": "0x"}, "latest"])
    refusal = answer.get("error", {}).get("message", "")
    if "EXECUTE" in refusal:
        return None
    said = f"answered {refusal!r}" if refusal else "succeeded"
    return f"the node has no EXECUTE precompile at {address} (a call to it with no input {said})"


# -- the session --


@contextmanager
def session_network(
    external: Optional[Web3],
    execute_mode: str,
    stages: Sequence[Any],
    composable_stages: Sequence[Any],
    gas: Optional[GasTable],
) -> Iterator[Network]:
    """
    The session's network: on ``external`` (a running node) or an embedded
    devnet in ``execute_mode``, with a rollup of each of ``stages`` and a
    composable rollup of each of ``composable_stages``. Meanwhile the
    embedded nodes (the L1 and every L2 node) run as ``nr devnet`` runs
    them, accelerated; the speed-ups are off again after, if they were off.
    """
    was_on = accel.enabled()
    accel.enable()
    try:
        if external is not None:
            session = external_network(external)
        else:
            session = embedded_network(execute_mode)
        for stage in stages:
            add_rollup(session, stage, Rollup.deploy(session.w3, stage), gas)
        # A composable rollup runs on an L1 of its own in slot mode, embedded even beside an
        # external node (whose blocks come as it mines them, not by slot).
        for stage in composable_stages:
            builder = derive_accounts()[BUILDER_ACCOUNT]
            add_composable(session, stage, ComposableChains.deploy(stage, builder))
        for web3 in session.web3s.values():
            if web3 is not external:  # a client of an embedded node
                lean_client(web3)
            # What a test may change on the shared client goes back with the chains.
            session.world.add_part(ClientSettings(web3))
        note_session_chains(session)
        yield session
    finally:
        if not was_on:
            accel.disable()


def embedded_network(execute_mode: str) -> Network:
    """The session's own L1 devnet, in the EXECUTE mode asked for."""
    devnet = Devnet(DevnetConfig(execute=ExecuteParameters(mode=execute_mode)))
    w3 = devnet.web3()
    # Transactions without "from" come from account 0, on L1 and every L2.
    w3.eth.default_account = devnet.accounts[0].checksum_address
    session = Network(World(), devnet, w3, web3s={"L1": w3})
    session.world.add_chain(LocalChain("L1", devnet))
    return session


def external_network(w3: Web3) -> Network:
    """
    A running node as the L1 (``--native-rollups-l1``): snapshotted over
    JSON-RPC with the rest; the rollups' L2 nodes still run in this process.
    """
    w3.eth.default_account = derive_accounts()[0].checksum_address
    chain = RemoteChain("L1", w3)
    session = Network(World(), chain, w3, web3s={"L1": w3})
    session.world.add_chain(chain)
    return session


def add_rollup(session: Network, stage: Any, rollup: Rollup, gas: Optional[GasTable]) -> None:
    """A demo rollup on the session's L1, its L2 node snapshotted with every other chain."""
    name = f"L2 {rollup.config.l2_chain_id} (stage {stage})"
    session.rollups[stage] = rollup
    # A test waits no longer than this for proofs that do not come (no prover runs beside an
    # L1 in proofs mode unless the test proves, or the node has one).
    rollup.contract.proof_patience = PROOF_PATIENCE_SECONDS
    if gas is not None:
        gas.name_rollup(rollup)
    session.web3s[name] = rollup.l2_web3
    rollup.l2_web3.eth.default_account = session.w3.eth.default_account
    session.world.add_chain(LocalChain(name, rollup.l2))
    session.world.add_sequencer(rollup.sequencer)


def add_composable(session: Network, stage: Any, chains: ComposableChains) -> None:
    """A composable rollup and its slot-mode L1 in the session, snapshotted with the rest."""
    session.composables[stage] = chains
    rollup = chains.rollup
    names = (f"L1 in slot mode (stage {stage})", f"L2 {rollup.config.l2_chain_id} (composable)")
    for name, devnet, web3 in zip(names, (chains.l1, rollup.l2), (chains.w3, chains.l2)):
        web3.eth.default_account = devnet.accounts[0].checksum_address
        session.web3s[name] = web3
        session.world.add_chain(LocalChain(name, devnet))
    session.world.add_sequencer(rollup.sequencer)


def note_session_chains(session: Network) -> None:
    """
    A new session's revert sites, noted on every chain's client (for
    ``reverts(dev=...)``), and its L2s by chain id (for EXECUTE diagnoses).
    """
    revert_sites.SITES = revert_sites.RevertSites()
    session.world.add_part(revert_sites.SITES)
    for web3 in session.web3s.values():
        revert_sites.watch(web3)
    assertions.KNOWN_L2S.clear()
    rollups = [*session.rollups.values(), *(c.rollup for c in session.composables.values())]
    for rollup in rollups:
        assertions.KNOWN_L2S.setdefault(rollup.config.l2_chain_id, []).append(rollup.l2_web3)


@contextmanager
def gas_counted(gas: Optional[GasTable], session: Network) -> Iterator[None]:
    """
    With a gas table, the transactions of the blocks each chain mines meanwhile
    are counted, those an isolate() block or a hypothesis example mines too
    (read before their restore takes them away).
    """
    if gas is None or gas.counting:  # an enclosing window counts these blocks
        yield
        return
    window = GasWindow(gas, session)
    gas.counting += 1
    session.world.restore_watchers.append(window)
    try:
        yield
    finally:
        session.world.restore_watchers.remove(window)
        gas.counting -= 1
        window.record()


class GasWindow:
    """The blocks mined since each chain's head at ``heads``, counted up to each restore."""

    def __init__(self, gas: GasTable, session: Network) -> None:
        self.gas, self.session = gas, session
        self.heads = chain_heads(session)

    def record(self) -> None:
        record_gas(self.gas, self.session, self.heads)

    def before_restore(self) -> None:
        self.record()

    def after_restore(self) -> None:
        self.heads = chain_heads(self.session)


def chain_heads(session: Network) -> Dict[str, int]:
    """Each chain's head block number now."""
    return {name: web3.eth.block_number for name, web3 in session.web3s.items()}


def record_gas(gas: GasTable, session: Network, heads: Dict[str, int]) -> None:
    """
    The transactions of every block each chain mined since ``heads``, each
    chain's head then moved on as it is counted (a read that fails part way
    counts no chain twice).
    """
    for name, head in heads.items():
        web3 = session.web3s[name]
        now = web3.eth.block_number
        gas.record_blocks(name, web3, head + 1, now)
        heads[name] = now


def chain_web3(session: Network, on: Any) -> Web3:
    """The web3 ``deploy(on=...)`` names; InvalidArgument, saying what to give, for the rest."""
    if isinstance(on, Web3):
        return on
    if isinstance(on, Rollup):
        return on.l2_web3
    if isinstance(on, str) and on == "l1":
        return session.w3
    if isinstance(on, ComposableChains):
        raise InvalidArgument(
            "deploy: on=composable: give one of its chains: composable.w3 (its L1, inside"
            " `with composable.automining():`) or composable.l2"
        )
    raise InvalidArgument(f"deploy: on={described(on)}: give 'l1', a rollup (for its L2) or a web3")


def node_behind(session: Network, web3: Web3) -> Optional[Any]:
    """The embedded node ``web3`` is a client of (the session's L1, an L2, a composable
    rollup's L1 or L2), or None for a node elsewhere."""
    nodes = [(session.w3, session.l1)]
    nodes += [(rollup.l2_web3, rollup.l2) for rollup in session.rollups.values()]
    for chains in session.composables.values():
        nodes += [(chains.w3, chains.l1), (chains.l2, chains.rollup.l2)]
    return next((node for client, node in nodes if client is web3), None)


def refuse_unmined(session: Network, web3: Web3) -> None:
    """
    InvalidArgument where ``web3``'s node is an embedded one that does not
    mine each transaction at once now: the deployment would wait for a block
    that nothing mines (a composable rollup's L1 mines by slot).
    """
    node = node_behind(session, web3)
    if not isinstance(node, Devnet) or node.automine:
        return
    raise InvalidArgument(
        "deploy: this chain does not mine each transaction at once now, so the deployment"
        f" would wait for a block nothing mines: {how_to_deploy_on(session, web3)}"
    )


def how_to_deploy_on(session: Network, web3: Web3) -> str:
    """How to deploy on a chain that is not automining now."""
    for chains in session.composables.values():
        if web3 is chains.w3:
            return "its L1 mines by slot; deploy inside `with composable.automining():`"
        if web3 is chains.l2:
            return "its slot has ended (build_based ends it); deploy after composable.next_slot()"
    return "switch its automine on while deploying"


def contract_name(contract) -> str:
    text = str(contract)
    return "source" if "\n" in text else Path(text).stem


def deployer(session: Network, default_sender: str, gas: Optional[GasTable]):
    """
    ``deploy(contract, *args, on=..., sender=None)`` (the plugin's ``deploy``)
    on ``session``: by ``default_sender`` unless another is given, its Vyper
    revert sites noted, its functions named in ``gas``.
    """

    def deploy_on(contract, *args, on: Any = "l1", sender: Optional[str] = None, **named):
        web3 = chain_web3(session, on)
        refuse_unmined(session, web3)
        deployed = deploy_contract(
            web3, contract, *args, sender=sender or default_sender, **named
        )
        source, known = vyper_source(contract), None
        if source is not None:
            text, name = source
            known = revert_sites.VyperSource(name, text, vyper_positions(text, name))
        revert_sites.SITES.add_source(revert_sites.watch(web3), deployed.address, known)
        if gas is not None:
            gas.name(
                deployed.address, contract_name(contract), abi_and_bytecode(contract)[0],
                web3.eth.get_code(deployed.address),
            )
        return deployed

    return deploy_on


def chain_controls(session: Network, rollup: Optional[Rollup]) -> Chains:
    """The ``chain`` fixture's helpers for the L1 and, if given, ``rollup``'s L2."""
    devnet = session.l1 if isinstance(session.l1, Devnet) else None
    l1 = ChainControl("L1", devnet=devnet, web3=session.w3)
    l2 = None if rollup is None else ChainControl("L2", devnet=rollup.l2, web3=rollup.l2_web3)
    return Chains(l1, l2)


def session_prover(session: Network) -> Union[Prover, RemoteProver]:
    """The shared prover for the session's L1; ProverUnavailable over RPC when it cannot sign."""
    rollups = list(session.rollups.values())
    if not isinstance(session.world.chains[0], RemoteChain):
        return Prover(session.l1, rollups)
    return RemoteProver(session.w3, rollups)
