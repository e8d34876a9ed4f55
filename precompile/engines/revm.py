"""
The fast engine: revm, through pyrevm.

pyrevm 0.3.7 runs a message on revm's interpreter but leaves the rest of a
transaction to its caller: nonce, fees, the EIP-7623 calldata floor; this
module does those as the EVM does. Each message runs on a fresh interpreter
that holds the block's changes so far and forks, for everything else, from
a witness server (``witness_server``): every account, slot, code and block
hash revm reads is served from the witness there and recorded, also in
frames that revert. After the block, any read the witness did not cover
makes the engine decline, so the reference engine decides; revm never runs
on a value the witness did not prove. revm's journal gives what each message
changed, and the changes are written into the witness trie for the post-state
root.

What pyrevm 0.3.7 cannot run is declined, never guessed: EIP-7702 and blob
transactions, withdrawals, the BLS12-381 precompiles, creations whose
initcode could observe the gas price (pyrevm deploys at price 0), and
senders too poor for pyrevm's second fee check (the fee is taken before revm
runs, so BALANCE sees it gone, and revm checks the balance against it again).
"""

import re
from dataclasses import dataclass, field
from functools import reduce
from operator import or_
from typing import Dict, List, Mapping, Optional, Sequence, Set, Tuple

from eth.abc import BlockAPI, BlockHeaderAPI
from eth.constants import BLANK_ROOT_HASH, EMPTY_SHA3, SYSTEM_ADDRESS, SYSTEM_MESSAGE_GAS
from eth.db.trie import make_trie_root_and_nodes
from eth.vm.forks.cancun.constants import BEACON_ROOTS_ADDRESS, BLOB_TX_TYPE
from eth.vm.forks.prague.constants import (
    CONSOLIDATION_REQUEST_PREDEPLOY_ADDRESS,
    CONSOLIDATION_REQUEST_TYPE,
    DEPOSIT_CONTRACT_ADDRESS,
    DEPOSIT_EVENT_SIGNATURE_HASH,
    DEPOSIT_REQUEST_TYPE,
    HISTORY_STORAGE_ADDRESS,
    SET_CODE_TRANSACTION_TYPE,
    STANDARD_TOKEN_COST,
    TOTAL_COST_FLOOR_PER_TOKEN,
    WITHDRAWAL_REQUEST_PREDEPLOY_ADDRESS,
    WITHDRAWAL_REQUEST_TYPE,
)
from eth_hash.auto import keccak
from trie.exceptions import MissingTrieNode

from ..requests import deposit_request_data
from ..witness_state import WitnessTries
from . import (
    Engine,
    EngineDeclined,
    ExecutionOutcome,
    InvalidTransaction,
    is_rust_panic,
    non_empty_requests,
)
from .bytecode import (
    CALL,
    CALLCODE,
    COINBASE,
    CREATE,
    CREATE2,
    DELEGATECALL,
    GASPRICE,
    STATICCALL,
    instructions,
    is_delegation,
)
from .witness_server import MISSING_PRECOMPILES, WitnessServer, unservable_code

# pyrevm spec ids for the forks this engine runs.
SPEC_IDS = {"cancun": "CANCUN", "prague": "PRAGUE"}
GAS_TX = 21_000
# EIP-7623: a zero calldata byte is one token, any other byte this many.
TOKENS_PER_NONZERO_BYTE = 4
# pyrevm 0.3.7 deploys at gas price 0. Initcode with none of these runs alone
# and cannot observe the price; any other creation is declined.
PRICE_REVEALING_IN_INITCODE = {GASPRICE, CREATE, CALL, CALLCODE, DELEGATECALL, CREATE2, STATICCALL}

# One witness server per process, started on first use.
WITNESS_SERVER = WitnessServer()


# EIP-4895 withdrawals are in gwei.
GWEI = 10**9


# What a system contract's code must not hold to run with another coinbase.
SEES_OTHER_CODE_OR_COINBASE = frozenset(
    {COINBASE, CALL, CALLCODE, DELEGATECALL, STATICCALL, CREATE, CREATE2}
)


