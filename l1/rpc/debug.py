"""The ``debug_`` namespace: a block's execution witness and a transaction's trace."""

from typing import Any, Dict, Optional

from ..tracing import TracingOptionError
from .errors import invalid_params
from .params import BLOCK, BYTES32, OBJECT, BlockTag, Param, method


def hex_list(items) -> list:
    return ["0x" + bytes(item).hex() for item in items]


class DebugNamespace:
    def __init__(self, devnet) -> None:
        self.devnet = devnet

    @method(Param("block", BLOCK))
    def debug_executionWitness(self, block: BlockTag) -> Dict[str, Any]:
        """The witness of a block in geth's and reth's JSON shape."""
        number = self.devnet.block_number(block)
        if number == 0:
            raise invalid_params("the genesis block has no witness")
        witness = self.devnet.execution_witness(number)
        return {
            "state": hex_list(witness.state),
            "codes": hex_list(witness.codes),
            "keys": [],
            "headers": hex_list(witness.headers),
        }

    @method(Param("hash", BYTES32), Param("options", OBJECT, None))
    def debug_traceTransaction(
        self, transaction_hash: bytes, options: Optional[Dict[str, Any]]
    ) -> Dict[str, Any]:
        """geth's default struct-logger trace of a mined transaction (anvil's shape)."""
        try:
            trace = self.devnet.trace_transaction(transaction_hash, options)
        except TracingOptionError as error:
            raise invalid_params(str(error)) from error
        if trace is None:
            raise invalid_params(f"transaction 0x{transaction_hash.hex()} is not in a block")
        return trace
