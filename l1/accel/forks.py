"""
The devnet's fork classes: a rules class with the speed-ups mixed in, same semantics.

``accelerate(vm_class)`` subclasses any VM class of ``precompile.forks`` (or
the NativeRollups fork over it) with the faster interpreter loop, warm and
batched account state, receipts kept at hand, EIP-4844's point evaluation
with its setup loaded once and, from Prague on, remembered request system
calls and (with the ``bls12-381`` part) EIP-2537's precompiles over arkworks.
Each accelerated class holds its own system-call memo, so two chains never
share one.
"""

from typing import Callable, Dict, List, Optional, Tuple, Type

from eth.abc import BlockAPI, ReceiptAPI, VirtualMachineAPI
from eth.vm.forks.prague.constants import (
    DEPOSIT_CONTRACT_ADDRESS,
    DEPOSIT_EVENT_SIGNATURE_HASH,
    DEPOSIT_REQUEST_TYPE,
)

from precompile.forks import FORK_RULES, ForkRules, Prague
from precompile.requests import deposit_request_data

from . import point_evaluation
from .interpreter import FasterInterpreter, faster_opcodes
from .system_calls import StorageAccess, SystemCallOutcomes
from .warm_accounts import WarmAccountDB


class AcceleratedState:
    """Mixed in before a py-evm state class: warm accounts, and storage accesses on request."""

    account_db_class = WarmAccountDB
    # While a system call runs: its storage accesses, for the VM's system-call memo.
    storage_accesses: Optional[List[StorageAccess]] = None
    # While py-evm's set_system_contracts runs (see there).
    _setting_system_contracts = False

    def get_storage(self, address: bytes, slot: int, from_journal: bool = True) -> int:
        if self.storage_accesses is not None:
            self.storage_accesses.append((address, slot, from_journal, None))
        return super().get_storage(address, slot, from_journal)

    def set_storage(self, address: bytes, slot: int, value: int) -> None:
        if self.storage_accesses is not None:
            self.storage_accesses.append((address, slot, None, value))
        super().set_storage(address, slot, value)

    def set_system_contracts(self) -> None:
        # py-evm (Cancun's and Prague's states, at the verified version) sets a system
        # contract's code whenever the code is already exactly that, on every state
        # opened; rewriting an account unchanged costs a state-root update for nothing.
        # The same reads, and the code set only where it would change something.
        self._setting_system_contracts = True
        try:
            super().set_system_contracts()
        finally:
            self._setting_system_contracts = False

    def set_code(self, address: bytes, code: bytes) -> None:
        if self._setting_system_contracts and self.get_code(address) == code:
            return
        super().set_code(address, code)

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


def receipts_of(vm: VirtualMachineAPI, block: BlockAPI) -> Tuple[ReceiptAPI, ...]:
    """The receipts of a block ``vm`` just built: kept at hand, or read back from its trie."""
    if isinstance(vm, KeepsReceipts):
        return vm.receipts_of(block)
    return tuple(block.get_receipts(vm.chaindb))


class RequestsFromWhatIsAtHand(KeepsReceipts):
    """
    Prague's end-of-block requests without work repeated: EIP-6110 deposits
    from the receipts at hand (py-evm decodes them again from their trie), and
    request system calls replayed from ``system_call_outcomes`` when their
    code can see nothing but its own, unchanged, storage.
    """

    system_call_outcomes: SystemCallOutcomes

    def process_deposit_request_data(self, block: BlockAPI) -> None:
        logs = (log for receipt in self.receipts_of(block) for log in receipt.logs)
        block.block_requests.append(
            DEPOSIT_REQUEST_TYPE
            + deposit_request_data(logs, DEPOSIT_CONTRACT_ADDRESS, DEPOSIT_EVENT_SIGNATURE_HASH)
        )

    def system_call(self, address: bytes, code: bytes) -> bytes:
        outcomes = self.system_call_outcomes
        key = outcomes.key(self.state, address, code)
        if key is not None:
            output = outcomes.replay(self.state, key)
            if output is not None:
                return output
        self.state.storage_accesses = accesses = []
        try:
            output = super().system_call(address, code)
        finally:
            self.state.storage_accesses = None
        if key is not None:
            outcomes.remember(key, accesses, output)
        return output


def bls12_381_on() -> bool:
    from . import enabled  # the package imports this module first

    return enabled("bls12-381")


def faster_precompiles(precompiles: Dict[bytes, Callable]) -> Dict[bytes, Callable]:
    """
    ``precompiles`` with each of py-evm's that has a faster twin here replaced
    by it (only where a fork still runs py-evm's own): point evaluation, and
    the BLS12-381 ones when that part is on.
    """
    replacing = dict(point_evaluation.REPLACING)
    if bls12_381_on():
        from . import bls12_381  # arkworks is imported only when on

        replacing.update(bls12_381.REPLACING)
    return {address: replacing.get(run, run) for address, run in precompiles.items()}


def accelerate(vm_class: Type[VirtualMachineAPI]) -> Type[VirtualMachineAPI]:
    """
    ``vm_class`` with the speed-ups: a subclass with the same rules (EIP-4844's
    point evaluation with the KZG setup loaded once and, when that part is on,
    EIP-2537's precompiles over arkworks).
    """
    state_class = vm_class._state_class
    computation_class = state_class.computation_class
    computation_namespace = {
        "opcodes": faster_opcodes(computation_class.opcodes),
        "_precompiles": faster_precompiles(computation_class._precompiles),
    }
    computation = type(
        computation_class.__name__, (FasterInterpreter, computation_class), computation_namespace
    )
    state = type(
        state_class.__name__, (AcceleratedState, state_class), {"computation_class": computation}
    )
    namespace: Dict[str, object] = {"_state_class": state}
    if issubclass(vm_class, Prague):
        mixins: tuple = (RequestsFromWhatIsAtHand,)
        namespace["system_call_outcomes"] = SystemCallOutcomes()
    else:
        mixins = (KeepsReceipts,)
    return type(vm_class.__name__, mixins + (vm_class,), namespace)


def accelerated_rules(
    rules: ForkRules = FORK_RULES,
) -> Dict[int, Type[VirtualMachineAPI]]:
    """Every fork of ``rules`` accelerated (for a guest whose caller opted in)."""
    return {fork: accelerate(vm_class) for fork, vm_class in rules.items()}
