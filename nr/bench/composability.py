"""
``nr bench composability``: a composable rollup on an in-process L1 in slot
mode, on the wall clock. A client sends L2 transfers over JSON-RPC
(``nr_sendRawTransaction``, answered with the preconfirmation; while the slot
waits for L1 it polls ``nr_getPreconfirmation``) at random times, 2 a
second; each slot the sequencer ends the slot, a builder lands a based block (every tenth one a
cross-domain round trip: a deposit spent and withdrawn in one L1
transaction), and the slot's L1 block is mined at its start. After the
timed slots, one more lands a synchronous L1 -> L2 -> L1 call (an execution
table), for its gas.

Measured: preconfirmation latency (send to signed promise, over HTTP), the
latency to L1 settlement, the share of slots whose based block landed in
its own slot, and L1 gas per based block with and without a cross-domain
round trip, and with a synchronous call.
"""

import asyncio
import dataclasses
import json
import random
import statistics
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

from eth_account import Account

from l1.accounts import derive_accounts
from l1.node import Devnet, DevnetConfig
from l1.server import DevnetServer
from rollup.based import BasedBuilder
from rollup.composable import SLOT_FRIENDLY_L2_GAS_LIMIT, ComposableRollup
from rollup.cross_domain import TallyDemo, deposit_and_withdraw
from rollup.slot_runner import SlotRecord, SlotRunner, wall_clock_waiter
from rollup.stages import load_preset

CROSS_DOMAIN_EVERY = 10
POLL_SECONDS = 0.002
SENDERS = (0, 1, 2, 3)


@dataclass
class ComposabilityResults:
    slots: int
    slot_time: int
    preconfirmation_ms: List[float] = field(default_factory=list)
    settlement_s: List[float] = field(default_factory=list)
    unconfirmed: int = 0
    included_unconfirmed: int = 0
    # Preconfirmed transactions found elsewhere than promised.
    broken_promises: int = 0
    # Those answered with their preconfirmation (arrived while the slot was open).
    at_once_ms: List[float] = field(default_factory=list)
    landed: int = 0
    attempted: int = 0
    plain_gas: List[int] = field(default_factory=list)
    cross_domain_gas: List[int] = field(default_factory=list)
    # L1 gas of the based block with a synchronous L1 -> L2 -> L1 call (None: it did not land).
    synchronous_call_gas: Optional[int] = None
    records: List[SlotRecord] = field(default_factory=list)


