"""
The ``eth_`` namespace: chain and state reads, calls and gas estimates,
transactions, blocks, logs and filters, fees; each method reads its declared
parameters and asks the node.
"""

from typing import Any, Dict, List, Optional, Union

from eth.exceptions import Revert
from eth_utils import to_checksum_address

from ..failures import failure_message, panic_code, panic_message, revert_reason
from ..filters import InstalledFilters, log_matches
from ..formatting import (
    format_access_list,
    format_account_proof,
    format_block,
    format_block_logs,
    format_receipt,
    format_transaction,
    quantity,
)
from ..interface import TransactionRequest
from ..state_proofs import prove_account
from .errors import EXECUTION_REVERTED, INVALID_PARAMS, RpcError, invalid_params
from .params import (
    ADDRESS,
    BLOCK,
    BLOCK_ID,
    BOOLEAN,
    BYTES32,
    CALL,
    DATA,
    LOG_FILTER,
    PERCENTILES,
    QUANTITY,
    STORAGE_KEYS,
    TEXT,
    TRANSACTION,
    BlockTag,
    LogFilter,
    Param,
    method,
)

ADDRESS_PARAM = Param("address", ADDRESS)
# The block whose state a read or a call uses: by number, tag or hash (EIP-1898).
BLOCK_PARAM = Param("block", BLOCK_ID, "latest")
FULL_PARAM = Param("full", BOOLEAN, False)
INDEX_PARAM = Param("index", QUANTITY)


def execution_error(computation) -> RpcError:
    """
    Code 3 as geth and anvil answer: revert data when there is some, and
    an ``Error(string)`` reason in the message, as clients show it.
    """
    if isinstance(computation.error, Revert):
        reason = revert_reason(computation.output)
        code = panic_code(computation.output)
        if reason is None and code is not None:
            reason = panic_message(code)
        message = f"execution reverted: {reason}" if reason else "execution reverted"
        return RpcError(EXECUTION_REVERTED, message, "0x" + computation.output.hex())
    return RpcError(EXECUTION_REVERTED, f"execution reverted: {failure_message(computation.error)}")


def transaction_at(block, index: int) -> Optional[Dict[str, Any]]:
    """The block's transaction at ``index``, as eth_getTransactionByHash shows it; None past
    its last."""
    if index >= len(block.transactions):
        return None
    return format_transaction(block.transactions[index], block, index)


# The most blocks one eth_feeHistory covers (geth's limit; a larger count is cut to it).
MAX_FEE_HISTORY_BLOCKS = 1024


