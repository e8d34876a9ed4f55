"""
The test controls anvil, ganache and hardhat offer (``evm_``, ``anvil_``;
``hardhat_`` names are aliases): mining, snapshots, time, state edits,
impersonation, the pool, the next blocks' headers, state dumps.
"""

from typing import Any, Dict, Optional

from ..filters import InstalledFilters
from ..formatting import quantity
from .errors import invalid_params
from .params import ADDRESS, BOOLEAN, BYTES32, DATA, OBJECT, QUANTITY, SECONDS, Param, method

ADDRESS_PARAM = Param("address", ADDRESS)


class AnvilNamespace:
    def __init__(self, devnet, filters: InstalledFilters) -> None:
        self.devnet, self.filters = devnet, filters

    # -- mining --

    @method(Param("timestamp", QUANTITY, None))
    def evm_mine(self, timestamp: Optional[int]) -> str:
        self.devnet.mine(timestamp=timestamp)
        return "0x0"

    @method(Param("blocks", QUANTITY, 1), Param("interval", QUANTITY, None))
    def anvil_mine(self, blocks: int, interval: Optional[int]) -> None:
        self.devnet.mine(blocks=blocks, interval=interval)

    @method(Param("enabled", BOOLEAN))
    def evm_setAutomine(self, enabled: bool) -> None:
        self.devnet.set_automine(enabled)

    @method()
    def anvil_getAutomine(self) -> bool:
        return self.devnet.automine

    @method(Param("seconds", SECONDS))
    def evm_setIntervalMining(self, seconds: float) -> None:
        self.devnet.set_interval_mining(seconds)

    # -- snapshots and time --

    @method()
    def evm_snapshot(self) -> str:
        return quantity(self.devnet.snapshot())

    @method(Param("id", QUANTITY))
    def evm_revert(self, snapshot_id: int) -> bool:
        return self.devnet.revert(snapshot_id)

    @method(Param("seconds", QUANTITY))
    def evm_increaseTime(self, seconds: int) -> int:
        """The total offset, as a JSON number (anvil and ganache answer so)."""
        return self.devnet.increase_time(seconds)

    @method(Param("timestamp", QUANTITY))
    def evm_setNextBlockTimestamp(self, timestamp: int) -> None:
        self.devnet.set_next_timestamp(timestamp)

    # -- state edits --

    @method(ADDRESS_PARAM, Param("balance", QUANTITY))
    def anvil_setBalance(self, address: bytes, balance: int) -> None:
        self.devnet.set_account(address, balance=balance)

    @method(ADDRESS_PARAM, Param("nonce", QUANTITY))
    def anvil_setNonce(self, address: bytes, nonce: int) -> None:
        self.devnet.set_account(address, nonce=nonce)

    @method(ADDRESS_PARAM, Param("code", DATA))
    def anvil_setCode(self, address: bytes, code: bytes) -> None:
        self.devnet.set_account(address, code=code)

    @method(ADDRESS_PARAM, Param("slot", QUANTITY), Param("value", BYTES32))
    def anvil_setStorageAt(self, address: bytes, slot: int, value: bytes) -> bool:
        self.devnet.set_account(address, storage={slot: int.from_bytes(value, "big")})
        return True

    @method(ADDRESS_PARAM)
    def anvil_impersonateAccount(self, address: bytes) -> None:
        self.devnet.impersonate(address)

    @method(ADDRESS_PARAM)
    def anvil_stopImpersonatingAccount(self, address: bytes) -> None:
        self.devnet.stop_impersonating(address)

    @method(Param("options", OBJECT, None))
    def anvil_reset(self, options: Optional[Dict[str, Any]]) -> None:
        if options:
            raise invalid_params("forking is not supported; anvil_reset takes no options here")
        self.devnet.reset()
        self.filters.clear()

    @method(Param("enabled", BOOLEAN))
    def anvil_autoImpersonateAccount(self, enabled: bool) -> None:
        self.devnet.auto_impersonate(enabled)

    # -- the pool --

    @method(Param("hash", BYTES32))
    def anvil_dropTransaction(self, transaction_hash: bytes) -> Optional[str]:
        """The hash of the pending transaction dropped; null if none has it (anvil's answer)."""
        if not self.devnet.drop_transaction(transaction_hash):
            return None
        return "0x" + transaction_hash.hex()

    @method()
    def anvil_dropAllTransactions(self) -> None:
        for transaction in list(self.devnet.pending):
            self.devnet.drop_transaction(transaction.hash)

    # -- the next blocks' headers --

    @method(ADDRESS_PARAM)
    def anvil_setCoinbase(self, address: bytes) -> None:
        self.devnet.set_coinbase(address)

    @method(Param("baseFee", QUANTITY))
    def anvil_setNextBlockBaseFeePerGas(self, base_fee: int) -> None:
        self.devnet.set_next_base_fee(base_fee)

    @method(Param("chainId", QUANTITY))
    def anvil_setChainId(self, chain_id: int) -> None:
        self.devnet.set_chain_id(chain_id)

    @method(Param("gasLimit", QUANTITY))
    def evm_setBlockGasLimit(self, gas_limit: int) -> bool:
        self.devnet.set_block_gas_limit(gas_limit)
        return True

    # -- the whole state --

    @method()
    def anvil_dumpState(self) -> str:
        return "0x" + self.devnet.dump_state().hex()

    @method(Param("state", DATA))
    def anvil_loadState(self, dumped: bytes) -> bool:
        self.devnet.load_state(dumped)
        return True

    @method()
    def anvil_nodeInfo(self) -> Dict[str, Any]:
        head = self.devnet.head()
        return {
            "currentBlockNumber": quantity(head.block_number),
            "currentBlockTimestamp": head.timestamp,
            "currentBlockHash": "0x" + head.hash.hex(),
            "hardFork": "prague",
            "network": "native-rollups",
            "environment": {
                "baseFee": str(self.devnet.next_base_fee()),
                "chainId": self.devnet.chain_id,
                "gasLimit": str(self.devnet.config.gas_limit),
                "gasPrice": str(self.devnet.gas_price()),
            },
            "forkConfig": {},
        }
