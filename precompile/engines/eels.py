"""
The spec engine: ethereum-execution (EELS), the executable specification,
as an oracle the other engines must agree with.

EELS keeps state in dict-backed tries. Here those dicts read through to the
witness on first use (``WitnessAccounts``, ``WitnessStorageTries``,
``WitnessSlots``) and remember deletions, so EELS runs unchanged on exactly
the pre-state the witness proves; its changes are then written into the
witness trie for the post-state root.
"""

import importlib
from typing import Dict, Mapping, Optional, Sequence, Set

from eth.abc import BlockAPI, BlockHeaderAPI
from eth.constants import BLANK_ROOT_HASH
from eth_hash.auto import keccak
from ethereum_rlp import rlp as eels_rlp
from ethereum_types.bytes import Bytes20, Bytes32
from ethereum_types.numeric import U64, U256, Uint
from trie.exceptions import MissingTrieNode

from ..witness_state import WitnessTries
from . import Engine, EngineDeclined, ExecutionOutcome, non_empty_requests

# The EELS fork module for each py-evm fork name this project runs.
EELS_FORKS = {"cancun": "ethereum.forks.cancun", "prague": "ethereum.forks.prague"}


class Deletable(dict):
    """A dict that resolves missing keys from the witness and remembers deletions."""

    def __init__(self, resolve, *args, deleted: Optional[Set] = None) -> None:
        super().__init__(*args)
        self._resolve = resolve
        self.deleted: Set = set() if deleted is None else deleted

    def _load(self, key):
        if dict.__contains__(self, key) or key in self.deleted:
            return
        value = self._resolve(key)
        if value is not None:
            dict.__setitem__(self, key, value)

    def get(self, key, default=None):
        self._load(key)
        return dict.get(self, key, default)

    def __getitem__(self, key):
        self._load(key)
        return dict.__getitem__(self, key)

    def __contains__(self, key) -> bool:
        self._load(key)
        return dict.__contains__(self, key)

    def __setitem__(self, key, value) -> None:
        self.deleted.discard(key)
        dict.__setitem__(self, key, value)

    def __delitem__(self, key) -> None:
        self._load(key)
        dict.__delitem__(self, key)
        self.deleted.add(key)

    def __copy__(self):
        return type(self)(self._resolve, self, deleted=set(self.deleted))

    def pop(self, *args):
        raise NotImplementedError("EELS state never pops")


class WitnessSlots(Deletable):
    """
    One account's storage slots. EELS drops a storage trie whose dict compares
    equal to ``{}`` (it asks after every write of a zero); with slots loaded
    lazily that only means nothing is loaded, so emptiness is decided from the
    pre-state: not empty while it held more slots than were deleted, else by
    the post-storage root. The root alone would need, after a deletion, nodes
    no execution reads (a collapsed branch's other child) and the witness lacks.
    """

    def __init__(self, resolve, *args, deleted=None, root_after=None, slots_at_least=None) -> None:
        super().__init__(resolve, *args, deleted=deleted)
        self._root_after = root_after
        self._slots_at_least = slots_at_least

    def __copy__(self):
        return type(self)(
            self._resolve,
            self,
            deleted=set(self.deleted),
            root_after=self._root_after,
            slots_at_least=self._slots_at_least,
        )

    def __eq__(self, other) -> bool:
        if not dict.__eq__(self, other) or other:
            return False
        # Nothing non-zero is loaded or written: empty once every pre-state slot is deleted.
        if self._slots_at_least() > len(self.deleted):
            return False
        return self._root_after(self) == BLANK_ROOT_HASH

    __hash__ = None


class SnapshotList(list):
    """
    EELS snapshots storage tries as a plain dict comprehension; re-wrap it so
    a snapshot (and a rollback to it) still reads through to the witness.
    """

    def __init__(self, state) -> None:
        super().__init__()
        self._state = state

    def append(self, snapshot) -> None:
        main_trie, storage_tries = snapshot
        current = self._state._storage_tries
        rewrapped = Deletable(current._resolve, storage_tries, deleted=set(current.deleted))
        super().append((main_trie, rewrapped))


class EelsEngine(Engine):
    name = "eels"

    def execute(
        self,
        vm_class: type,
        block: BlockAPI,
        headers: Sequence[BlockHeaderAPI],
        witness_entries: Mapping[bytes, bytes],
        chain_id: int,
    ) -> ExecutionOutcome:
        try:
            spec = EelsFork(EELS_FORKS[vm_class.fork])
        except KeyError:
            raise EngineDeclined("eels: no EELS module for this fork", vm_class.fork) from None
        tries = WitnessTries(witness_entries, headers[-1].state_root)
        state = spec.witness_state(tries)
        header = block.header
        block_env = spec.vm.BlockEnvironment(
            chain_id=U64(chain_id),
            state=state,
            block_gas_limit=Uint(header.gas_limit),
            block_hashes=[Bytes32(h.hash) for h in headers],
            coinbase=Bytes20(header.coinbase),
            number=Uint(header.block_number),
            base_fee_per_gas=Uint(header.base_fee_per_gas),
            time=U256(header.timestamp),
            prev_randao=Bytes32(header.mix_hash),
            excess_blob_gas=U64(header.excess_blob_gas),
            parent_beacon_block_root=Bytes32(header.parent_beacon_block_root),
        )
        # A trie node the specification reads and the witness lacks makes the
        # input invalid (MissingTrieNode is one of the guest's invalid-block
        # errors): the host records every read a specification execution makes,
        # so a complete witness never lacks one.
        output = spec.fork.apply_body(
            block_env=block_env,
            transactions=tuple(spec.transaction(tx.encode()) for tx in block.transactions),
            withdrawals=tuple(spec.withdrawal(w) for w in block.withdrawals),
        )
        state_root = spec.post_state_root(state, tries)
        requests = getattr(output, "requests", ())
        return ExecutionOutcome(
            gas_used=int(output.block_gas_used),
            receipts_root=bytes(spec.trie.root(output.receipts_trie)),
            logs_bloom=int.from_bytes(spec.bloom.logs_bloom(output.block_logs), "big"),
            state_root=state_root,
            blob_gas_used=int(output.blob_gas_used),
            requests=non_empty_requests(requests),
        )


