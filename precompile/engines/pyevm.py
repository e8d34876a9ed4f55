"""The reference engine: py-evm, running the fork's VM over a database holding only the witness."""

from typing import Mapping, Sequence, Tuple

from eth.abc import BlockAPI, BlockHeaderAPI, ReceiptAPI
from eth.consensus.context import ConsensusContext
from eth.constants import GENESIS_PARENT_HASH
from eth.db.atomic import AtomicDB
from eth.db.backends.memory import MemoryDB
from eth.db.chain import ChainDB
from eth.exceptions import HeaderNotFound
from eth.vm.chain_context import ChainContext

from . import Engine, ExecutionOutcome, non_empty_requests


class MissingWitnessHeader(Exception):
    """Execution needed an ancestor header the witness does not carry."""


class WitnessChainDB(ChainDB):
    """
    A chain database over the witness alone. Asking for an ancestor header the
    witness lacks is an error, never an empty answer, so BLOCKHASH cannot be
    made to return zero by leaving headers out.
    """

    def __init__(self, db: AtomicDB, headers: Sequence[BlockHeaderAPI]) -> None:
        super().__init__(db)
        self._headers = {header.hash: header for header in headers}

    def get_block_header_by_hash(self, block_hash: bytes) -> BlockHeaderAPI:
        try:
            return self._headers[block_hash]
        except KeyError:
            if block_hash == GENESIS_PARENT_HASH:
                raise HeaderNotFound("the genesis block has no parent") from None
            raise MissingWitnessHeader(f"header {block_hash.hex()} is not in the witness") from None


class PyEvmEngine(Engine):
    name = "pyevm"

    def execute(
        self,
        vm_class: type,
        block: BlockAPI,
        headers: Sequence[BlockHeaderAPI],
        witness_entries: Mapping[bytes, bytes],
        chain_id: int,
    ) -> ExecutionOutcome:
        return self.execute_with_receipts(
            vm_class, block, headers, witness_entries, chain_id, with_receipts=False
        )[0]

    def execute_with_receipts(
        self,
        vm_class: type,
        block: BlockAPI,
        headers: Sequence[BlockHeaderAPI],
        witness_entries: Mapping[bytes, bytes],
        chain_id: int,
        with_receipts: bool = True,
    ) -> Tuple[ExecutionOutcome, Tuple[ReceiptAPI, ...]]:
        """
        ``execute``'s outcome and each transaction's receipt, in block order:
        what a diagnosis compares transaction by transaction (EXECUTE needs
        only the roots, so ``execute`` leaves the receipts undecoded).
        """
        vm = witness_vm(vm_class, block, headers, witness_entries, chain_id)
        imported = vm.import_block(block).block
        executed = imported.header
        outcome = ExecutionOutcome(
            gas_used=executed.gas_used,
            receipts_root=executed.receipt_root,
            logs_bloom=executed.bloom,
            state_root=executed.state_root,
            blob_gas_used=executed.blob_gas_used,
            requests=non_empty_requests(vm.block_requests),
        )
        receipts = tuple(imported.get_receipts(vm.chaindb)) if with_receipts else ()
        return outcome, receipts


def witness_vm(
    vm_class: type,
    block: BlockAPI,
    headers: Sequence[BlockHeaderAPI],
    witness_entries: Mapping[bytes, bytes],
    chain_id: int,
):
    """A VM for ``block`` on its parent's state, over a database holding only the witness."""
    db = AtomicDB(MemoryDB(dict(witness_entries)))
    parent = headers[-1]
    base_header = vm_class.create_header_from_parent(parent).copy(gas_used=block.header.gas_used)
    return vm_class(
        header=base_header,
        chaindb=WitnessChainDB(db, headers),
        chain_context=ChainContext(chain_id),
        consensus_context=ConsensusContext(db),
    )
