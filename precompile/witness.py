"""
Witness host: record what a block's execution reads from a full-state chain.

The block runs against its parent's state through a database that reads
through to the chain's and remembers every pre-state entry it was asked for:
trie nodes on every path execution walks (absence proofs included), the nodes
a post-state-root computation needs to restructure the trie (siblings of
collapsed branches), bytecodes, and the ancestor headers BLOCKHASH reached.
Nothing is written to the chain. The result is the content of geth's and
reth's ``debug_executionWitness``.
"""

from dataclasses import dataclass
from typing import Dict, Iterator, Optional, Sequence, Set, Tuple

import rlp
from eth._utils.rlp import validate_imported_block_unchanged
from eth.abc import AtomicDatabaseAPI, BlockAPI, BlockHeaderAPI, ChainAPI
from eth.constants import SYSTEM_ADDRESS
from eth.db.atomic import AtomicDB
from eth.db.backends.base import BaseDB
from eth.db.chain import ChainDB
from eth.rlp.accounts import Account
from eth.vm.chain_context import ChainContext
from eth_hash.auto import keccak
from trie import HexaryTrie

from .constants import MAX_WITNESS_HEADERS
from .payload import block_to_new_payload_request
from .signatures import recover_public_key
from .spec_reads import spec_reading
from .ssz import ChainConfig, ExecutionWitness, StatelessInput

# What a prover supplies for a transaction whose signature has no key, so
# that the guest, which checks keys against signatures, rejects the block.
UNRECOVERABLE_PUBLIC_KEY = b"\x00" * 64


class RecordingDB(BaseDB):
    """
    A copy-on-write view of ``pre``: writes stay here, and every key read from
    ``pre`` is remembered with its value.
    """

    def __init__(self, pre: AtomicDatabaseAPI) -> None:
        self._pre = pre
        self._writes: Dict[bytes, bytes] = {}
        self._deleted: Set[bytes] = set()
        self.reads: Dict[bytes, bytes] = {}

    @property
    def writes(self) -> Dict[bytes, bytes]:
        return dict(self._writes)

    def __getitem__(self, key: bytes) -> bytes:
        if key in self._writes:
            return self._writes[key]
        if key in self._deleted:
            raise KeyError(key)
        value = self._pre[key]
        self.reads[key] = value
        return value

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self._writes[key] = value
        self._deleted.discard(key)

    def __delitem__(self, key: bytes) -> None:
        if key not in self._writes and key not in self._pre:
            raise KeyError(key)
        self._writes.pop(key, None)
        self._deleted.add(key)

    def _exists(self, key: bytes) -> bool:
        try:
            self[key]
        except KeyError:
            return False
        return True


@dataclass
class BlockExecution:
    """What running a block on the host produced."""

    witness: ExecutionWitness
    # EIP-7685 requests the execution produced; empty before Prague.
    requests: Tuple[bytes, ...]
    # Why the block is invalid on the full-state host, or None if it is valid.
    error: Optional[Exception]
    # The executed block and the database entries its execution wrote.
    block: Optional[BlockAPI] = None
    writes: Optional[Dict[bytes, bytes]] = None

    def persist(self, chain: ChainAPI) -> None:
        """
        Add the executed block to ``chain`` without running it again: its
        state entries, then the block itself (what ``Chain.import_block`` does
        after execution).
        """
        if self.error is not None:
            raise ValueError(f"cannot persist an invalid block: {self.error}")
        with chain.chaindb.db.atomic_batch() as batch:
            for key, value in self.writes.items():
                batch[key] = value
        chain.chaindb.persist_block(self.block)


def replay_vm(
    chain: ChainAPI,
    block: BlockAPI,
    db: BaseDB,
    vm_class: Optional[type] = None,
    pre_state_root: Optional[bytes] = None,
):
    """
    A VM of ``chain`` (or ``vm_class``) set to run ``block`` on its parent
    over ``db`` (a view of the chain's database that keeps writes to itself),
    from ``pre_state_root`` where the block ran on a state no header commits
    to (a devnet's edits of its head), else from the parent's state.
    """
    parent = chain.get_block_header_by_hash(block.header.parent_hash)
    base_header = chain.create_header_from_parent(parent).copy(gas_used=block.header.gas_used)
    if pre_state_root is not None:
        base_header = base_header.copy(state_root=pre_state_root)
    vm_class = vm_class or chain.get_vm_class(base_header)
    return vm_class(
        header=base_header,
        chaindb=ChainDB(AtomicDB(db)),
        chain_context=ChainContext(chain.chain_id),
        consensus_context=chain.consensus_context,
    )