class EthNamespace:
    def __init__(self, devnet, filters: InstalledFilters) -> None:
        self.devnet, self.filters = devnet, filters
        devnet.listen_for_rewinds(filters.went_back)

    # -- chain and state --

    @method()
    def eth_chainId(self) -> str:
        return quantity(self.devnet.chain_id)

    @method()
    def eth_blockNumber(self) -> str:
        return quantity(self.devnet.head().block_number)

    @method()
    def eth_accounts(self) -> List[str]:
        return [account.checksum_address for account in self.devnet.accounts]

    @method()
    def eth_coinbase(self) -> str:
        """The fee recipient of the blocks mined next (anvil_setCoinbase sets it)."""
        return to_checksum_address(self.devnet.coinbase)

    @method()
    def eth_gasPrice(self) -> str:
        return quantity(self.devnet.gas_price())

    @method()
    def eth_maxPriorityFeePerGas(self) -> str:
        return quantity(self.devnet.priority_fee())

    def _state(self, block: BlockTag):
        return self.devnet.read_state(self.devnet.block_number(block))

    @method(ADDRESS_PARAM, BLOCK_PARAM)
    def eth_getBalance(self, address: bytes, block: BlockTag) -> str:
        return quantity(self._state(block).get_balance(address))

    @method(ADDRESS_PARAM, BLOCK_PARAM)
    def eth_getTransactionCount(self, address: bytes, block: BlockTag) -> str:
        if block == "pending":
            # As anvil and geth answer it: the nonce after the sender's pending
            # transactions (clients that sign take their next nonce from it).
            return quantity(self.devnet.pool.next_nonce(address))
        return quantity(self._state(block).get_nonce(address))

    @method(ADDRESS_PARAM, BLOCK_PARAM)
    def eth_getCode(self, address: bytes, block: BlockTag) -> str:
        return "0x" + self._state(block).get_code(address).hex()

    @method(ADDRESS_PARAM, Param("slot", QUANTITY), BLOCK_PARAM)
    def eth_getStorageAt(self, address: bytes, slot: int, block: BlockTag) -> str:
        return "0x" + self._state(block).get_storage(address, slot).to_bytes(32, "big").hex()

    @method(ADDRESS_PARAM, Param("storageKeys", STORAGE_KEYS), BLOCK_PARAM)
    def eth_getProof(self, address: bytes, slots: List[int], block: BlockTag) -> Dict[str, Any]:
        """
        EIP-1186: the account and the storage slots asked, each with the
        Merkle-Patricia nodes that prove it (or its absence) against the
        block's state root (at the head, the state as edited).
        """
        state_root = self._state(block).state_root
        proven = prove_account(self.devnet.chain.chaindb.db, state_root, address, slots)
        return format_account_proof(proven)

    @method()
    def eth_syncing(self) -> bool:
        """A devnet makes its own blocks: it is never catching up."""
        return False

    @method()
    def eth_blobBaseFee(self) -> str:
        """The blob base fee of the next block (EIP-4844, with the fork's update fraction)."""
        chain = self.devnet.chain
        next_header = chain.create_header_from_parent(self.devnet.head())
        return quantity(chain.get_vm(next_header).state.blob_base_fee)

    # -- signing --

    def _signer(self, address: bytes):
        for account in self.devnet.accounts:
            if account.address == address:
                return account
        raise invalid_params(
            f"address 0x{address.hex()} is not one of this node's accounts: no key to sign with"
        )

    @method(ADDRESS_PARAM, Param("message", DATA))
    def eth_sign(self, address: bytes, message: bytes) -> str:
        """The EIP-191 (personal message) signature of ``message`` by a devnet account."""
        return "0x" + self._signer(address).sign_message(message).hex()

    @method(Param("message", DATA), ADDRESS_PARAM)
    def personal_sign(self, message: bytes, address: bytes) -> str:
        """``eth_sign`` with its parameters the other way round, as wallets call it."""
        return self.eth_sign(address, message)

    # -- calls --

    def _call(self, call: TransactionRequest, block: BlockTag):
        computation = self.devnet.call(
            call, self.devnet.call_block(block), pending=block == "pending"
        )
        if computation.is_error:
            raise execution_error(computation)
        return computation

    @method(Param("call", CALL), BLOCK_PARAM)
    def eth_call(self, call: TransactionRequest, block: BlockTag) -> str:
        return "0x" + self._call(call, block).output.hex()

    @method(Param("call", CALL), BLOCK_PARAM)
    def eth_estimateGas(self, call: TransactionRequest, block: BlockTag) -> str:
        return quantity(self.devnet.estimate_gas(
            call, self.devnet.call_block(block), pending=block == "pending"
        ))

    @method(Param("call", CALL), BLOCK_PARAM)
    def eth_createAccessList(self, call: TransactionRequest, block: BlockTag) -> Dict[str, Any]:
        """
        EIP-2930: the accounts and slots the call touches, and the gas it
        uses with them listed (anvil's shape); a failing call is answered as
        eth_call answers it.
        """
        found = self.devnet.create_access_list(
            call, self.devnet.call_block(block), pending=block == "pending"
        )
        if found.computation.is_error:
            raise execution_error(found.computation)
        return {
            "accessList": format_access_list(found.access_list),
            "gasUsed": quantity(found.gas_used),
        }

    # -- transactions --

    @method(Param("transaction", DATA))
    def eth_sendRawTransaction(self, encoded: bytes) -> str:
        return "0x" + self.devnet.send_raw_transaction(encoded).hex()

    @method(Param("transaction", TRANSACTION))
    def eth_sendTransaction(self, request: TransactionRequest) -> str:
        return "0x" + self.devnet.send_request(request).hex()

    @method(Param("hash", BYTES32))
    def eth_getTransactionByHash(self, transaction_hash: bytes) -> Optional[Dict[str, Any]]:
        found = self.devnet.receipt(transaction_hash)
        if found is None:
            # Sent, not mined yet: shown without a block, priced at the next
            # block's base fee, as anvil shows it.
            pending = self.devnet.pool.find(transaction_hash)
            if pending is None:
                return None
            return format_transaction(pending, None, None, self.devnet.next_base_fee())
        block, index, _ = found
        return format_transaction(block.transactions[index], block, index)

    @method(Param("hash", BYTES32))
    def eth_getTransactionReceipt(self, transaction_hash: bytes) -> Optional[Dict[str, Any]]:
        found = self.devnet.receipt(transaction_hash)
        if found is None:
            return None
        block, index, receipt = found
        return format_receipt(block, index, receipt, self.devnet.block_receipts(block))

    # -- blocks --

    @method(Param("block", BLOCK), FULL_PARAM)
    def eth_getBlockByNumber(self, block: BlockTag, full: bool) -> Optional[Dict[str, Any]]:
        """The block; null beyond the head (as anvil and geth answer: it may come yet)."""
        found = self._block_by_id(block)
        return None if found is None else format_block(found, full)

    @method(Param("hash", BYTES32), FULL_PARAM)
    def eth_getBlockByHash(self, block_hash: bytes, full: bool) -> Optional[Dict[str, Any]]:
        block = self.devnet.block_by_hash(block_hash)
        return None if block is None else format_block(block, full)

    @method(Param("block", BLOCK))
    def eth_getBlockTransactionCountByNumber(self, block: BlockTag) -> str:
        return quantity(len(self._numbered_block(block).transactions))

    @method(Param("hash", BYTES32))
    def eth_getBlockTransactionCountByHash(self, block_hash: bytes) -> Optional[str]:
        block = self.devnet.block_by_hash(block_hash)
        return None if block is None else quantity(len(block.transactions))

    @method(Param("block", BLOCK), INDEX_PARAM)
    def eth_getTransactionByBlockNumberAndIndex(
        self, block: BlockTag, index: int
    ) -> Optional[Dict[str, Any]]:
        found = self._block_by_id(block)
        return None if found is None else transaction_at(found, index)

    @method(Param("hash", BYTES32), INDEX_PARAM)
    def eth_getTransactionByBlockHashAndIndex(
        self, block_hash: bytes, index: int
    ) -> Optional[Dict[str, Any]]:
        block = self.devnet.block_by_hash(block_hash)
        return None if block is None else transaction_at(block, index)

    # A proof-of-stake chain has no uncles: every block this node has counts none.

    @method(Param("block", BLOCK))
    def eth_getUncleCountByBlockNumber(self, block: BlockTag) -> str:
        self._numbered_block(block)
        return quantity(0)

    @method(Param("hash", BYTES32))
    def eth_getUncleCountByBlockHash(self, block_hash: bytes) -> Optional[str]:
        return None if self.devnet.block_by_hash(block_hash) is None else quantity(0)

    @method(Param("block", BLOCK), INDEX_PARAM)
    def eth_getUncleByBlockNumberAndIndex(self, block: BlockTag, index: int) -> None:
        self._numbered_block(block)
        return None

    @method(Param("hash", BYTES32), INDEX_PARAM)
    def eth_getUncleByBlockHashAndIndex(self, block_hash: bytes, index: int) -> None:
        return None

    def _numbered_block(self, block: BlockTag):
        """The block a number or tag names; invalid params beyond the head."""
        return self.devnet.block(self.devnet.block_number(block))

    @method(Param("block", BLOCK_ID))
    def eth_getBlockReceipts(self, block_id: Union[BlockTag, bytes]) -> Optional[List[Dict]]:
        """Every receipt of a block, in order; null for a block this node does not have."""
        block = self._block_by_id(block_id)
        if block is None:
            return None
        receipts = self.devnet.block_receipts(block)
        return [format_receipt(block, index, r, receipts) for index, r in enumerate(receipts)]

    def _block_by_id(self, block_id: Union[BlockTag, bytes]):
        if isinstance(block_id, bytes):
            return self.devnet.block_by_hash(block_id)
        if isinstance(block_id, int) and block_id > self.devnet.head().block_number:
            return None
        return self.devnet.block(self.devnet.block_number(block_id))

    @method(
        Param("blockCount", QUANTITY),
        Param("newestBlock", BLOCK),
        Param("rewardPercentiles", PERCENTILES, ()),
    )
    def eth_feeHistory(self, count: int, newest: BlockTag, percentiles: List[float]) -> Dict:
        last = self.devnet.block_number(newest)
        first = max(0, last - min(count, MAX_FEE_HISTORY_BLOCKS) + 1)  # geth caps it so
        blocks = [self.devnet.block(n) for n in range(first, last + 1)]
        base_fees = [b.header.base_fee_per_gas for b in blocks] + [self.devnet.next_base_fee()]
        return {
            "oldestBlock": quantity(first),
            "baseFeePerGas": [quantity(fee) for fee in base_fees],
            "gasUsedRatio": [b.header.gas_used / b.header.gas_limit for b in blocks],
            "baseFeePerBlobGas": ["0x1"] * len(base_fees),
            "blobGasUsedRatio": [0.0] * len(blocks),
            "reward": [[quantity(self.devnet.priority_fee())] * len(percentiles) for _ in blocks],
        }

    # -- logs and filters --

    @method(Param("filter", LOG_FILTER))
    def eth_getLogs(self, log_filter: LogFilter) -> List[Dict[str, Any]]:
        if log_filter.block_hash is not None:
            block = self.devnet.block_by_hash(log_filter.block_hash)
            if block is None:
                raise invalid_params(f"no block has the hash 0x{log_filter.block_hash.hex()}")
            numbers = [block.number]
        else:
            first = self.devnet.block_number(log_filter.from_block)
            last = self.devnet.block_number(log_filter.to_block)
            numbers = range(first, last + 1)
        criteria = log_filter.criteria
        return [log for number in numbers for log in self._block_logs(number, criteria)]

    def _block_logs(self, number: int, criteria: Dict[str, Any]) -> List[Dict[str, Any]]:
        block = self.devnet.block(number)
        logs = format_block_logs(block, self.devnet.block_receipts(block))
        return [log for log in logs if log_matches(log, criteria)]

    @method(Param("filter", LOG_FILTER))
    def eth_newFilter(self, log_filter: LogFilter) -> str:
        return self.filters.install("logs", log_filter, self.devnet.head().block_number)

    @method()
    def eth_newBlockFilter(self) -> str:
        return self.filters.install("blocks", None, self.devnet.head().block_number)

    @method(Param("id", TEXT))
    def eth_getFilterChanges(self, filter_id: str) -> List[Any]:
        if self.filters.get(filter_id) is None:
            raise RpcError(INVALID_PARAMS, "filter not found")
        head = self.devnet.head().block_number
        kind, log_filter, seen = self.filters.advance(filter_id, head)
        if kind == "blocks":
            return ["0x" + self.devnet.block(n).hash.hex() for n in range(seen + 1, head + 1)]
        criteria = log_filter.criteria
        return [log for n in range(seen + 1, head + 1) for log in self._block_logs(n, criteria)]

    @method(Param("id", TEXT))
    def eth_getFilterLogs(self, filter_id: str) -> List[Any]:
        installed = self.filters.get(filter_id)
        if installed is None or installed.kind != "logs":
            raise RpcError(INVALID_PARAMS, "filter not found")
        return self.eth_getLogs(installed.log_filter)

    @method(Param("id", TEXT))
    def eth_uninstallFilter(self, filter_id: str) -> bool:
        return self.filters.uninstall(filter_id)
