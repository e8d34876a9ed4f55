"""
Block building: the next block of a chain from a list of transactions.

py-evm's mining path skips the Prague system calls and requests, so a block
built that way does not import. This builds the block by running it the way
import does (the header fields a proposer chooses, everything else computed)
and persists the result.
"""

from typing import NamedTuple, Optional, Sequence, Tuple

from eth.abc import BlockAPI, ChainAPI, ReceiptAPI, SignedTransactionAPI, StateAPI
from eth.db.atomic import AtomicDB
from eth.db.batch import BatchDB

from .accel import receipts_of

# Seconds between blocks when the caller does not choose a timestamp.
DEFAULT_BLOCK_TIME = 12


class BuiltBlock(NamedTuple):
    block: BlockAPI
    # The state the block ended in (readable at its state root).
    state: StateAPI
    receipts: Tuple[ReceiptAPI, ...]


def scratch_chain(chain: ChainAPI) -> ChainAPI:
    """``chain`` over a write buffer of its database: blocks run on it leave ``chain`` alone."""
    return type(chain)(AtomicDB(BatchDB(chain.chaindb.db)))


def build_block(chain: ChainAPI, transactions: Sequence[SignedTransactionAPI], **header_fields):
    """
    Execute ``transactions`` on the head of ``chain``, persist and return the
    block (``run_block`` names the header fields it takes).
    """
    return build_block_and_state(chain, transactions, **header_fields).block


def build_block_and_state(
    chain: ChainAPI, transactions: Sequence[SignedTransactionAPI], **header_fields
) -> BuiltBlock:
    """
    Execute ``transactions`` on the head of ``chain``, persist the block and
    return it with the state it ended in and its receipts (``run_block``
    names the header fields it takes).
    """
    built = run_block(chain, transactions, **header_fields)
    chain.chaindb.persist_block(built.block)
    return built


def run_block(
    chain: ChainAPI,
    transactions: Sequence[SignedTransactionAPI],
    timestamp: Optional[int] = None,
    coinbase: bytes = b"\x00" * 20,
    prev_randao: bytes = b"\x00" * 32,
    parent_beacon_block_root: bytes = b"\x00" * 32,
    extra_data: bytes = b"",
    gas_limit: Optional[int] = None,
    parent_state_root: Optional[bytes] = None,
    base_fee_per_gas: Optional[int] = None,
) -> BuiltBlock:
    """
    The next block of ``chain`` with ``transactions``, run and not persisted.
    The gas limit stays the parent's unless given, as on a devnet.
    ``parent_state_root`` starts from another state than the parent header's
    (a devnet's edited state); ``base_fee_per_gas`` replaces EIP-1559's (a
    devnet's control, which its chain's rules must then allow).
    """
    parent = chain.get_canonical_head()
    base = chain.create_header_from_parent(parent)
    if parent_state_root is not None:
        base = base.copy(state_root=parent_state_root)
    if base_fee_per_gas is not None:
        base = base.copy(base_fee_per_gas=base_fee_per_gas)
    vm = chain.get_vm(base)
    header = vm.get_header().copy(
        timestamp=parent.timestamp + DEFAULT_BLOCK_TIME if timestamp is None else timestamp,
        coinbase=coinbase,
        mix_hash=prev_randao,
        parent_beacon_block_root=parent_beacon_block_root,
        extra_data=extra_data,
        gas_limit=parent.gas_limit if gas_limit is None else gas_limit,
    )
    template = vm.get_block_class()(header=header, transactions=list(transactions))
    block = vm.import_block(template).block
    return BuiltBlock(block, vm.state, receipts_of(vm, block))


def first_failing_transaction(
    chain: ChainAPI, transactions: Sequence[SignedTransactionAPI], **header_fields
) -> Optional[Tuple[int, Exception]]:
    """
    The index of the first of ``transactions`` a block cannot hold where it
    stands, and why; None if they all fit. A transaction that fails makes
    every longer run of them fail too, so the shortest failing run is found by
    halving (each try runs a block without persisting it).
    """
    if not transactions:
        return None

    def failure(count: int) -> Optional[Exception]:
        try:
            run_block(chain, transactions[:count], **header_fields)
        except Exception as error:  # whatever refuses the block names the transaction
            return error
        return None

    fits, fails = 0, len(transactions)  # the first ``fits`` run; the first ``fails`` may not
    error = None
    while fails - fits > 1:
        middle = (fits + fails) // 2
        refused = failure(middle)
        if refused is None:
            fits = middle
        else:
            fails, error = middle, refused
    if error is None:
        error = failure(fails)
    return None if error is None else (fails - 1, error)