@dataclass
class CachedAccount:
    nonce: int
    balance: int
    code: bytes
    # The storage root in the pre-state (BLANK for new or wiped accounts).
    storage_root: bytes
    # Slots this block has read on the Python side or written.
    slots: Dict[int, int] = field(default_factory=dict)

    def is_empty(self) -> bool:
        """EIP-161: no nonce, no balance and no code (storage is not asked)."""
        return not (self.nonce or self.balance or self.code)


@dataclass
class Touched:
    """An account as revm's journal holds it after a message."""

    balance: int
    nonce: int
    code_hash: bytes
    code: Optional[bytes]
    status: str
    # slot -> value after the message, for the slots it changed
    storage: Dict[int, int]


ACCOUNT = re.compile(
    r"(0x[0-9a-f]{40}): Account \{ info: AccountInfo \{ balance: (\d+), nonce: (\d+), "
    r"code_hash: (0x[0-9a-f]{64}), code: (?:None|Some\(Bytecode \{ bytecode: 0x([0-9a-f]*), "
    r"state: (?:Raw|Checked \{ len: (\d+) \}|Analysed \{ len: (\d+), jump_map: "
    r'JumpMap \{ map: "[0-9a-f]*" \} \}) \}\)) \}, storage: \{(.*?)\}, '
    r"status: AccountStatus\(([^)]*)\) \}"
)
SLOT = re.compile(
    r"(\d+): StorageSlot \{ previous_or_original_value: (\d+), present_value: (\d+) \}"
)


def parse_journal(journal: str) -> Dict[bytes, Touched]:
    """The accounts revm holds after a message, from pyrevm's journal (Rust debug form)."""
    state = journal.split(", transient_storage:", 1)[0]
    touched = {}
    for address, balance, nonce, code_hash, code, checked, analysed, storage, status in (
        ACCOUNT.findall(state)
    ):
        length = checked or analysed
        code_bytes = bytes.fromhex(code)[: int(length)] if length else bytes.fromhex(code)
        # Only the slots the message changed: one read, or written back to what it
        # was, leaves the trie as it is (and the witness need not hold its path).
        slots = {
            int(slot): int(value)
            for slot, original, value in SLOT.findall(storage)
            if value != original
        }
        touched[bytes.fromhex(address[2:])] = Touched(
            int(balance), int(nonce), bytes.fromhex(code_hash[2:]), code_bytes, status, slots
        )
    return touched


def log_entry(log) -> Tuple[bytes, List[int], bytes]:
    """A pyrevm log as py-evm's (address, topics, data) entry."""
    topics = [
        int(t, 16) if isinstance(t, str) else int.from_bytes(bytes(t), "big") for t in log.topics
    ]
    return bytes.fromhex(log.address[2:]), topics, bytes(log.data[1])


def calldata_tokens(data: bytes) -> int:
    """EIP-7623's token count of ``data``."""
    zeros = data.count(0)
    return zeros + (len(data) - zeros) * TOKENS_PER_NONZERO_BYTE


def decline_unservable(code: bytes, address: bytes) -> None:
    reason = unservable_code(code)
    if reason:
        raise EngineDeclined(f"revm: {reason}", address.hex())


def insert_committed(evm, insert, *arguments) -> None:
    """
    Insert pre-state so revm sees it as committed. pyrevm 0.3.7 writes an
    insert into its database only while the account is not yet in revm's
    journal; once it is, the insert becomes a journaled write whose original
    value is zero, and SSTORE gas and refunds come out wrong. Rolling the
    journal back after each insert keeps every one a database write.
    """
    checkpoint = evm.snapshot()
    insert(*arguments)
    evm.revert(checkpoint)


