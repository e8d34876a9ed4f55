"""
Running rollups: each L2 node served over JSON-RPC (HTTP and WebSocket, the
devnet server), and each sequencer stepping on a timer: take in L1
messages, settle new L2 blocks. ``nr up`` also serves the L1 devnet itself.
"""

import asyncio
import concurrent.futures
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, List, Optional, Sequence

from eth_utils import to_checksum_address
from web3.exceptions import TimeExhausted

from l1.accounts import derive_accounts
from l1.node import Devnet
from l1.server import DevnetServer, stop_on_signals

from .composable import ComposableRollup
from .l1_contract import RollupError
from .l2 import L2_BRIDGE, L2_CROSS_CALLS, L2_MESSAGE_PASSER
from .rollup import Rollup
from .slot_sequencer import SEQUENCED_MODE
from .stages import DAY, StageConfig
from .status import SettlementNamespace

DEFAULT_SETTLE_INTERVAL = 2.0
# web3.py writes hashes as HexBytes('0x...'): the log says 0x... .
HEX_BYTES = re.compile(r"HexBytes\('(0x[0-9a-fA-F]*)'\)")


@dataclass
class Endpoint:
    devnet: Devnet
    port: int
    # Methods served besides the node's own (a rollup's settlement status).
    namespaces: tuple = ()

    @classmethod
    def of_rollup(cls, rollup: Rollup, port: int) -> "Endpoint":
        """
        A rollup's L2 node, serving ``nr_settlementStatus`` too (and a
        composable one ``nr_getPreconfirmation``, ``nr_sendRawTransaction``,
        ``nr_slotStatus``).
        """
        namespaces = (SettlementNamespace(rollup),)
        if isinstance(rollup, ComposableRollup):
            namespaces += (rollup.rpc_namespace(),)
        return cls(rollup.l2, port, namespaces)


def in_daemon_thread(work: Callable[[], Any]) -> "asyncio.Future[Any]":
    """
    Run blocking ``work`` on a thread of its own, as a future of its result.
    Not on the loop's executor: a settlement may wait minutes for its L1
    receipt (in proofs mode, for proofs that may never come), and a stopping
    process waits for executor threads but not for daemon ones.
    """
    outcome: concurrent.futures.Future = concurrent.futures.Future()

    def run() -> None:
        if not outcome.set_running_or_notify_cancel():
            return
        try:
            outcome.set_result(work())
        except BaseException as failure:  # handed to whoever awaits the future
            outcome.set_exception(failure)

    threading.Thread(target=run, daemon=True).start()
    return asyncio.wrap_future(outcome)


async def run_sequencer(rollup: Rollup, interval: float, log=print) -> None:
    """Step the sequencer every ``interval`` seconds; a refusal rebuilds, nothing stops it."""
    if isinstance(rollup, ComposableRollup):
        await run_slots(rollup, interval, log)
        return
    while True:
        await asyncio.sleep(interval)
        await step_once(rollup, log)


async def run_slots(rollup: ComposableRollup, interval: float, log=print) -> None:
    """
    A composable rollup's sequencer on the wall clock, over an L1 that mines a
    block per transaction: transactions preconfirmed as they arrive (the
    sequencer's cadence), sequencer rounds every ``interval`` seconds until
    the slot-ending point of the slot (``slot_ending_at``, 2/3), then the slot-ending
    certificate for this slot (a based block may land in what is left of
    it), then, once the next slot starts, L1 followed (based blocks in,
    reverted ones out, the mode).
    """
    name = f"stage {rollup.config.stage} (chain {rollup.config.l2_chain_id})"
    sequencer = rollup.sequencer
    slots = rollup.slots
    # Transactions are preconfirmed as they arrive, their blocks sealed on a cadence.
    stopped = threading.Event()
    threading.Thread(target=sequencer.run_cadence, args=(stopped,), daemon=True).start()
    try:
        await run_slot_rounds(rollup, sequencer, slots, interval, name, log)
    finally:
        stopped.set()


async def run_slot_rounds(rollup, sequencer, slots, interval: float, name: str, log) -> None:
    """``run_slots``' loop: rounds until the slot-ending point, the certificate, follow L1."""
    while True:
        slot = slots.slot_of(int(time.time()))
        ending = slots.start_of(slot) + slots.seconds * sequencer.slot_ending_at
        while time.time() + interval < ending:
            await asyncio.sleep(interval)
            if sequencer.mode == SEQUENCED_MODE:
                await step_once(rollup, log)
        await asyncio.sleep(max(0.0, ending - time.time()))
        try:
            certificate = await in_daemon_thread(lambda: sequencer.end_slot(slot))
            if certificate is not None:
                log(f"{name}: slot {slot} ends at L2 block {certificate.block_number}")
        except Exception as failure:  # an unreachable L1: the next slot tries again
            log(f"{name}: ending slot {slot} failed: {in_words(failure)}")
        await asyncio.sleep(max(0.0, slots.start_of(slot + 1) - time.time()))
        try:
            await in_daemon_thread(sequencer.follow_l1)
        except Exception as failure:
            log(f"{name}: following L1 failed: {in_words(failure)}")


