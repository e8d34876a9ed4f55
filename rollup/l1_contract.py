"""
The L1 side of a rollup as web3.py sees it: its contracts (``NativeRollup``,
``Governance``), transactions to them, and the revert reason when one fails.
"""

from typing import Any, Dict, Optional

from web3 import Web3
from web3.exceptions import ContractLogicError

from contracts import compile_contract


class RollupError(Exception):
    """An L1 or L2 operation the rollup refused, with the contract's reason."""


class L1Contract:
    """One of the package's contracts (``contracts/<name>.vy``) at ``address`` on L1."""

    def __init__(self, l1: Web3, name: str, address: str) -> None:
        self.l1, self.name = l1, name
        self.address = Web3.to_checksum_address(address)
        self.compiled = compile_contract(name)
        self.contract = l1.eth.contract(self.address, abi=self.compiled.abi)

    @classmethod
    def deploy(cls, l1: Web3, name: str, deployer: str, *constructor_args: Any) -> "L1Contract":
        compiled = compile_contract(name)
        factory = l1.eth.contract(abi=compiled.abi, bytecode=compiled.bytecode)
        try:
            transaction_hash = factory.constructor(*constructor_args).transact({"from": deployer})
        except ContractLogicError as reverted:
            raise RollupError(f"deploying {name}: {reverted.message}") from reverted
        receipt = l1.eth.wait_for_transaction_receipt(transaction_hash)
        if receipt.status != 1:
            raise RollupError(f"deploying {name} failed")
        return cls(l1, name, receipt.contractAddress)

    def view(self, name: str, *args: Any) -> Any:
        return getattr(self.contract.functions, name)(*args).call()

    def send(
        self, name: str, *args: Any, sender: str, value: int = 0, gas: Optional[int] = None
    ) -> bytes:
        """
        Send ``name(*args)`` without waiting for its block (an L1 in slot
        mode takes it at the next slot); the transaction hash. Without
        ``gas`` the estimate runs it first: ``RollupError`` if it reverts.
        """
        return self._send(self._function(name, args), self._parameters(sender, value, gas), name)

    def transact(
        self, name: str, *args: Any, sender: str, value: int = 0, gas: Optional[int] = None
    ) -> Dict[str, Any]:
        """Send ``name(*args)``; the receipt, or ``RollupError`` naming why it reverted."""
        function = self._function(name, args)
        parameters = self._parameters(sender, value, gas)
        transaction_hash = self._send(function, parameters, name)
        receipt = self.l1.eth.wait_for_transaction_receipt(transaction_hash)
        if receipt.status != 1:
            raise RollupError(f"{name}: {self._revert_reason(function, parameters, receipt)}")
        return receipt

    def _function(self, name: str, args: tuple):
        return getattr(self.contract.functions, name)(*args)

    @staticmethod
    def _parameters(sender: str, value: int, gas: Optional[int]) -> Dict[str, Any]:
        parameters: Dict[str, Any] = {"from": sender, "value": value}
        if gas is not None:
            parameters["gas"] = gas
        return parameters

    @staticmethod
    def _send(function, parameters: Dict[str, Any], name: str) -> bytes:
        try:
            return function.transact(parameters)
        except ContractLogicError as reverted:  # gas estimation ran it and it reverted
            raise RollupError(f"{name}: {reverted.message}") from reverted

    def _revert_reason(self, function, parameters: Dict[str, Any], receipt) -> str:
        """Replay the failed call on the state it ran on, for its reason."""
        try:
            function.call(parameters, block_identifier=receipt.blockNumber - 1)
        except ContractLogicError as reverted:
            return reverted.message
        return "reverted (the replay did not; the state moved between)"

    def events(self, name: str, from_block: int = 0, to_block="latest") -> list:
        return getattr(self.contract.events, name)().get_logs(
            from_block=from_block, to_block=to_block
        )