class RevmState:
    """The block's state so far: what Python read from the witness, and every change."""

    def __init__(self, tries: WitnessTries, session: str) -> None:
        self.tries = tries
        self.session = session
        # address -> account, or None when absent (proven, or deleted in this block)
        self.accounts: Dict[bytes, Optional[CachedAccount]] = {}
        self.changed: Set[bytes] = set()
        self.wiped: Set[bytes] = set()

    def account(self, address: bytes) -> Optional[CachedAccount]:
        if address not in self.accounts:
            try:
                proven = self.tries.account(address)
            except MissingTrieNode as missing:
                raise EngineDeclined(
                    "revm: the witness does not cover an account the block reads", address.hex()
                ) from missing
            if proven is None:
                self.accounts[address] = None
            else:
                code = self.tries.code(proven.code_hash)
                if code is None:
                    raise EngineDeclined(
                        "revm: the witness lacks the code of an account the block reads",
                        address.hex(),
                    )
                self.accounts[address] = CachedAccount(
                    proven.nonce, proven.balance, code, proven.storage_root
                )
        return self.accounts[address]

    def load_into(self, evm) -> None:
        from pyrevm import AccountInfo

        for address, account in self.accounts.items():
            if account is None or address in MISSING_PRECOMPILES:
                continue
            decline_unservable(account.code, address)
            name = "0x" + address.hex()
            info = AccountInfo(balance=account.balance, nonce=account.nonce, code=account.code)
            insert_committed(evm, evm.insert_account_info, name, info)
            for slot, value in account.slots.items():
                insert_committed(evm, evm.insert_account_storage, name, slot, value)

    def apply(self, touched: Mapping[bytes, Touched]) -> None:
        """Take revm's post-message values as the current state."""
        for address, after in touched.items():
            if "SelfDestructed" in after.status:
                self._delete(address)
                continue
            before = self.account(address)
            created = "Created" in after.status
            if created and after.code is None:
                raise EngineDeclined("revm: the journal does not show created code", address.hex())
            if created:
                decline_unservable(after.code, address)
            is_empty = after.nonce == 0 and after.balance == 0 and after.code_hash == EMPTY_SHA3
            if before is None:
                if is_empty and not any(after.storage.values()):
                    continue
                before = CachedAccount(0, 0, after.code if created else b"", BLANK_ROOT_HASH)
                self.accounts[address] = before
                self._wipe(address)
            elif created:
                before.code = after.code
                before.storage_root = BLANK_ROOT_HASH
                before.slots = {}
                self._wipe(address)
            was_empty_storage = before.storage_root == BLANK_ROOT_HASH and not any(
                before.slots.values()
            )
            if "Touched" in after.status and is_empty and was_empty_storage:
                self._delete(address)
                continue
            before.balance, before.nonce = after.balance, after.nonce
            before.slots.update(after.storage)
            self.changed.add(address)

    def _wipe(self, address: bytes) -> None:
        if address not in self.wiped:
            self.wiped.add(address)
            WITNESS_SERVER.wipe(self.session, address)

    def delete(self, address: bytes) -> None:
        """The account is gone (deleted in this block)."""
        self._delete(address)

    def _delete(self, address: bytes) -> None:
        self.accounts[address] = None
        self.changed.add(address)
        self._wipe(address)

    def add_balance(self, address: bytes, amount: int) -> None:
        if amount == 0 and self.account(address) is None:
            return
        self._existing(address).balance += amount
        self.changed.add(address)

    def set_nonce(self, address: bytes, nonce: int) -> None:
        """The account's nonce (a sender that paid nothing may not exist yet: it does now)."""
        self._existing(address).nonce = nonce
        self.changed.add(address)

    def _existing(self, address: bytes) -> CachedAccount:
        """The account at ``address``, created empty if there is none."""
        account = self.account(address)
        if account is None:
            account = self.accounts[address] = CachedAccount(0, 0, b"", BLANK_ROOT_HASH)
            self._wipe(address)
        return account

    def post_state_root(self) -> bytes:
        updates = {}
        try:
            for address in self.changed:
                account = self.accounts[address]
                if account is None:
                    updates[address] = None
                    continue
                root = self.tries.storage_root_after(account.storage_root, account.slots, ())
                updates[address] = (account.nonce, account.balance, root, keccak(account.code))
            return self.tries.state_root_after(updates)
        except MissingTrieNode as missing:
            # revm reports slots it touched that the reference never needed (the
            # witness holds what py-evm read): a lack of this witness, not of the block.
            raise EngineDeclined(
                "revm: the witness lacks a trie node revm's post-state needs",
                missing.missing_node_hash.hex(),
            ) from missing


