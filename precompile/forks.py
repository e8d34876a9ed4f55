"""
The execution rules a ``ChainConfig`` names, as py-evm VM classes.

Each class subclasses py-evm's fork and changes only where py-evm departs from
the specification, so the diff over py-evm stays small and each fix is named.
"""

from typing import Tuple, Type

from eth.abc import BlockAPI, ReceiptAPI, VirtualMachineAPI
from eth.constants import SYSTEM_ADDRESS, SYSTEM_MESSAGE_GAS
from eth.vm.forks import CancunVM, PragueVM
from eth.vm.forks.cancun.blocks import CancunBackwardsHeader, CancunBlockHeader
from eth.vm.forks.cancun.computation import CancunComputation as PyEvmCancunComputation
from eth.vm.forks.cancun.headers import calc_excess_blob_gas_cancun
from eth.vm.forks.cancun.state import CancunState as PyEvmCancunState
from eth.vm.forks.prague.blocks import PragueBackwardsHeader, PragueBlockHeader
from eth.vm.forks.prague.computation import PragueComputation as PyEvmPragueComputation
from eth.vm.forks.prague.constants import (
    CONSOLIDATION_REQUEST_PREDEPLOY_ADDRESS,
    CONSOLIDATION_REQUEST_TYPE,
    DEPOSIT_CONTRACT_ADDRESS,
    DEPOSIT_EVENT_SIGNATURE_HASH,
    DEPOSIT_REQUEST_TYPE,
    WITHDRAWAL_REQUEST_PREDEPLOY_ADDRESS,
    WITHDRAWAL_REQUEST_TYPE,
)
from eth.vm.forks.prague.headers import calc_excess_blob_gas_prague
from eth.vm.forks.prague.state import PragueState as PyEvmPragueState
from eth_utils import ValidationError

from .constants import FORK_CANCUN, FORK_NAMES, FORK_PRAGUE
from .interpreter import FasterInterpreter, faster_opcodes
from .requests import deposit_request_data
from .ssz import ChainConfig
from .system_calls import SYSTEM_CALL_OUTCOMES
from .warm_accounts import WarmAccountDB


class UnknownFork(ValueError):
    """A ``ChainConfig.fork`` this project has no rules for."""


class CancunComputation(FasterInterpreter, PyEvmCancunComputation):
    opcodes = faster_opcodes(PyEvmCancunComputation.opcodes)


class CancunState(PyEvmCancunState):
    account_db_class = WarmAccountDB
    computation_class = CancunComputation


class PragueComputation(FasterInterpreter, PyEvmPragueComputation):
    opcodes = faster_opcodes(PyEvmPragueComputation.opcodes)


class PragueState(PyEvmPragueState):
    account_db_class = WarmAccountDB
    computation_class = PragueComputation
    # While a system call runs: its storage accesses, for ``SYSTEM_CALL_OUTCOMES``.
    storage_accesses = None

    def get_storage(self, address: bytes, slot: int, from_journal: bool = True) -> int:
        if self.storage_accesses is not None:
            self.storage_accesses.append((address, slot, from_journal, None))
        return super().get_storage(address, slot, from_journal)

    def set_storage(self, address: bytes, slot: int, value: int) -> None:
        if self.storage_accesses is not None:
            self.storage_accesses.append((address, slot, None, value))
        super().set_storage(address, slot, value)

    def storage_untouched(self, address: bytes) -> bool:
        return self._account_db.storage_untouched(address)

    def storage_root_of(self, address: bytes) -> bytes:
        return self._account_db.storage_root_of(address)


class KeepsReceipts:
    """A VM that keeps the receipts of the block it built last, for whoever asks next."""

    # The receipts of the block built last, with the receipt root they make.
    made_receipts: Tuple[bytes, Tuple[ReceiptAPI, ...]] = (b"", ())

    def set_block_transactions_and_withdrawals(
        self, base_block, new_header, transactions, receipts, withdrawals=None
    ):
        block = super().set_block_transactions_and_withdrawals(
            base_block, new_header, transactions, receipts, withdrawals
        )
        self.made_receipts = (block.header.receipt_root, tuple(receipts))
        return block

    def receipts_of(self, block: BlockAPI) -> Tuple[ReceiptAPI, ...]:
        """``block``'s receipts: the ones just made when it is the block built last."""
        receipt_root, receipts = self.made_receipts
        if receipt_root == block.header.receipt_root:
            return receipts
        return tuple(block.get_receipts(self.chaindb))


