"""
The ``debug_`` namespace: a block's execution witness, and a mined
transaction or a call traced (geth's struct logger or callTracer).
"""

from typing import Any, Dict, Optional

from ..interface import TransactionRequest
from .errors import invalid_params
from .params import BLOCK, BLOCK_ID, BYTES32, CALL, OBJECT, BlockTag, Param, method

OPTIONS_PARAM = Param("options", OBJECT, None)


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

    @method(Param("hash", BYTES32), OPTIONS_PARAM)
    def debug_traceTransaction(
        self, transaction_hash: bytes, options: Optional[Dict[str, Any]]
    ) -> Dict[str, Any]:
        """A mined transaction traced as geth traces it (anvil's shape)."""
        trace = self.devnet.trace_transaction(transaction_hash, options)
        if trace is None:
            raise invalid_params(f"transaction 0x{transaction_hash.hex()} is not in a block")
        return trace

    @method(Param("call", CALL), Param("block", BLOCK_ID, "latest"), OPTIONS_PARAM)
    def debug_traceCall(
        self, call: TransactionRequest, block: BlockTag, options: Optional[Dict[str, Any]]
    ) -> Dict[str, Any]:
        """
        A call traced as debug_traceTransaction traces, in a block's state
        ("pending": after the transactions the next block would hold).
        """
        if block == "pending":
            return self.devnet.trace_call(call, None, options, pending=True)
        return self.devnet.trace_call(call, self.devnet.call_block(block), options)
