"""
The execution rules a ``ChainConfig`` names, as py-evm VM classes.

Each class subclasses py-evm's fork and changes only where py-evm departs from
the specification, so the diff over py-evm stays small and each fix is named.
Nothing here is faster than py-evm: the devnet's speed-ups subclass these
(``l1.accel``), and the guest runs these unless its caller asks otherwise.
"""

from typing import Mapping, Type

from eth.abc import BlockAPI, VirtualMachineAPI
from eth.constants import BLANK_ROOT_HASH, SYSTEM_ADDRESS, SYSTEM_MESSAGE_GAS
from eth.vm.forks import CancunVM, PragueVM
from eth.vm.forks.cancun.blocks import CancunBackwardsHeader, CancunBlockHeader
from eth.vm.forks.cancun.headers import calc_excess_blob_gas_cancun
from eth.vm.forks.prague.blocks import PragueBackwardsHeader, PragueBlockHeader
from eth.vm.forks.prague.constants import (
    CONSOLIDATION_REQUEST_PREDEPLOY_ADDRESS,
    CONSOLIDATION_REQUEST_TYPE,
    WITHDRAWAL_REQUEST_PREDEPLOY_ADDRESS,
    WITHDRAWAL_REQUEST_TYPE,
)
from eth.vm.forks.prague.headers import calc_excess_blob_gas_prague
from eth.vm.forks.shanghai.constants import MAX_INITCODE_SIZE
from eth_utils import ValidationError

from .constants import FORK_CANCUN, FORK_NAMES, FORK_PRAGUE
from .ssz import ChainConfig


class UnknownFork(ValueError):
    """A ``ChainConfig.fork`` this project has no rules for."""


class SystemContractFailed(ValidationError):
    """EIP-7002/EIP-7251: a request system contract is missing or its call failed."""


class StorageCollisions:
    """
    EIP-7610, which py-evm lacks: creating a contract at an address whose
    account has non-empty storage is a collision, as one with code or a nonce
    is (a balance alone is not). Both places py-evm checks for a collision
    (CREATE/CREATE2 and a creation transaction) ask ``has_code_or_nonce``.
    """

    def has_code_or_nonce(self, address: bytes) -> bool:
        if super().has_code_or_nonce(address):
            return True
        # py-evm keeps no public reader of an account's storage root.
        return self._account_db._get_storage_root(address) != BLANK_ROOT_HASH


class InitcodeLimit:
    """
    EIP-3860: a creation transaction whose initcode is longer than
    MAX_INITCODE_SIZE is invalid. py-evm instead raises OutOfGas from inside
    the transaction's execution, which escaped as an internal error rather
    than an invalid block (four execution-spec-tests cases).
    """

    def validate_transaction(self, transaction) -> None:
        super().validate_transaction(transaction)
        if not transaction.to and len(transaction.data) > MAX_INITCODE_SIZE:
            raise ValidationError(
                f"EIP-3860: initcode of {len(transaction.data)} bytes is over the"
                f" {MAX_INITCODE_SIZE}-byte limit"
            )


class OriginByDepth:
    """
    py-evm takes a message for the transaction's own (charging a creation
    transaction's EIP-3860 initcode gas, and starting EIP-6780's list of the
    contracts created in it) when its sender is the transaction's origin.
    Since EIP-7702 the origin's delegated code may itself CREATE: that child
    message's sender is the origin too, so py-evm charged its initcode twice
    and forgot the contracts created before it. The transaction's own message
    is the one at depth 0 (found by nr fuzz: EELS used 2 gas less).
    """

    @property
    def is_origin_computation(self) -> bool:
        return self.msg.depth == 0


class PragueComputation(OriginByDepth, PragueVM._state_class.computation_class):
    pass


class CancunState(StorageCollisions, InitcodeLimit, CancunVM._state_class):
    pass


class PragueState(StorageCollisions, InitcodeLimit, PragueVM._state_class):
    computation_class = PragueComputation


class Cancun(CancunVM):
    """Cancun as py-evm implements it, with EIP-7610's storage collisions and EIP-3860's limit."""

    _state_class = CancunState
    header_class = CancunBlockHeader
    # Decodes this fork's headers and those of earlier forks, by field count.
    header_sedes = CancunBackwardsHeader
    # EIP-7685 requests of the last imported block; none exist before Prague.
    block_requests: tuple = ()
    # EIP-4844: a header's excess blob gas, from its parent's.
    excess_blob_gas = staticmethod(calc_excess_blob_gas_cancun)


class Prague(PragueVM):
    """
    Prague, with the rules py-evm lacks: EIP-7610's storage collisions,
    EIP-7002's and EIP-7251's end-of-block call to a request system contract,
    which must succeed, the contract existing, or the block is invalid, and a
    transaction's own message told from its delegated code's (OriginByDepth).
    """

    _state_class = PragueState
    header_class = PragueBlockHeader
    header_sedes = PragueBackwardsHeader
    block_requests: tuple = ()
    # EIP-7691 raised the blob target, and with it the excess computation.
    excess_blob_gas = staticmethod(calc_excess_blob_gas_prague)

    def block_postprocessing(self, block: BlockAPI) -> BlockAPI:
        """Keep the block's requests, which py-evm drops when it copies the block."""
        processed = super().block_postprocessing(block)
        self.block_requests = tuple(block.block_requests)
        return processed

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
            raise SystemContractFailed(f"system contract {address.hex()} has no code")
        return self.system_call(address, code)

    def system_call(self, address: bytes, code: bytes) -> bytes:
        """Run ``code`` at ``address`` as the system address's call; its output."""
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
        if computation.is_error:
            raise SystemContractFailed(
                f"system contract {address.hex()} call failed: {computation.error!r}"
            )
        return computation.output


# VM classes by fork id: a set of rules the guest can run.
ForkRules = Mapping[int, Type[VirtualMachineAPI]]

# The rules of each fork id, as the guest runs them unless told otherwise.
FORK_RULES: ForkRules = {FORK_CANCUN: Cancun, FORK_PRAGUE: Prague}


def fork_rules(chain_config: ChainConfig, rules: ForkRules = FORK_RULES) -> Type[VirtualMachineAPI]:
    """The VM class for ``chain_config.fork`` in ``rules``."""
    fork = int(chain_config.fork)
    try:
        return rules[fork]
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