class Cancun(KeepsReceipts, CancunVM):
    """Cancun as py-evm implements it (with the faster interpreter loop)."""

    _state_class = CancunState
    header_class = CancunBlockHeader
    # Decodes this fork's headers and those of earlier forks, by field count.
    header_sedes = CancunBackwardsHeader
    # EIP-7685 requests of the last imported block; none exist before Prague.
    block_requests: tuple = ()
    # EIP-4844: a header's excess blob gas, from its parent's.
    excess_blob_gas = staticmethod(calc_excess_blob_gas_cancun)


class Prague(KeepsReceipts, PragueVM):
    """
    Prague, with the EIP-7002 and EIP-7251 rule py-evm lacks: the end-of-block
    call to a request system contract must succeed, and the contract must
    exist, or the block is invalid.
    """

    _state_class = PragueState
    header_class = PragueBlockHeader
    header_sedes = PragueBackwardsHeader
    block_requests: tuple = ()
    # EIP-7691 raised the blob target, and with it the excess computation.
    excess_blob_gas = staticmethod(calc_excess_blob_gas_prague)

    def block_postprocessing(self, block):
        """Keep the block's requests, which py-evm drops when it copies the block."""
        processed = super().block_postprocessing(block)
        self.block_requests = tuple(block.block_requests)
        return processed

    def process_deposit_request_data(self, block: BlockAPI) -> None:
        """EIP-6110, from the receipts at hand (py-evm decodes them again from their trie)."""
        logs = (log for receipt in self.receipts_of(block) for log in receipt.logs)
        block.block_requests.append(
            DEPOSIT_REQUEST_TYPE
            + deposit_request_data(logs, DEPOSIT_CONTRACT_ADDRESS, DEPOSIT_EVENT_SIGNATURE_HASH)
        )

    def process_withdrawal_request_data(self, block: BlockAPI) -> None:
        block.block_requests.append(
            WITHDRAWAL_REQUEST_TYPE + self.checked_system_call(WITHDRAWAL_REQUEST_PREDEPLOY_ADDRESS)
        )

    def process_consolidation_request_data(self, block: BlockAPI) -> None:
        block.block_requests.append(
            CONSOLIDATION_REQUEST_TYPE
            + self.checked_system_call(CONSOLIDATION_REQUEST_PREDEPLOY_ADDRESS)
        )

    def checked_system_call(self, address: bytes) -> bytes:
        """
        EELS ``process_checked_system_transaction``: call ``address`` from the
        system address; a missing contract or a failed call invalidates the block.
        """
        code = self.state.get_code(address)
        if len(code) == 0:
            raise ValidationError(f"system contract {address.hex()} has no code")
        key = SYSTEM_CALL_OUTCOMES.key(self.state, address, code)
        if key is not None:
            output = SYSTEM_CALL_OUTCOMES.replay(self.state, key)
            if output is not None:
                return output
        self.state.storage_accesses = accesses = []
        try:
            computation = self.execute_bytecode(
                origin=SYSTEM_ADDRESS,
                gas_price=0,
                gas=SYSTEM_MESSAGE_GAS,
                to=address,
                sender=SYSTEM_ADDRESS,
                value=0,
                data=b"",
                code=code,
                code_address=address,
            )
        finally:
            self.state.storage_accesses = None
        if computation.is_error:
            raise ValidationError(
                f"system contract {address.hex()} call failed: {computation.error!r}"
            )
        if key is not None:
            SYSTEM_CALL_OUTCOMES.remember(key, accesses, computation.output)
        return computation.output


FORK_RULES = {FORK_CANCUN: Cancun, FORK_PRAGUE: Prague}


def fork_rules(chain_config: ChainConfig) -> Type[VirtualMachineAPI]:
    """The VM class for ``chain_config.fork``."""
    fork = int(chain_config.fork)
    try:
        return FORK_RULES[fork]
    except KeyError:
        known = ", ".join(f"{k} ({v})" for k, v in FORK_NAMES.items())
        raise UnknownFork(f"ChainConfig.fork {fork} is not one of {known}") from None


def fork_id_of_network(network: str) -> int:
    """The fork id for a blockchain-test ``network`` name, e.g. ``Prague``."""
    by_name = {name: fork for fork, name in FORK_NAMES.items()}
    try:
        return by_name[network.lower()]
    except KeyError:
        raise UnknownFork(f"network {network!r} has no fork rules here") from None