class RevmEngine(Engine):
    name = "revm"

    def warm_up(self) -> None:
        WITNESS_SERVER.start()

    def execute(
        self,
        vm_class: type,
        block: BlockAPI,
        headers: Sequence[BlockHeaderAPI],
        witness_entries: Mapping[bytes, bytes],
        chain_id: int,
    ) -> ExecutionOutcome:
        spec_id = SPEC_IDS.get(vm_class.fork)
        if spec_id is None:
            raise EngineDeclined("revm: no pyrevm spec for this fork", vm_class.fork)
        for transaction in block.transactions:
            if transaction.type_id in (BLOB_TX_TYPE, SET_CODE_TRANSACTION_TYPE):
                raise EngineDeclined(
                    "revm: pyrevm 0.3.7 has no blob or EIP-7702 transactions",
                    str(transaction.type_id),
                )
        pre_state_root = headers[-1].state_root
        block_hashes = {header.block_number: header.hash for header in headers}
        session = WITNESS_SERVER.open(pre_state_root, witness_entries, block_hashes)
        declined = None
        try:
            tries = WitnessTries(witness_entries, pre_state_root)
            run = BlockRun(spec_id, vm_class.fork, block, chain_id, RevmState(tries, session))
            outcome = run.outcome()
        except EngineDeclined as python_side:
            declined = python_side
        finally:
            declines = WITNESS_SERVER.close(session)
        if declines:
            # What revm was refused came first; a decline on the Python side after it
            # (an account revm went on to touch) is its consequence, not the reason.
            reason, detail = declines[0]
            raise EngineDeclined(f"revm: {reason}", detail)
        if declined is not None:
            raise declined
        return outcome


