"""
Block building: the next block of a chain from a list of transactions.

py-evm's mining path skips the Prague system calls and requests, so a block
built that way does not import. This builds the block by running it the way
import does (the header fields a proposer chooses, everything else computed)
and persists the result.
"""

from typing import NamedTuple, Optional, Sequence, Tuple

from eth.abc import BlockAPI, ChainAPI, ReceiptAPI, SignedTransactionAPI, StateAPI

from .accel import receipts_of

# Seconds between blocks when the caller does not choose a timestamp.
DEFAULT_BLOCK_TIME = 12


class BuiltBlock(NamedTuple):
    block: BlockAPI
    # The state the block ended in (readable at its state root).
    state: StateAPI
    receipts: Tuple[ReceiptAPI, ...]


def build_block(chain: ChainAPI, transactions: Sequence[SignedTransactionAPI], **header_fields):
    """
    Execute ``transactions`` on the head of ``chain``, persist and return the
    block (``build_block_and_state`` names the header fields it takes).
    """
    return build_block_and_state(chain, transactions, **header_fields).block


def build_block_and_state(
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
    Execute ``transactions`` on the head of ``chain``, persist the block and
    return it with the state it ended in and its receipts.
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
    chain.chaindb.persist_block(block)
    return BuiltBlock(block, vm.state, receipts_of(vm, block))