def in_words(failure: Exception) -> str:
    """
    What went wrong, for the log: the message without the client library's
    type names (a receipt wait that timed out, a byte string's repr).
    """
    message = HEX_BYTES.sub(r"\1", str(failure)) or "no reason given"
    if isinstance(failure, TimeExhausted):
        return f"no L1 receipt in time ({message})"
    if isinstance(failure, (ConnectionError, OSError)):
        return f"the L1 node does not answer: {message}"
    return message


async def step_once(rollup: Rollup, log=print) -> None:
    """One sequencer round: take in L1 messages, settle; a refusal rebuilds from L1."""
    name = f"stage {rollup.config.stage} (chain {rollup.config.l2_chain_id})"
    try:
        settled = await in_daemon_thread(rollup.sequencer.step)
    except RollupError as refused:
        log(f"{name}: L1 refused: {refused}; rebuilding from the settled head")
        await in_daemon_thread(rollup.sequencer.rebuild_from_settled_head)
        return
    except Exception as failure:  # an unreachable L1, a bad transaction: try again next round
        log(f"{name}: sequencer round failed: {in_words(failure)}")
        return
    if settled:
        # A slot sequencer's settlements land with the slot's L1 block: sent, not yet settled.
        done = "sent to L1 to settle" if isinstance(rollup, ComposableRollup) else "settled on L1"
        log(f"{name}: L2 block(s) {', '.join(map(str, settled))} {done}")


def serve(
    endpoints: List[Endpoint],
    rollups: List[Rollup],
    host: str,
    settle_interval: float = DEFAULT_SETTLE_INTERVAL,
    log=print,
    on_listening: Optional[Callable[[], None]] = None,
    background: Sequence[Callable[[], Awaitable[None]]] = (),
) -> None:
    """
    Serve every endpoint and run every sequencer until SIGINT or SIGTERM;
    ``on_listening`` runs once every endpoint accepts connections, and each of
    ``background`` (a shared prover) is started then.
    """

    async def main() -> None:
        servers = [DevnetServer(e.devnet, host, e.port, e.namespaces) for e in endpoints]
        runners = [await server.start() for server in servers]
        tasks = [
            asyncio.create_task(run_sequencer(rollup, settle_interval, log)) for rollup in rollups
        ]
        tasks += [asyncio.create_task(job()) for job in background]
        stop = stop_on_signals()
        if on_listening is not None:
            on_listening()
        try:
            await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            for server, runner in zip(servers, runners):
                await server.stop(runner)

    asyncio.run(main())


def rollup_banner(rollups: List[Rollup], host: str, ports: List[int], l1_url: str) -> str:
    """Every endpoint, chain id and contract address, and one command to try."""
    lines = ["", "Rollups", "=================="]
    for rollup, port in zip(rollups, ports):
        config = rollup.config
        lines += [
            f"stage {config.stage}  L2 chain id {config.l2_chain_id}  rpc http://{host}:{port}",
            f"         NativeRollup (L1)      {rollup.address}",
            f"         Governance (L1)        {rollup.governance.address}",
            f"         L2Bridge (L2)          {to_checksum_address(L2_BRIDGE)}",
            f"         L2MessagePasser (L2)   {to_checksum_address(L2_MESSAGE_PASSER)}",
            f"         finality {config.finality_delay}s, forced inclusion "
            + (f"after {config.inclusion_delay}s" if config.inclusion_delay else "none")
            + ", operator may replace root: "
            + ("yes" if config.operator_can_replace_root else "no"),
            f"         upgrades: {upgrade_rule(config)}; {council_rule(config)}",
        ]
        if isinstance(rollup, ComposableRollup):
            lines += [
                f"         Sequencing (L1)        {rollup.sequencing.address}",
                f"         CrossCalls (L1)        {rollup.cross_calls.address}",
                f"         L2CrossCalls (L2)      {to_checksum_address(L2_CROSS_CALLS)}",
                f"         slot sequencing: {rollup.slots.seconds} s slots, preconfirmations"
                f" (nr_sendRawTransaction, nr_getPreconfirmation), based blocks"
                f" (nr build-based), synchronous calls into L2 in a based block"
                f" (CrossCalls.call_l2), L2 gas limit {config.l2_gas_limit}",
            ]
    if rollups:
        sender, recipient = derive_accounts()[:2]
        key = "0x" + sender.private_key.hex()
        to = recipient.checksum_address
        first = f"http://{host}:{ports[0]}"
        lines += [
            "",
            "Try it (account 0 is funded on every chain)",
            "==================",
            f"cast send --rpc-url {first} --private-key {key} {to} --value 1ether",
            f"cast send --rpc-url {l1_url} --private-key {key} {rollups[0].address} "
            f"'deposit(address)' {to} --value 1ether",
            f"cast balance --rpc-url {first} {to}",
            f"nr status --l2 {first}",
            f"nr withdraw --l2 {first} --amount 0.1ether   # then: nr claim --l2 {first} --tx ...",
        ]
    return "\n".join(lines)



def upgrade_rule(config: StageConfig) -> str:
    if config.upgrade_delay == 0:
        return "at once by the operator"
    return (
        f"after {config.upgrade_delay / DAY:.1f} days"
        f" (exit window {config.exit_window / DAY:.1f} days)"
    )


def council_rule(config: StageConfig) -> str:
    if not config.security_council:
        return "no Security Council"
    members = f"council {config.council_threshold} of {len(config.security_council)}"
    return members + (" only on a proven bug" if config.council_needs_bug_proof else " at once")
