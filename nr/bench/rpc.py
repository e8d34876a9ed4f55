"""
``nr bench rpc``: transfers with automine against ``nr devnet``, anvil and
ganache, in one run, over HTTP, in two workloads: client-signed (web3.py signs
each, sends it, waits for its receipt) and node-signed (``eth_sendTransaction``
from an unlocked account, as most test suites send: a batch sent, then every
receipt read).

The nodes run side by side and take turns, a round of transfers each, so a
machine that speeds up or slows down during the run (shared hosts do, by tens
of percent within a minute) shifts every node's figure alike rather than
whichever node happened to run then.
"""

import time
from dataclasses import dataclass, field
from typing import Callable, List

from eth_account import Account
from web3 import Web3

from l1.accounts import derive_accounts
from l1.peers import free_port, start_node

SINK = "0x000000000000000000000000000000000000dEaD"
# Turns each node takes; transfers each node sends before timing starts.
DEFAULT_ROUNDS = 5
WARM_UP_TRANSFERS = 5


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


def sequential_transfers(w3: Web3, count: int) -> float:
    """Seconds to send ``count`` signed transfers, each waited for by its receipt."""
    account = Account.from_key(derive_accounts(count=1)[0].private_key)
    chain_id = w3.eth.chain_id
    nonce = w3.eth.get_transaction_count(account.address)
    started = time.perf_counter()
    for index in range(count):
        signed = account.sign_transaction(
            {
                "chainId": chain_id,
                "nonce": nonce + index,
                "to": SINK,
                "value": 1,
                "gas": 21_000,
                "maxFeePerGas": 50 * 10**9,
                "maxPriorityFeePerGas": 10**9,
            }
        )
        tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
        w3.eth.wait_for_transaction_receipt(tx_hash, poll_latency=0.005)
    return time.perf_counter() - started


def node_signed_transfers(w3: Web3, count: int) -> float:
    """Seconds to send ``count`` transfers by eth_sendTransaction, then read every receipt."""
    sender = w3.eth.accounts[0]
    started = time.perf_counter()
    hashes = [
        w3.eth.send_transaction({"from": sender, "to": SINK, "value": 1, "gas": 21_000})
        for _ in range(count)
    ]
    for tx_hash in hashes:
        w3.eth.wait_for_transaction_receipt(tx_hash, poll_latency=0.005)
    return time.perf_counter() - started


CLIENT_SIGNED, NODE_SIGNED = "client-signed", "node-signed"


def workload(name: str) -> Callable[[Web3, int], float]:
    """The transfers a workload sends (looked up when run, so a test may wrap one)."""
    return {CLIENT_SIGNED: sequential_transfers, NODE_SIGNED: node_signed_transfers}[name]


def round_sizes(count: int, rounds: int) -> List[int]:
    """``count`` transfers split into ``rounds`` turns (fewer when there are fewer transfers)."""
    rounds = max(1, min(rounds, count))
    return [count // rounds + (1 if index < count % rounds else 0) for index in range(rounds)]


def run_rpc_bench(
    count: int,
    nodes: List[str],
    rounds: int = DEFAULT_ROUNDS,
    log: Callable[[str], None] = print,
    workload_name: str = CLIENT_SIGNED,
) -> List[RpcMeasurement]:
    started = []
    transfers = workload(workload_name)
    try:
        for name in nodes:
            process, w3 = start_node(name, free_port())
            started.append((name, process, w3))
            transfers(w3, WARM_UP_TRANSFERS)
        results = {name: RpcMeasurement(name, 0, 0.0) for name in nodes}
        sizes = round_sizes(count, rounds)
        log(
            f"{', '.join(nodes)}: {count} {workload_name} transfers each,"
            f" in {len(sizes)} rounds ..."
        )
        for size in sizes:
            for name, _, w3 in started:
                seconds = transfers(w3, size)
                measurement = results[name]
                measurement.transactions += size
                measurement.seconds += seconds
                measurement.round_rates.append(size / seconds)
        return [results[name] for name in nodes]
    finally:
        for _, process, _ in started:
            process.terminate()
            process.wait(30)


def format_rpc_results(results: List[RpcMeasurement]) -> str:
    rates = {m.node: m.per_second for m in results}
    rows = [f"{'node':<10} {'transfers':>9} {'seconds':>9} {'tx/s':>8} {'round tx/s':>13}   ratios"]
    for m in results:
        ratios = ", ".join(
            f"{m.per_second / rates[other]:.2f}x {other}" for other in rates if other != m.node
        )
        spread = f"{min(m.round_rates):.0f}-{max(m.round_rates):.0f}" if m.round_rates else "-"
        rows.append(
            f"{m.node:<10} {m.transactions:>9} {m.seconds:>9.2f} {m.per_second:>8.1f}"
            f" {spread:>13}   {ratios}"
        )
    return "\n".join(rows)