class BlockRun:
    """One block on revm: system calls, transactions, requests, then the roots."""

    def __init__(
        self, spec_id: str, fork: str, block: BlockAPI, chain_id: int, state: RevmState
    ) -> None:
        self.spec_id, self.fork, self.block, self.chain_id = spec_id, fork, block, chain_id
        self.header = block.header
        self.state = state
        self.receipts: List = []
        self.gas_used = 0

    def outcome(self) -> ExecutionOutcome:
        self.system_call(BEACON_ROOTS_ADDRESS, self.header.parent_beacon_block_root)
        if self.fork == "prague":
            self.system_call(HISTORY_STORAGE_ADDRESS, self.header.parent_hash)
        for transaction in self.block.transactions:
            self.apply_transaction(transaction)
        for withdrawal in self.block.withdrawals:
            self.withdraw(withdrawal.address, withdrawal.amount * GWEI)
        requests: Tuple[bytes, ...] = ()
        if self.fork == "prague":
            requests = self.requests()
        return ExecutionOutcome(
            gas_used=self.gas_used,
            receipts_root=make_trie_root_and_nodes(self.receipts)[0],
            # Each receipt already carries the bloom of its logs.
            logs_bloom=reduce(or_, (receipt.bloom for receipt in self.receipts), 0),
            state_root=self.state.post_state_root(),
            blob_gas_used=0,
            requests=non_empty_requests(requests),
        )

    def evm(self, gas_limit: int, coinbase: Optional[bytes] = None):
        from pyrevm import EVM, BlockEnv, CfgEnv, Env

        block_env = BlockEnv(
            number=self.header.block_number,
            coinbase="0x" + (self.header.coinbase if coinbase is None else coinbase).hex(),
            timestamp=self.header.timestamp,
            prevrandao=self.header.mix_hash,
            basefee=self.header.base_fee_per_gas,
            gas_limit=gas_limit,
            excess_blob_gas=self.header.excess_blob_gas,
        )
        env = Env(cfg=CfgEnv(chain_id=self.chain_id), block=block_env)
        return EVM(
            env=env,
            spec_id=self.spec_id,
            fork_url=WITNESS_SERVER.url(self.state.session),
            fork_block=hex(self.header.block_number),
        )

    def run(
        self, caller, to, data, value, gas, gas_price, access_list=(), block_gas=None,
        coinbase=None,
    ):
        """
        Run one message (in a block whose coinbase is ``coinbase`` if given);
        returns (success, gas used, output, logs, touched accounts).
        """
        from pyrevm import TxEnv

        evm = self.evm(block_gas or self.header.gas_limit, coinbase)
        self.state.load_into(evm)
        if access_list:
            evm.set_tx_env(TxEnv(access_list=[("0x" + a.hex(), list(s)) for a, s in access_list]))
        caller_name = "0x" + caller.hex()
        success, output = True, b""
        try:
            if to == b"":
                output = evm.deploy(caller_name, data, value, gas)
            else:
                output = evm.message_call(caller_name, "0x" + to.hex(), data, value, gas, gas_price)
        except RuntimeError as failure:
            text = str(failure)
            if not (text.startswith("Revert") or text.startswith("Halt")):
                raise InvalidTransaction(text) from failure
            success = False
        except BaseException as failure:
            if not is_rust_panic(failure):
                raise
            # e.g. pyrevm 0.3.7's deploy unwrapping a created address revm gave none
            raise EngineDeclined("revm: pyrevm 0.3.7 panicked", str(failure)) from None
        result = evm.result
        logs = [log_entry(log) for log in (result.logs or [])] if success else []
        return success, result.gas_used, output, logs, parse_journal(evm.journal_str)

    def withdraw(self, address: bytes, amount: int) -> None:
        """
        EIP-4895: credit a withdrawal (in wei) after the transactions; an
        account left empty by a zero withdrawal is removed (EIP-161).
        """
        self.state.add_balance(address, amount)
        account = self.state.accounts.get(address)
        if account is not None and account.is_empty():
            self.state.delete(address)

    def system_call(self, address: bytes, data: bytes = b"", checked: bool = False) -> bytes:
        account = self.state.account(address)
        if account is None or not account.code:
            if checked:
                raise InvalidTransaction(f"system contract {address.hex()} has no code")
            return b""
        # revm pays every message's fee to the coinbase, reading it, even a fee
        # of 0; a system call pays none and touches no coinbase, so it runs with
        # the system address as coinbase, where no code it runs could see that.
        if instructions(account.code) & SEES_OTHER_CODE_OR_COINBASE:
            raise EngineDeclined(
                "revm: a system contract that reads COINBASE or runs other code, which"
                " pyrevm 0.3.7 would show the coinbase of its fee-free call", address.hex(),
            )
        # revm charges every message a transaction's intrinsic gas; a system
        # call pays none, so it is added on top of the system call's gas.
        intrinsic = GAS_TX + STANDARD_TOKEN_COST * calldata_tokens(data)
        success, _, output, _, touched = self.run(
            SYSTEM_ADDRESS, address, data, 0, SYSTEM_MESSAGE_GAS + intrinsic, 0,
            block_gas=2 * SYSTEM_MESSAGE_GAS, coinbase=SYSTEM_ADDRESS,
        )
        if checked and not success:
            raise InvalidTransaction(f"system contract {address.hex()} call failed")
        touched = {a: t for a, t in touched.items() if a != SYSTEM_ADDRESS}
        self.state.apply(touched)
        return bytes(output) if isinstance(output, (bytes, bytearray)) else b""

    def apply_transaction(self, transaction) -> None:
        # Checked before the sender is read, as the specification (and py-evm, whose
        # witness then holds no sender) checks it: a block that fails here reads nothing.
        if transaction.gas > self.header.gas_limit - self.gas_used:
            raise InvalidTransaction("transaction gas exceeds the block's remaining gas")
        sender = transaction.sender
        account = self.state.account(sender)
        nonce = account.nonce if account else 0
        balance = account.balance if account else 0
        if transaction.nonce != nonce:
            raise InvalidTransaction(f"nonce {transaction.nonce}, account has {nonce}")
        if account is not None and is_delegation(account.code):
            raise EngineDeclined("revm: pyrevm 0.3.7 has no EIP-7702 delegations", sender.hex())
        if account is not None and account.code:
            raise InvalidTransaction("sender has code (EIP-3607)")
        base_fee = self.header.base_fee_per_gas
        max_fee = transaction.max_fee_per_gas
        priority = min(transaction.max_priority_fee_per_gas, max_fee - base_fee)
        if max_fee < base_fee:
            raise InvalidTransaction("max fee per gas below the base fee")
        if transaction.max_priority_fee_per_gas > max_fee:
            raise InvalidTransaction("priority fee above max fee")
        if balance < transaction.gas * max_fee + transaction.value:
            raise InvalidTransaction("insufficient balance for gas and value")
        floor = self.calldata_floor(transaction)
        if floor > transaction.gas:
            raise InvalidTransaction("gas limit below the EIP-7623 calldata floor")
        effective_price = base_fee + priority
        is_creation = transaction.to == b""
        if is_creation and instructions(transaction.data) & PRICE_REVEALING_IN_INITCODE:
            raise EngineDeclined(
                "revm: pyrevm 0.3.7 deploys at gas price 0 and this initcode may observe it"
            )
        access_list = [(a, s) for a, s in getattr(transaction, "access_list", ())]
        # The sender pays for all its gas before execution, as the EVM does.
        # revm checks the balance against the fee again but charges nothing.
        self.state.add_balance(sender, -transaction.gas * effective_price)
        if not is_creation:
            self.state.set_nonce(sender, nonce + 1)
        try:
            success, gas_used, _, logs, touched = self.run(
                sender, transaction.to, transaction.data, transaction.value, transaction.gas,
                effective_price, access_list,
            )
        except InvalidTransaction as refused:
            if "LackOfFund" not in str(refused):
                raise
            raise EngineDeclined(
                "revm: the sender cannot pay the fee twice, as pyrevm 0.3.7 checks it"
            ) from refused
        gas_used = max(gas_used, floor)
        self.state.apply(touched)
        self.state.set_nonce(sender, nonce + 1)
        self.state.add_balance(sender, (transaction.gas - gas_used) * effective_price)
        self.state.add_balance(self.header.coinbase, gas_used * priority)
        self.gas_used += gas_used
        status = b"\x01" if success else b""
        self.receipts.append(transaction.make_receipt(status, self.gas_used, logs))

    def calldata_floor(self, transaction) -> int:
        if self.fork != "prague":
            return 0
        return GAS_TX + TOTAL_COST_FLOOR_PER_TOKEN * calldata_tokens(transaction.data)

    def requests(self) -> Tuple[bytes, ...]:
        logs = (log for receipt in self.receipts for log in receipt.logs)
        deposits = deposit_request_data(
            logs, DEPOSIT_CONTRACT_ADDRESS, DEPOSIT_EVENT_SIGNATURE_HASH
        )
        withdrawals = self.system_call(WITHDRAWAL_REQUEST_PREDEPLOY_ADDRESS, checked=True)
        consolidations = self.system_call(CONSOLIDATION_REQUEST_PREDEPLOY_ADDRESS, checked=True)
        return (
            DEPOSIT_REQUEST_TYPE + deposits,
            WITHDRAWAL_REQUEST_TYPE + withdrawals,
            CONSOLIDATION_REQUEST_TYPE + consolidations,
        )
