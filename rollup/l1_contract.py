"""
The L1 side of a rollup as web3.py sees it: its contracts (``NativeRollup``,
``Governance``), transactions to them, and the revert reason when one fails.
"""

import time
from typing import Any, Callable, Dict, Optional

from web3 import Web3
from web3.exceptions import (
    ContractLogicError,
    TimeExhausted,
    TransactionIndexingInProgress,
    TransactionNotFound,
)

from contracts import compile_contract

# The longest a transaction to a rollup contract may take to be mined (web3.py's default).
RECEIPT_TIMEOUT_SECONDS = 120.0
POLL_SECONDS = 0.1


class RollupError(Exception):
    """An L1 or L2 operation the rollup refused, with the contract's reason."""


class ProofsNotComing(Exception):
    """
    A transaction waits in an L1's pool for execution proofs (proofs mode)
    that do not come. Not a refusal: it is still there, and goes in once
    they do.
    """


def mined_receipt(
    l1: Web3, transaction_hash: bytes, name: str, proof_patience: Optional[float] = None,
    when_awaiting_proofs: Optional[Callable[[], Any]] = None,
):
    """
    The receipt of ``transaction_hash`` once mined. ProofsNotComing when the
    node holds it for execution proofs (``nr_awaitingProofs``) and what it
    lacks has not changed in ``proof_patience`` seconds, or still lacks them
    after ``RECEIPT_TIMEOUT_SECONDS``; web3.py's TimeExhausted when it is not
    mined by then for another reason. ``when_awaiting_proofs`` is called each
    time what it lacks changes (a prover at hand proves then).
    """
    started = time.monotonic()
    lacking, lacking_since = None, started
    while True:
        try:
            return l1.eth.get_transaction_receipt(transaction_hash)
        except (TransactionNotFound, TransactionIndexingInProgress):
            pass
        now = time.monotonic()
        waits_for = proofs_awaited(l1, transaction_hash)
        if waits_for != lacking:
            lacking, lacking_since = waits_for, now
            if lacking is not None and when_awaiting_proofs is not None:
                when_awaiting_proofs()
                continue
        timed_out = now - started >= RECEIPT_TIMEOUT_SECONDS
        stalled = proof_patience is not None and now - lacking_since >= proof_patience
        if lacking is not None and (stalled or timed_out):
            raise ProofsNotComing(
                f"{name}: the transaction 0x{bytes(transaction_hash).hex()} waits for execution"
                f" proofs ({lacking}) and none came in {now - lacking_since:.1f} s: run a"
                " prover beside the node (nr prover; nr up runs one), prove it from the test"
                " (`with prover.proving_settlements():`), or start the L1 with --execute-mode"
                " reexecute"
            )
        if timed_out:
            raise TimeExhausted(
                f"{name}: the transaction 0x{bytes(transaction_hash).hex()} was not mined in"
                f" {RECEIPT_TIMEOUT_SECONDS:.0f} s"
            )
        time.sleep(POLL_SECONDS)


def proofs_awaited(l1: Web3, transaction_hash: bytes) -> Optional[str]:
    """
    What the node says a pending transaction lacks in execution proofs; None
    if it lacks none: it waits for none, its proofs are in (it waits for the
    next block), or the node does not say (only nr devnet and nr up answer
    nr_awaitingProofs).
    """
    answer = l1.provider.make_request("nr_awaitingProofs", [])
    wanted = "0x" + bytes(transaction_hash).hex()
    for waiting in answer.get("result") or []:
        if waiting.get("hash") == wanted and not waiting.get("proven"):
            return waiting.get("reason")
    return None


class L1Contract:
    """One of the package's contracts (``contracts/<name>.vy``) at ``address`` on L1."""

    # How long a transaction to it may wait for execution proofs while none comes
    # (None: as long as for any receipt); the pytest plugin's rollups give up sooner.
    proof_patience: Optional[float] = None
    # Called while a transaction to it waits for proofs (the prover fixture's
    # ``proving_settlements`` sets it); None: nothing here proves.
    when_awaiting_proofs: Optional[Callable[[], Any]] = None

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
        receipt = mined_receipt(
            self.l1, transaction_hash, name, self.proof_patience, self.when_awaiting_proofs
        )
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
