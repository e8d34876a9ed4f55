"""
``nr bench rpc``: sequential transfers with automine (send, then wait for the
receipt) against ``nr devnet``, anvil and ganache, in one run, over HTTP.
"""

import time
from dataclasses import dataclass
from typing import Callable, List

from eth_account import Account
from web3 import Web3

from .accounts import derive_accounts
from .peers import free_port, start_node

SINK = "0x000000000000000000000000000000000000dEaD"


@dataclass
class RpcMeasurement:
    node: str
    transactions: int
    seconds: float

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


def run_rpc_bench(count: int, nodes: List[str], log: Callable[[str], None] = print):
    results = []
    for name in nodes:
        process, w3 = start_node(name, free_port())
        try:
            log(f"{name}: {count} sequential transfers ...")
            results.append(RpcMeasurement(name, count, sequential_transfers(w3, count)))
        finally:
            process.terminate()
            process.wait(30)
    return results


def format_rpc_results(results: List[RpcMeasurement]) -> str:
    rates = {m.node: m.per_second for m in results}
    rows = [f"{'node':<10} {'transfers':>9} {'seconds':>9} {'tx/s':>8}   ratios"]
    for m in results:
        ratios = ", ".join(
            f"{m.per_second / rates[other]:.2f}x {other}" for other in rates if other != m.node
        )
        rows.append(
            f"{m.node:<10} {m.transactions:>9} {m.seconds:>9.2f} {m.per_second:>8.1f}   {ratios}"
        )
    return "\n".join(rows)
