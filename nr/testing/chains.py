"""Mine, warp and run to a condition, on the embedded devnet, an L2 node or an RPC node."""

from typing import Callable, Optional

from .arguments import InvalidArgument, a_function, hidden_when_refusing, whole_number

# A helper refusing what a test gave it points at the test's line, not its own.
__tracebackhide__ = hidden_when_refusing(InvalidArgument)


class ChainControl:
    """Test controls of one chain, in-process (a ``Devnet``) or over RPC (``evm_*`` methods)."""

    def __init__(self, name: str, devnet=None, web3=None) -> None:
        self.name, self.devnet, self.web3 = name, devnet, web3 or devnet.web3()

    @property
    def height(self) -> int:
        return self.web3.eth.block_number

    def mine(self, blocks: int = 1) -> int:
        """Mine ``blocks`` blocks; the new head's number."""
        whole_number(blocks, f"chain.{self.label}.mine: blocks")
        if self.devnet is not None:
            self.devnet.mine(blocks)
        else:
            for _ in range(blocks):
                self.web3.provider.make_request("evm_mine", [])
        return self.height

    def warp(self, seconds: int) -> int:
        """Move the clock ``seconds`` ahead and mine a block there; its timestamp."""
        whole_number(
            seconds, f"chain.{self.label}.warp: seconds",
            why="the clock only moves ahead: a block's time is never before its parent's",
        )
        if self.devnet is not None:
            self.devnet.increase_time(seconds)
        else:
            self.web3.provider.make_request("evm_increaseTime", [seconds])
        self.mine()
        return self.web3.eth.get_block("latest").timestamp

    def until(
        self, condition: Callable[[], bool], blocks: int = 100,
        step: Optional[Callable[[], object]] = None, what: str = "the condition",
    ) -> int:
        """
        Mine (or run ``step``) until ``condition()`` holds, at most ``blocks``
        times; the head's number then. AssertionError saying so if it never held.
        """
        said = f"chain.{self.label}.until"
        a_function(condition, f"{said}: condition")
        whole_number(blocks, f"{said}: blocks")
        advance = self.mine if step is None else a_function(step, f"{said}: step")
        if condition():
            return self.height
        for _ in range(blocks):
            advance()
            if condition():
                return self.height
        raise AssertionError(f"{what} did not hold on {self.name} within {blocks} blocks")

    @property
    def label(self) -> str:
        """How a test names this chain: ``chain.l1`` or ``chain.l2``."""
        return self.name.lower()


class Chains:
    """The ``chain`` fixture: ``chain.l1`` and, where the test has a rollup, ``chain.l2``."""

    def __init__(self, l1: ChainControl, l2: Optional[ChainControl] = None) -> None:
        self.l1, self._l2 = l1, l2

    @property
    def l2(self) -> ChainControl:
        if self._l2 is None:
            raise AttributeError("chain.l2: this test has no rollup (ask for the rollup fixture)")
        return self._l2