class EelsFork:
    """One EELS fork's modules, and the conversions into and out of its types."""

    def __init__(self, module: str) -> None:
        self.fork = importlib.import_module(f"{module}.fork")
        self.vm = importlib.import_module(f"{module}.vm")
        self.state_module = importlib.import_module(f"{module}.state")
        self.trie = importlib.import_module(f"{module}.trie")
        self.bloom = importlib.import_module(f"{module}.bloom")
        self.blocks = importlib.import_module(f"{module}.blocks")
        self.transactions = importlib.import_module(f"{module}.transactions")
        self.Account = importlib.import_module(f"{module}.fork_types").Account
        # address -> storage root in the pre-state, for accounts read from the witness.
        self.pre_storage_roots: Dict[bytes, bytes] = {}

    def transaction(self, encoded: bytes):
        """EELS takes legacy transactions decoded and typed ones as bytes."""
        if encoded[0] >= 0xC0:
            return eels_rlp.decode_to(self.transactions.LegacyTransaction, encoded)
        return encoded

    def withdrawal(self, withdrawal):
        return self.blocks.Withdrawal(
            index=U64(withdrawal.index),
            validator_index=U64(withdrawal.validator_index),
            address=Bytes20(withdrawal.address),
            amount=U256(withdrawal.amount),
        )

    def witness_state(self, tries: WitnessTries):
        state = self.state_module.State()
        state._main_trie = self.trie.Trie(
            secured=True, default=None, _data=Deletable(lambda a: self._account(tries, a))
        )
        state._storage_tries = Deletable(lambda a: self._storage_trie(tries, a))
        state._snapshots = SnapshotList(state)
        return state

    def _account(self, tries: WitnessTries, address: bytes):
        account = tries.account(bytes(address))
        if account is None:
            return None
        code = tries.code(account.code_hash)
        if code is None:
            raise EngineDeclined(
                "eels: the witness lacks the code of an account EELS loads (py-evm read only "
                "its balance or nonce)",
                f"0x{bytes(address).hex()}",
            )
        self.pre_storage_roots[bytes(address)] = account.storage_root
        return self.Account(nonce=Uint(account.nonce), balance=U256(account.balance), code=code)

    def _storage_trie(self, tries: WitnessTries, address: bytes):
        account = tries.account(bytes(address))
        if account is None or account.storage_root == BLANK_ROOT_HASH:
            return None
        root = account.storage_root
        slots = WitnessSlots(
            lambda key: self._slot(tries, root, key),
            root_after=lambda data: self._slots_root(tries, root, data),
            slots_at_least=lambda: tries.storage_slots_at_least(root),
        )
        return self.trie.Trie(secured=True, default=U256(0), _data=slots)

    @staticmethod
    def _slot(tries: WitnessTries, storage_root: bytes, key: bytes):
        value = tries.storage(storage_root, int.from_bytes(key, "big"))
        return U256(value) if value else None

    def post_state_root(self, state, tries: WitnessTries) -> bytes:
        """Write every account EELS read or changed into the witness trie."""
        accounts = dict.items(state._main_trie._data)
        deleted = state._main_trie._data.deleted
        storage_tries = state._storage_tries
        updates = {bytes(address): None for address in deleted}
        for address, account in accounts:
            address = bytes(address)
            updates[address] = (
                int(account.nonce),
                int(account.balance),
                self._storage_root(address, storage_tries, tries),
                keccak(bytes(account.code)),
            )
        return tries.state_root_after(updates)

    def _storage_root(self, address: bytes, storage_tries, tries: WitnessTries) -> bytes:
        pre_root = self.pre_storage_roots.get(address, BLANK_ROOT_HASH)
        if dict.__contains__(storage_tries, address):
            slots = dict.__getitem__(storage_tries, address)._data
            if isinstance(slots, WitnessSlots):
                return self._slots_root(tries, pre_root, slots)
            return self._slots_root(tries, BLANK_ROOT_HASH, slots)
        if address in storage_tries.deleted:
            return BLANK_ROOT_HASH
        return pre_root

    @staticmethod
    def _slots_root(tries: WitnessTries, root: bytes, slots: dict) -> bytes:
        """The storage root after ``slots``' writes and deletions, from ``root``."""
        writes = {int.from_bytes(k, "big"): int(v) for k, v in dict.items(slots)}
        deletes = [int.from_bytes(k, "big") for k in getattr(slots, "deleted", ())]
        try:
            return tries.storage_root_after(root, writes, deletes)
        except MissingTrieNode as missing:
            raise EngineDeclined(
                "eels: rebuilding a storage trie mid-block needs a node the witness lacks",
                str(missing),
            ) from missing