def percentile(values: List[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


class L2Client:
    """
    Open-loop L2 traffic: transfers sent over HTTP at ``rate`` per second
    (exponential gaps, whatever happened to earlier ones), and a poller that
    times each one's preconfirmation (or notes it was included without one).
    """

    def __init__(self, url: str, chain_id: int, rate: float) -> None:
        self.url, self.chain_id, self.rate = url, chain_id, rate
        self.sent: Dict[str, float] = {}
        self.preconfirmed: Dict[str, tuple] = {}  # hash -> (seconds, block number)
        # Included (by a based block) without ever being preconfirmed.
        self.included_unconfirmed = 0
        self.stopped = threading.Event()
        self.random = random.Random(7)
        self.done: set = set()
        # Latencies of the transactions answered with their preconfirmation.
        self.at_once: List[float] = []
        self.promised: Dict[str, dict] = {}

    def broken_promises(self) -> int:
        """Preconfirmed transactions not at the block and index promised (once mined)."""
        broken = 0
        for transaction_hash, promise in list(self.promised.items()):
            receipt = self.call("eth_getTransactionReceipt", [transaction_hash])
            if receipt is None:
                continue  # not mined yet (the run's last slot)
            at = (int(receipt["blockNumber"], 16), int(receipt["transactionIndex"], 16))
            broken += at != (int(promise["blockNumber"], 16), int(promise["transactionIndex"], 16))
        return broken

    def call(self, method: str, params: list):
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        request = urllib.request.Request(
            self.url, body.encode(), {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.loads(response.read())
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']['message']}")
        return answer["result"]

    def start(self) -> None:
        threading.Thread(target=self.send_forever, daemon=True).start()
        threading.Thread(target=self.poll_forever, daemon=True).start()

    def send_forever(self) -> None:
        accounts = derive_accounts()
        nonces = {index: 0 for index in SENDERS}
        turn = 0
        while not self.stopped.wait(self.random.expovariate(self.rate)):
            index = SENDERS[turn % len(SENDERS)]
            turn += 1
            signed = Account.sign_transaction({
                "to": accounts[9].checksum_address, "value": 1, "gas": 21_000,
                "maxFeePerGas": 10**11, "maxPriorityFeePerGas": 0,
                "nonce": nonces[index], "chainId": self.chain_id,
            }, accounts[index].private_key)
            started = time.perf_counter()
            try:
                answer = self.call(
                    "nr_sendRawTransaction", ["0x" + bytes(signed.raw_transaction).hex()]
                )
            except RuntimeError:  # refused (a voided nonce, say): the next one goes on
                continue
            nonces[index] += 1
            transaction_hash, promise = answer["transactionHash"], answer["preconfirmation"]
            if promise is not None:  # answered with it: no polling needed
                self.preconfirmed[transaction_hash] = (
                    time.perf_counter() - started, int(promise["blockNumber"], 16)
                )
                self.promised[transaction_hash] = promise
                self.at_once.append(self.preconfirmed[transaction_hash][0])
            self.sent[transaction_hash] = started

    def poll_forever(self) -> None:
        while not self.stopped.wait(POLL_SECONDS):
            for transaction_hash, started in list(self.sent.items()):
                if transaction_hash in self.preconfirmed or transaction_hash in self.done:
                    continue
                self.poll(transaction_hash, started)

    def poll(self, transaction_hash: str, started: float) -> None:
        included = self.call("eth_getTransactionReceipt", [transaction_hash])
        promise = self.call("nr_getPreconfirmation", [transaction_hash])
        if promise and "blockNumber" in promise:
            self.preconfirmed[transaction_hash] = (
                time.perf_counter() - started, int(promise["blockNumber"], 16)
            )
            self.promised[transaction_hash] = promise
        elif included:  # in a block, and no promise for it: a based block took it
            self.included_unconfirmed += 1
            self.done.add(transaction_hash)


def serve_in_thread(devnet: Devnet, namespaces: tuple) -> str:
    """Serve ``devnet`` on a free loopback port from a daemon thread; its URL."""
    server = DevnetServer(devnet, "127.0.0.1", 0, namespaces)
    ready = threading.Event()
    holder = {}

    def run() -> None:
        async def main() -> None:
            runner = await server.start()
            holder["port"] = runner.addresses[0][1]
            ready.set()
            await asyncio.Event().wait()

        asyncio.run(main())

    threading.Thread(target=run, daemon=True).start()
    ready.wait(30)
    return f"http://127.0.0.1:{holder['port']}"


def run_composability_bench(
    slots: int = 100, slot_time: int = 1, rate: float = 2.0, slot_ending_at: float = 0.85,
    block_interval: Optional[float] = None, log: Callable[[str], None] = print,
) -> ComposabilityResults:
    l1 = Devnet(DevnetConfig(slot_time=slot_time))
    config = dataclasses.replace(
        load_preset(1), finality_delay=0, l2_gas_limit=SLOT_FRIENDLY_L2_GAS_LIMIT
    )
    log(f"deploying a composable rollup ({slot_time} s slots) ...")
    rollup = ComposableRollup.deploy(l1.web3(), config, slot_time=slot_time)
    tally = TallyDemo.deploy(rollup, derive_accounts()[0])
    l1.set_automine(False)
    url = serve_in_thread(rollup.l2, (rollup.rpc_namespace(),))
    builder = BasedBuilder(rollup, derive_accounts()[5])
    runner = SlotRunner(l1, rollup, builder)
    wait_until = wall_clock_waiter()
    wait_until(rollup.slots.start_of(rollup.sequencer.next_l1_slot() - 1))
    rollup.sequencer.follow_l1()
    # Deploying took more than the fallback's slots: one based block (not
    # counted) brings the rollup back to sequenced mode.
    runner.run_slot(wait_until=wait_until, slot_ending_at=slot_ending_at)
    runner.records.clear()
    client = L2Client(url, config.l2_chain_id, rate)
    client.start()
    if block_interval != 0:  # 0: a block per arriving transaction, preconfirmed once mined
        threading.Thread(
            target=rollup.sequencer.run_cadence, args=(client.stopped, block_interval),
            daemon=True,
        ).start()
    results = ComposabilityResults(slots, slot_time)
    settled_seen: Dict[str, float] = {}

    def round_trip(build, certificate):
        return deposit_and_withdraw(build, Account.create(), 10**16, 10**15, certificate)[0]

    log(f"running {slots} slots, {rate:g} L2 transactions/s ...")
    for index in range(slots):
        cross = index % CROSS_DOMAIN_EVERY == CROSS_DOMAIN_EVERY - 1
        record = runner.run_slot(
            compose=round_trip if cross else None, cross_domain="round trip" if cross else "",
            wait_until=wait_until, slot_ending_at=slot_ending_at,
        )
        now = time.perf_counter()
        for transaction_hash, (_, number) in list(client.preconfirmed.items()):
            if transaction_hash not in settled_seen and number <= record.settled_head:
                settled_seen[transaction_hash] = now - client.sent[transaction_hash]
        if record.based_attempted:
            results.attempted += 1
            results.landed += record.based_landed
            if record.based_landed:
                (results.cross_domain_gas if cross else results.plain_gas).append(
                    record.based_gas
                )
        if (index + 1) % 10 == 0:
            log(f"  slot {index + 1}/{slots}: {results.landed}/{results.attempted} based blocks"
                f" in their slot, {len(client.preconfirmed)} preconfirmed")
    client.stopped.set()
    record = runner.run_slot(
        compose=lambda build, certificate: tally.build_call(build, certificate, 5),
        cross_domain="L1 -> L2 -> L1 call",
    )
    if record.based_landed:
        results.synchronous_call_gas = record.based_gas
    results.broken_promises = client.broken_promises()
    results.preconfirmation_ms = [1000 * s for s, _ in client.preconfirmed.values()]
    results.at_once_ms = [1000 * s for s in client.at_once]
    results.settlement_s = list(settled_seen.values())
    results.unconfirmed = (
        len(client.sent) - len(client.preconfirmed) - client.included_unconfirmed
    )
    results.included_unconfirmed = client.included_unconfirmed
    results.records = runner.records
    return results


def format_composability(results: ComposabilityResults) -> str:
    pre, settle = results.preconfirmation_ms, results.settlement_s

    def median(values: List[int]) -> str:
        return f"{statistics.median(values):,.0f}" if values else "-"

    share = 100 * results.landed / results.attempted if results.attempted else 0.0
    synchronous = [results.synchronous_call_gas] if results.synchronous_call_gas else []
    return "\n".join([
        f"{results.slots} slots of {results.slot_time} s",
        f"preconfirmation latency  p50 {percentile(pre, 0.5):7.1f} ms   p99"
        f" {percentile(pre, 0.99):7.1f} ms   ({len(pre)} transactions over HTTP,"
        f" {results.included_unconfirmed} included by a based block unpromised,"
        f" {results.unconfirmed} waiting at the end)",
        f"  answered at once         p50 {percentile(results.at_once_ms, 0.5):7.1f} ms   p99"
        f" {percentile(results.at_once_ms, 0.99):7.1f} ms   ({len(results.at_once_ms)}; the rest"
        " arrived while the slot waited for its L1 block)",
        f"preconfirmations broken  {results.broken_promises} (mined elsewhere than promised)",
        f"to L1 settlement         p50 {percentile(settle, 0.5):7.2f} s    p99"
        f" {percentile(settle, 0.99):7.2f} s",
        f"based blocks in their slot  {results.landed}/{results.attempted} ({share:.0f}%)",
        f"L1 gas per based block   {median(results.plain_gas)} (empty);"
        f" {median(results.cross_domain_gas)} with a cross-domain round trip"
        f" (deposit, L2 withdrawal, claim)",
        f"{'':25}{median(synchronous)} with a synchronous L1 -> L2 -> L1 call"
        " (its own L2 block settled through EXECUTE too)",
    ])
