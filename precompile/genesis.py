"""Genesis state and headers: accounts written into a state database, and chains started on them."""

from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Type

from eth.abc import AtomicDatabaseAPI, ChainAPI, VirtualMachineAPI
from eth.chains.base import Chain
from eth.constants import BLANK_ROOT_HASH, EMPTY_SHA256
from eth.db.account import AccountDB
from eth.db.atomic import AtomicDB

from .system_contracts import SYSTEM_CONTRACT_NONCE, prague_system_contracts

# Defaults for a new chain's genesis header, as anvil and mainnet-like devnets use.
DEFAULT_GAS_LIMIT = 30_000_000
DEFAULT_BASE_FEE_PER_GAS = 1_000_000_000


@dataclass(frozen=True)
class GenesisAccount:
    balance: int = 0
    nonce: int = 0
    code: bytes = b""
    storage: Mapping[int, int] = field(default_factory=dict)


def write_accounts(db: AtomicDatabaseAPI, accounts: Mapping[bytes, GenesisAccount]) -> bytes:
    """Write ``accounts`` into ``db``; return the state root."""
    account_db = AccountDB(db)
    for address, account in accounts.items():
        account_db.set_balance(address, account.balance)
        account_db.set_nonce(address, account.nonce)
        account_db.set_code(address, account.code)
        for slot, value in account.storage.items():
            account_db.set_storage(address, slot, value)
    account_db.persist()
    return account_db.state_root


def accounts_from_fixture(accounts: Mapping[str, Mapping[str, Any]]) -> Dict[bytes, GenesisAccount]:
    """Accounts in the blockchain-test JSON form (hex strings)."""
    return {
        bytes.fromhex(address[2:]): GenesisAccount(
            balance=int(account["balance"], 16),
            nonce=int(account["nonce"], 16),
            code=bytes.fromhex(account["code"][2:]),
            storage={int(k, 16): int(v, 16) for k, v in account.get("storage", {}).items()},
        )
        for address, account in accounts.items()
    }


def system_contract_accounts() -> Dict[bytes, GenesisAccount]:
    return {
        address: GenesisAccount(nonce=SYSTEM_CONTRACT_NONCE, code=code)
        for address, code in prague_system_contracts().items()
    }


def new_chain(
    vm_class: Type[VirtualMachineAPI],
    chain_id: int,
    accounts: Mapping[bytes, GenesisAccount],
    gas_limit: int = DEFAULT_GAS_LIMIT,
    timestamp: int = 0,
    base_fee_per_gas: int = DEFAULT_BASE_FEE_PER_GAS,
    gas_used: int = 0,
) -> ChainAPI:
    """
    A chain of one fork from genesis: ``accounts`` plus the Prague system
    contracts, with an empty post-merge genesis header. A genesis ``gas_used``
    at the target (half the limit) keeps block 1 at ``base_fee_per_gas``.
    """
    db = AtomicDB()
    state_root = write_accounts(db, {**system_contract_accounts(), **accounts})
    genesis = vm_class.header_class(
        difficulty=0,
        block_number=0,
        gas_limit=gas_limit,
        gas_used=gas_used,
        timestamp=timestamp,
        state_root=state_root,
        base_fee_per_gas=base_fee_per_gas,
        withdrawals_root=BLANK_ROOT_HASH,
        blob_gas_used=0,
        excess_blob_gas=0,
        parent_beacon_block_root=bytes(32),
        requests_hash=EMPTY_SHA256,
    )
    chain_class = Chain.configure(
        __name__=f"{vm_class.fork.title()}Chain",
        vm_configuration=((0, vm_class),),
        chain_id=chain_id,
    )
    return chain_class.from_genesis_header(db, genesis)