def execute_with_witness(chain: ChainAPI, block: BlockAPI) -> BlockExecution:
    """
    Run ``block`` on top of its parent in ``chain`` and record its witness.

    An invalid block still yields the witness of what it read before failing,
    so a stateless verifier can be asked about it too.
    """
    parent = chain.get_block_header_by_hash(block.header.parent_hash)
    recording = RecordingDB(chain.chaindb.db)
    # The reads the specification makes that py-evm skips, so every engine can judge it.
    host_rules = spec_reading(chain.get_vm_class(block.header))
    vm = replay_vm(chain, block, recording, host_rules)
    error = executed = None
    try:
        executed = vm.import_block(block).block
        validate_imported_block_unchanged(executed, block)
    except Exception as failure:  # an invalid block fails in many ways
        error = failure
    read_system_caller(recording, parent.state_root)
    witness = witness_from_reads(recording.reads, ancestors(chain, parent))
    return BlockExecution(witness, vm.block_requests, error, executed, recording.writes)


def read_system_caller(db: BaseDB, state_root: bytes) -> None:
    """
    Walk the pre-state trie to the system address's account through ``db``,
    so the witness proves it (present or absent). py-evm's system calls never
    load their caller, but engines that run them as ordinary messages (revm)
    read its nonce and balance, and could not judge a block without it.
    """
    HexaryTrie(db, state_root).get(keccak(SYSTEM_ADDRESS))


def prove_block(
    chain: ChainAPI, block: BlockAPI, chain_config: ChainConfig
) -> Tuple[StatelessInput, "BlockExecution"]:
    """The ``StatelessInput`` for ``block`` on its parent in ``chain``, and the host's run."""
    execution = execute_with_witness(chain, block)
    stateless_input = StatelessInput(
        new_payload_request=block_to_new_payload_request(block, execution.requests),
        witness=execution.witness,
        chain_config=chain_config,
        public_keys=[signer_public_key(tx) for tx in block.transactions],
    )
    return stateless_input, execution


def signer_public_key(transaction) -> bytes:
    """The public key that signed ``transaction``, as a prover supplies it."""
    try:
        return recover_public_key(transaction)
    except Exception:  # an invalid signature has no key
        return UNRECOVERABLE_PUBLIC_KEY


def ancestors(chain: ChainAPI, parent: BlockHeaderAPI) -> Iterator[BlockHeaderAPI]:
    """``parent`` and its ancestors, newest first, as far as BLOCKHASH reaches."""
    header = parent
    for _ in range(MAX_WITNESS_HEADERS):
        yield header
        if header.block_number == 0:
            return
        header = chain.get_block_header_by_hash(header.parent_hash)


def witness_from_reads(
    reads: Dict[bytes, bytes], ancestry: Iterator[BlockHeaderAPI]
) -> ExecutionWitness:
    """
    Sort recorded reads into trie nodes, bytecodes and headers.

    Headers run from the oldest ancestor read up to the parent (always
    included), so the guest can check them as one contiguous chain.
    """
    ancestry = list(ancestry)
    oldest_read = max(
        (depth for depth, header in enumerate(ancestry) if header.hash in reads),
        default=0,
    )
    headers = [rlp.encode(header) for header in reversed(ancestry[: oldest_read + 1])]
    header_hashes = {header.hash for header in ancestry}

    entries = {key: value for key, value in reads.items() if key not in header_hashes}
    # Only entries stored under their own keccak are state; others are chain indexes.
    entries = {key: value for key, value in entries.items() if keccak(value) == key}
    code_hashes = code_hashes_of_accounts(entries.values())
    codes = sorted(value for key, value in entries.items() if key in code_hashes)
    nodes = sorted(value for key, value in entries.items() if key not in code_hashes)
    return ExecutionWitness(state=nodes, codes=codes, headers=headers)


def code_hashes_of_accounts(nodes: Sequence[bytes]) -> Set[bytes]:
    """The code hashes held by the account leaves among ``nodes``."""
    code_hashes = set()
    for node in nodes:
        leaf_value = _leaf_value(node)
        if leaf_value is None:
            continue
        try:
            account = rlp.decode(leaf_value, sedes=Account)
        except Exception:  # a storage leaf or not a leaf at all
            continue
        code_hashes.add(account.code_hash)
    return code_hashes


def _leaf_value(node: bytes) -> Optional[bytes]:
    try:
        items = rlp.decode(node)
    except Exception:  # bytecode that is not RLP
        return None
    is_leaf = (
        isinstance(items, list)
        and len(items) == 2
        and isinstance(items[0], bytes)
        and len(items[0]) > 0
        and items[0][0] >> 4 in (2, 3)  # hex-prefix flag of a leaf path
        and isinstance(items[1], bytes)
    )
    return items[1] if is_leaf else None
