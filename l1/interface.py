"""
The terms the devnet node and its JSON-RPC layer share: what a client asks
for (a transaction request) and how the node refuses (the errors a client is
answered with). Both import this; neither imports the other for it.
"""

from dataclasses import dataclass
from typing import Optional, Tuple


@dataclass(frozen=True)
class TransactionRequest:
    """
    A call or a transaction as a client describes it (``eth_call``,
    ``eth_sendTransaction``); None is a field the client left out, for the
    node to fill in.
    """

    sender: Optional[bytes] = None
    # None creates a contract.
    to: Optional[bytes] = None
    gas: Optional[int] = None
    gas_price: Optional[int] = None
    max_fee_per_gas: Optional[int] = None
    max_priority_fee_per_gas: Optional[int] = None
    value: int = 0
    data: bytes = b""
    nonce: Optional[int] = None
    # EIP-2930: (address, storage keys) pairs to warm and pay for up front.
    access_list: Optional[Tuple[Tuple[bytes, Tuple[int, ...]], ...]] = None
    # The chain the client means; refused when it is not the node's.
    chain_id: Optional[int] = None


class TransactionRejected(ValueError):
    """A transaction the node will not accept, with the reason a client sees."""


class InvalidArgument(ValueError):
    """
    A request whose parameters are well-formed but that the node cannot carry
    out as asked (a timestamp before the head, undecodable transaction bytes).
    """


class InvalidState(InvalidArgument):
    """A state dump that cannot be loaded; the devnet keeps its chain."""


class ExecutionFailed(Exception):
    """
    A request whose execution fails even with all the gas it may have (a
    gas estimate, a transaction sent without gas): its computation says why.
    """

    def __init__(self, computation) -> None:
        super().__init__("execution failed")
        self.computation = computation


class TimedOut(Exception):
    """A call or gas estimate ran past the node's time limit and was stopped."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"execution ran past the {seconds:g} s limit and was stopped")
        self.seconds = seconds


class LimitReached(Exception):
    """A request past one of the node's bounds (filters, pending transactions, blocks per call)."""
