"""
The ``composable`` fixture's world: a composable rollup (slot sequencing,
preconfirmations, slot-ending and based blocks: what ``nr up`` serves by
default) on an L1 of its own in slot mode, where one block is mined per
slot, by the test, as the slot clock would.

Based blocks are valid only in their slot and on their L1 parent, so they
need an L1 whose blocks come by slot: the session's automining L1 (``w3``)
mines every transaction at once, in whatever slot the clock is in.
"""

from contextlib import contextmanager
from typing import Optional, Sequence

from eth_account import Account
from web3 import Web3

from l1.accounts import DevAccount
from l1.node import Devnet, DevnetConfig
from rollup.based import BasedBlock, BasedBuilder
from rollup.composable import ComposableRollup, slot_friendly
from rollup.execution_table import ExecutionTableBuilder
from rollup.l1_contract import RollupError

from .arguments import (
    InvalidArgument,
    account_address,
    an_account,
    an_address,
    byte_string,
    described,
    whole_number,
)
from .revert_sites import mined_revert


class ComposableChains:
    """A composable rollup and its slot-mode L1, with the steps of a slot."""

    def __init__(self, l1: Devnet, rollup: ComposableRollup, builder: DevAccount) -> None:
        self.l1, self.rollup, self.builder = l1, rollup, BasedBuilder(rollup, builder)

    @classmethod
    def deploy(cls, stage, builder: DevAccount) -> "ComposableChains":
        """The stage's rollup, deployed while the new L1 automines, then the L1 in slot mode."""
        l1 = Devnet(DevnetConfig())
        rollup = ComposableRollup.deploy(l1.web3(), slot_friendly(stage))
        l1.set_automine(False)  # from here on, one block per slot
        rollup.sequencer.slot = rollup.sequencer.latest_l1_slot()
        return cls(l1, rollup, builder)

    @property
    def w3(self) -> Web3:
        """web3.py on this L1 (not the session's ``w3``)."""
        return self.rollup.l1

    @property
    def l2(self) -> Web3:
        return self.rollup.l2_web3

    @contextmanager
    def automining(self):
        """Meanwhile this L1 mines each transaction at once (to deploy contracts), then by slot."""
        self.l1.set_automine(True)
        try:
            yield
        finally:
            self.l1.set_automine(False)

    def next_slot(self):
        """Mine the next slot's L1 block and let the sequencer follow L1; the block."""
        block = self.l1.mine_slot(self.rollup.sequencer.next_l1_slot())
        self.rollup.sequencer.follow_l1()
        return block

    def build_based(self, transactions: Sequence[bytes] = (), **parts) -> BasedBlock:
        """
        A based block of ``transactions`` (signed, encoded) on the slot-ending
        block the sequencer releases now; ``parts`` as ``BasedBuilder.build``
        takes them (``before``, ``after``, ``assertions``...).
        """
        transactions, certificate = self._ending_the_slot(transactions)
        return self.builder.build(transactions, slot_ending=certificate, **parts)

    def build_calling(self, transactions: Sequence[bytes] = (), **parts) -> BasedBlock:
        """
        As ``build_based``, with the execution table the ``after`` actions'
        calls into L2 need (``CrossCalls.call_l2``; rollup/execution_table.py),
        filled by simulating the block on both chains.
        """
        transactions, certificate = self._ending_the_slot(transactions)
        return ExecutionTableBuilder(self.builder).build(
            transactions, slot_ending=certificate, **parts
        )

    def _ending_the_slot(self, transactions: Sequence[bytes]):
        """
        ``transactions`` decoded (bytes or hex), and the slot-ending certificate
        the sequencer releases now: only once every one of them decodes.
        """
        decoded = [self._decoded(raw, index) for index, raw in enumerate(transactions)]
        return decoded, self.rollup.sequencer.end_slot()

    def _decoded(self, raw, index: int):
        encoded = byte_string(raw, f"build_based: transactions[{index}]")
        try:
            return self.rollup.l2.vm_class.get_transaction_builder().decode(encoded)
        except Exception:  # py-evm raises several kinds for bytes that are no transaction
            raise InvalidArgument(
                f"build_based: transactions[{index}] ({described(encoded)}) does not decode as a"
                " signed L2 transaction; give what sign_l2 returns, or another signed"
                " transaction's bytes"
            ) from None

    def land(self, based: BasedBlock):
        """
        Land ``based`` in the next slot's L1 block and follow it; the L1
        receipt. RollupError with L1's reason if it did not land: a based
        block lands once, in the slot it was built in.
        """
        if not isinstance(based, BasedBlock):
            raise InvalidArgument(
                f"land: based={described(based)}: give what build_based or build_calling returned"
            )
        sent = self.builder.land(based)
        self.next_slot()
        receipt = self.w3.eth.get_transaction_receipt(sent)
        if receipt.status != 1:
            reason, _ = mined_revert(self.w3, sent)
            raise RollupError(
                f"land: the based block did not land (L1 block {receipt.blockNumber} reverted"
                f" it): {reason or 'no reason given'}; a based block lands once, in the slot it"
                " was built in: build it after next_slot(), not before"
            )
        return receipt

    def sign_l2(
        self, sender: DevAccount, to: str, value: int, nonce: Optional[int] = None
    ) -> bytes:
        """A signed L2 transfer from ``sender`` (its next pending nonce by default)."""
        key = an_account(sender, "sign_l2: sender")
        if nonce is None:
            nonce = self.rollup.l2.pool.next_nonce(bytes.fromhex(account_address(sender)[2:]))
        transaction = {
            "to": an_address(to, "sign_l2: to"),
            "value": whole_number(value, "sign_l2: value"),
            "gas": 21_000,
            "maxFeePerGas": 10**10,
            "maxPriorityFeePerGas": 0,
            "nonce": whole_number(nonce, "sign_l2: nonce"),
            "chainId": self.rollup.config.l2_chain_id,
        }
        return bytes(Account.sign_transaction(transaction, key).raw_transaction)
