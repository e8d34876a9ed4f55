"""
``nr bench rpc``: transfers with automine against ``nr devnet``, anvil and
ganache, in one run, over HTTP, in two workloads:

- client-signed: web3.py signs each transfer, sends it raw and waits for its
  receipt before the next;
- node-signed: the node signs (``eth_sendTransaction`` from an unlocked
  account, as most test suites send), a batch of up to 100 sent, then the
  batch's receipts read.

The nodes run side by side and take turns, a round of transfers each, so a
machine that speeds up or slows down during the run (shared hosts do, by tens
of percent within a minute) shifts every node's figure alike rather than
whichever node happened to run then; each ratio also comes as the median and
range of the rounds' own ratios, turns next to each other in time.
"""

import itertools
import time
from dataclasses import dataclass, field
from statistics import median
from typing import Callable, Dict, List, Sequence

from eth_account import Account
from web3 import Web3

from l1.accounts import derive_accounts
from l1.peers import free_port, start_node

SINK = "0x000000000000000000000000000000000000dEaD"
# Turns each node takes; transfers each node sends before timing starts.
DEFAULT_ROUNDS = 5
WARM_UP_TRANSFERS = 5
CLIENT_SIGNED, NODE_SIGNED = "client-signed", "node-signed"
# Transfers a node-signed batch sends before reading their receipts.
NODE_SIGNED_BATCH = 100


@dataclass
class RpcMeasurement:
    node: str
    transactions: int
    seconds: float
    # tx/s of each round, to show how much the machine varied.
    round_rates: List[float] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.transactions / self.seconds


def client_signed_sender(w3: Web3) -> Callable[[], bytes]:
    """Sends transfers web3.py signs with the first test key (nonces counted here)."""
    account = Account.from_key(derive_accounts(count=1)[0].private_key)
    chain_id = w3.eth.chain_id
    nonces = itertools.count(w3.eth.get_transaction_count(account.address))

    def send() -> bytes:
        signed = account.sign_transaction(
            {
                "chainId": chain_id,
                "nonce": next(nonces),
                "to": SINK,
                "value": 1,
                "gas": 21_000,
                "maxFeePerGas": 50 * 10**9,
                "maxPriorityFeePerGas": 10**9,
            }
        )
        return w3.eth.send_raw_transaction(signed.raw_transaction)

    return send


def node_signed_sender(w3: Web3) -> Callable[[], bytes]:
    """Sends transfers the node signs for its first unlocked account (eth_sendTransaction)."""
    sender = w3.eth.accounts[0]
    transfer = {"from": sender, "to": SINK, "value": 1, "gas": 21_000}
    return lambda: w3.eth.send_transaction(transfer)


@dataclass(frozen=True)
class Workload:
    name: str
    # Makes the function that sends one transfer to a node.
    sender: Callable[[Web3], Callable[[], bytes]]
    # Transfers sent before their receipts are read.
    batch: int


WORKLOADS = {
    CLIENT_SIGNED: Workload(CLIENT_SIGNED, client_signed_sender, batch=1),
    NODE_SIGNED: Workload(NODE_SIGNED, node_signed_sender, batch=NODE_SIGNED_BATCH),
}


def transfers(w3: Web3, count: int, workload: Workload) -> float:
    """Seconds to send ``count`` transfers in the workload's batches, each batch's receipts read."""
    send = workload.sender(w3)
    started = time.perf_counter()
    for batch in batch_sizes(count, workload.batch):
        hashes = [send() for _ in range(batch)]
        for tx_hash in hashes:
            w3.eth.wait_for_transaction_receipt(tx_hash, poll_latency=0.005)
    return time.perf_counter() - started


def round_sizes(count: int, rounds: int) -> List[int]:
    """``count`` transfers split into ``rounds`` turns (fewer when there are fewer transfers)."""
    rounds = max(1, min(rounds, count))
    return [count // rounds + (1 if index < count % rounds else 0) for index in range(rounds)]


def batch_sizes(count: int, most: int) -> List[int]:
    """``count`` transfers in batches of at most ``most``, as even as they split."""
    return round_sizes(count, -(-count // most))


def run_rpc_bench(
    count: int,
    nodes: List[str],
    rounds: int = DEFAULT_ROUNDS,
    log: Callable[[str], None] = print,
    workload_names: Sequence[str] = (CLIENT_SIGNED, NODE_SIGNED),
) -> Dict[str, List[RpcMeasurement]]:
    """Each workload's measurements of each node, the nodes started once for all of them."""
    started = []
    try:
        for name in nodes:
            process, w3 = start_node(name, free_port())
            started.append((name, process, w3))
        return {
            workload: measure_workload(WORKLOADS[workload], count, started, rounds, log)
            for workload in workload_names
        }
    finally:
        for _, process, _ in started:
            process.terminate()
            process.wait(30)


def measure_workload(
    workload: Workload, count: int, started: list, rounds: int, log: Callable[[str], None]
) -> List[RpcMeasurement]:
    """``count`` transfers of ``workload`` from each node, the nodes taking turns by rounds."""
    for _, _, w3 in started:
        transfers(w3, WARM_UP_TRANSFERS, workload)
    results = {name: RpcMeasurement(name, 0, 0.0) for name, _, _ in started}
    sizes = round_sizes(count, rounds)
    log(f"{', '.join(results)}: {count} {workload.name} transfers each, in {len(sizes)} rounds ...")
    for size in sizes:
        for name, _, w3 in started:
            seconds = transfers(w3, size, workload)
            measurement = results[name]
            measurement.transactions += size
            measurement.seconds += seconds
            measurement.round_rates.append(size / seconds)
    return list(results.values())


def round_ratios(node: RpcMeasurement, other: RpcMeasurement) -> List[float]:
    """``node``'s rate over ``other``'s in each round: turns next to each other in time."""
    return [mine / theirs for mine, theirs in zip(node.round_rates, other.round_rates)]


def format_ratio(node: RpcMeasurement, other: RpcMeasurement) -> str:
    """The ratio of the totals, and the median and range of the rounds' paired ratios."""
    text = f"{node.per_second / other.per_second:.2f}x {other.node}"
    paired = round_ratios(node, other)
    if len(paired) > 1:
        text += f" (rounds: median {median(paired):.2f}, {min(paired):.2f}-{max(paired):.2f})"
    return text


def format_rpc_results(results: List[RpcMeasurement]) -> str:
    rows = [f"{'node':<10} {'transfers':>9} {'seconds':>9} {'tx/s':>8} {'round tx/s':>13}   ratios"]
    for m in results:
        ratios = ", ".join(format_ratio(m, other) for other in results if other.node != m.node)
        spread = f"{min(m.round_rates):.0f}-{max(m.round_rates):.0f}" if m.round_rates else "-"
        rows.append(
            f"{m.node:<10} {m.transactions:>9} {m.seconds:>9.2f} {m.per_second:>8.1f}"
            f" {spread:>13}   {ratios}"
        )
    return "\n".join(rows)
