"""
Execution engines: one small interface, several implementations.

The stateless guest hands an engine a block, its verified ancestor headers
and the witness entries (trie nodes and code keyed by keccak); the engine
executes the block on that pre-state alone and reports what the header must
commit to. An engine that cannot run a block raises ``EngineDeclined`` and
the caller falls back to the reference engine; it never guesses.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Dict, Iterable, Mapping, Sequence, Tuple

from eth.abc import BlockAPI, BlockHeaderAPI

REFERENCE_ENGINE = "pyevm"


class EngineDeclined(Exception):
    """
    The engine cannot run this block. ``reason`` names what it lacks, the same
    words for the same lack, so declines can be counted by reason; ``detail``
    says where (an address, a node).
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason} ({detail})" if detail else reason)
        self.reason = reason
        self.detail = detail


class InvalidTransaction(Exception):
    """A transaction the block may not contain, as an engine found it."""


def is_rust_panic(error: BaseException) -> bool:
    """
    Whether ``error`` is a panic inside a Rust library (pyo3 raises it as a
    ``PanicException``, a BaseException a plain ``except Exception`` misses,
    from a module that cannot be imported to name it).
    """
    return type(error).__name__ == "PanicException"


class UnknownEngine(ValueError):
    """No engine of that name."""


@dataclass(frozen=True)
class ExecutionOutcome:
    """What executing a block produced, field by field as the header commits to it."""

    gas_used: int
    receipts_root: bytes
    logs_bloom: int
    state_root: bytes
    blob_gas_used: int
    # EIP-7685 requests, non-empty ones only, each ``type || data``.
    requests: Tuple[bytes, ...]


def non_empty_requests(requests: Iterable[bytes]) -> Tuple[bytes, ...]:
    """EIP-7685: the requests a header commits to, leaving out types with no data."""
    return tuple(bytes(request) for request in requests if len(request) > 1)


class Engine(ABC):
    name: str

    @abstractmethod
    def execute(
        self,
        vm_class: type,
        block: BlockAPI,
        headers: Sequence[BlockHeaderAPI],
        witness_entries: Mapping[bytes, bytes],
        chain_id: int,
    ) -> ExecutionOutcome:
        """
        Execute ``block`` on the pre-state rooted at ``headers[-1].state_root``
        using only ``witness_entries``. Raise on an invalid block or missing
        witness data; raise ``EngineDeclined`` for what this engine cannot run.
        """

    def warm_up(self) -> None:
        """Start whatever the engine keeps running between blocks (before timing it)."""


def engines() -> Dict[str, Engine]:
    """Every engine, by name. Imported here so each engine's dependencies load on use."""
    from .eels import EelsEngine
    from .pyevm import PyEvmEngine
    from .revm import RevmEngine

    return {engine.name: engine for engine in (PyEvmEngine(), RevmEngine(), EelsEngine())}


def get_engine(name: str) -> Engine:
    available = engines()
    try:
        return available[name]
    except KeyError:
        raise UnknownEngine(f"engine {name!r} is not one of {', '.join(available)}") from None
