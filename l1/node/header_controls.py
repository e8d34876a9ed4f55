"""
anvil's controls of the blocks mined next: the fee recipient they name
(``anvil_setCoinbase``) and the next one's base fee
(``anvil_setNextBlockBaseFeePerGas``); ``evm_setBlockGasLimit`` changes the
devnet's configured gas limit. A block built under them need not follow from
its parent by EIP-1559's rules, so the chain of a devnet that allows them
takes its own blocks' gas limit and base fee as built; another node would
refuse such blocks, as it would anvil's.
"""

from dataclasses import dataclass
from typing import Any, Dict, Optional

from eth.constants import GAS_LIMIT_MAXIMUM, GAS_LIMIT_MINIMUM, UINT_256_MAX

from ..interface import InvalidArgument


@dataclass
class HeaderControls:
    """What the next blocks' headers take from the controls rather than from the rules."""

    coinbase: bytes = bytes(20)
    # The next block's base fee; None: EIP-1559's from its parent.
    base_fee: Optional[int] = None

    def set_next_base_fee(self, base_fee: int) -> None:
        """The next block's base fee: any a header can hold (a uint256)."""
        if base_fee > UINT_256_MAX:
            raise InvalidArgument(f"a base fee must fit in 256 bits, got {base_fee}")
        self.base_fee = base_fee

    def header_fields(self) -> Dict[str, Any]:
        """The next block's header fields the controls set (as ``run_block`` takes them)."""
        return {"coinbase": self.coinbase, "base_fee_per_gas": self.base_fee}

    def block_mined(self) -> None:
        """A base fee set for the next block was for that block only."""
        self.base_fee = None


def check_gas_limit(gas_limit: int) -> None:
    """The yellow paper's bounds, which a header must keep whatever its parent's limit."""
    if not GAS_LIMIT_MINIMUM <= gas_limit <= GAS_LIMIT_MAXIMUM:
        raise InvalidArgument(
            f"a block gas limit must be from {GAS_LIMIT_MINIMUM} to {GAS_LIMIT_MAXIMUM},"
            f" got {gas_limit}"
        )


def leave_gas_to_the_builder(cls, header, parent_header) -> None:
    """No check of the gas limit against the parent's, nor of the base fee against EIP-1559's."""


def with_header_controls(vm_class: type) -> type:
    """
    ``vm_class`` whose header check leaves a block's gas limit and base fee
    to its builder (what the controls set, else what the rules compute), as
    anvil mines; everything else is checked as the fork checks it.
    """
    return type(
        vm_class.__name__, (vm_class,), {"validate_gas": classmethod(leave_gas_to_the_builder)}
    )
