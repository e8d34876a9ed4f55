"""
One drill's world and its record: a fresh L1 devnet with the configuration's
rollup on it, the users' moves, the L1 clock, and the evidence (what
happened, in which transaction and block, when) a drill's verdict rests on.
"""

import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional

from eth_hash.auto import keccak

from l1.accounts import DevAccount, derive_accounts
from l1.node import Devnet, DevnetConfig

from ..l1_contract import RollupError
from ..rollup import Rollup, Withdrawal
from .configuration import Configuration

ETHER = 10**18
DAY = 86400
ACCOUNTS = derive_accounts()
# Users (accounts 0-5); the attacker who receives stolen funds (7). Accounts
# 8 and 9 are the rollup's sequencer and operator.
ALICE, BOB, CAROL = ACCOUNTS[0], ACCOUNTS[1], ACCOUNTS[2]
ATTACKER = ACCOUNTS[7]
# What users hold on L2 before a drill, from deposits: the escrow at stake.
USER_DEPOSIT = 5 * ETHER
# What a claim may use: the proofs are checked in Vyper (about 0.5M); no estimate.
CLAIM_GAS = 3_000_000
# How long a drill waits for something that never comes before it calls it never.
PATIENCE = 60 * DAY


@dataclass
class Check:
    """One stage requirement as a drill found it: held, broken, or not applicable (None)."""

    requirement: str
    passed: Optional[bool]
    detail: str


@dataclass
class Outcome:
    """What a drill returns: a one-line summary, its checks and its measurements."""

    summary: str
    checks: List[Check]
    metrics: Dict[str, Any] = field(default_factory=dict)


@dataclass
class ForcedExit:
    """A censored user's forced withdrawal: when (drill seconds) it was forced, included, paid."""

    amount: int
    forced_at: int
    included_at: Optional[int] = None
    arrived_at: Optional[int] = None

    @property
    def time_to_inclusion(self) -> Optional[int]:
        return None if self.included_at is None else self.included_at - self.forced_at

    @property
    def latency(self) -> Optional[int]:
        return None if self.arrived_at is None else self.arrived_at - self.forced_at

    @property
    def frozen(self) -> int:
        """What the user could not get out (all of it, unless it arrived)."""
        return 0 if self.arrived_at is not None else self.amount


@dataclass
class Scenario:
    """A fresh devnet, the rollup under drill, and the evidence gathered so far."""

    configuration: Configuration
    l1: Devnet
    rollup: Rollup
    started_at: int
    evidence: List[Dict[str, Any]] = field(default_factory=list)

    @classmethod
    def start(cls, configuration: Configuration, l1_config: Optional[DevnetConfig] = None):
        l1 = Devnet(l1_config or DevnetConfig())
        rollup = Rollup.deploy(l1.web3(), configuration.stage)
        return cls(configuration, l1, rollup, l1.head().timestamp)

    # -- the clock --

    def now(self) -> int:
        """Seconds of L1 time since the drill began."""
        return self.l1.head().timestamp - self.started_at

    def wait(self, seconds: int) -> None:
        """Let ``seconds`` of L1 time pass (and mine a block there)."""
        self.l1.increase_time(max(0, int(seconds)))
        self.l1.mine()

    # -- the record --

    def note(self, what: str, receipt=None, **details: Any) -> None:
        """Record a step: what happened, when (L1 time), and the L1 transaction it rests on."""
        entry: Dict[str, Any] = {"at_s": self.now(), "what": what}
        if receipt is not None:
            entry["l1_transaction"] = "0x" + bytes(receipt["transactionHash"]).hex()
            entry["l1_block"] = receipt["blockNumber"]
            entry["l1_gas"] = receipt["gasUsed"]
        entry.update(details)
        self.evidence.append(entry)

    def attempt(self, what: str, action) -> Optional[Any]:
        """
        Run ``action`` (an L1 transaction or a step that sends some); note
        whether L1 took it or refused it, with the contract's reason. Its
        result, or None when refused.
        """
        try:
            result = action()
        except RollupError as refused:
            self.note(f"{what}: refused ({refused})", refused=True)
            return None
        receipt = result if isinstance(result, Mapping) and "transactionHash" in result else None
        self.note(f"{what}: done", receipt, refused=False)
        return result

    # -- the users --

    @property
    def sequencer(self):
        return self.rollup.sequencer

    def escrow(self) -> int:
        return self.l1.web3().eth.get_balance(self.rollup.address)

    def l1_balance(self, account: DevAccount) -> int:
        return self.l1.web3().eth.get_balance(account.checksum_address)

    def fund_users(self, *users: DevAccount) -> None:
        """Each user deposits USER_DEPOSIT from L1 to itself on L2; taken in and settled."""
        for user in users:
            self.rollup.deposit(user.checksum_address, USER_DEPOSIT)
        self.sequencer.step()
        self.note(
            f"{len(users)} users deposited {USER_DEPOSIT // ETHER} ether each;"
            f" escrow {self.escrow() / ETHER:g} ether",
        )

    def force_withdrawal(self, user: DevAccount, amount: int) -> bytes:
        """``user`` signs an L2 withdrawal and queues it on L1 past the sequencer; its L2 hash."""
        signed = self.rollup.sign_withdrawal(user, amount)
        self.rollup.force_include(user.checksum_address, signed)
        self.note(
            f"user {user.checksum_address[:10]} forced a withdrawal of {amount / ETHER:g} ether"
            " through L1", message=self.rollup.contract.view("message_count"),
        )
        return keccak(signed)

    def included(self, l2_transaction: bytes) -> bool:
        return self.rollup.l2.receipt(l2_transaction) is not None

    def claim(self, withdrawal: Withdrawal, sender: DevAccount):
        """Claim on L1 against the latest settled state root (RollupError if refused)."""
        return self.rollup.claim(withdrawal, sender=sender.checksum_address, gas=CLAIM_GAS)

    def exit_through_forced_inclusion(
        self, user: DevAccount, amount: int, deadline: Optional[int] = None
    ) -> "ForcedExit":
        """
        ``user``, ignored by a censoring sequencer, forces a withdrawal through
        L1 and claims it. The sequencer censors for as long as L1 settles its
        blocks; once L1 refuses them (the withdrawal is overdue), including
        it is the only way on, and it does. Gives up after PATIENCE, or at
        ``deadline`` (drill seconds).
        """
        config = self.configuration.stage
        limit = PATIENCE if deadline is None else deadline
        pace = config.inclusion_delay + 1 if config.inclusion_delay else 7 * DAY
        self.sequencer.ignores_forced = True
        forced = self.force_withdrawal(user, amount)
        record = ForcedExit(amount, self.now())
        self.wait(pace)
        while self.now() < limit:
            if self._censored_block_refused():
                self.sequencer.ignores_forced = False
                self.sequencer.rebuild_from_settled_head()
                for _ in range(3):
                    if self.included(forced):
                        break
                    self.sequencer.step()
                self.note("the censoring sequencer had to include the forced withdrawal to go on")
                break
            self.wait(pace)
        self.sequencer.ignores_forced = False
        if not self.included(forced):
            self.note(f"the forced withdrawal was not included after {self.now() / DAY:.1f} days")
            return record
        record.included_at = self.now()
        self.note("the forced withdrawal is in a settled L2 block",
                  l2_block=self.rollup.l2.receipt(forced)[0].header.block_number)
        withdrawal = self.attempt("the forced withdrawal ran on L2",
                                  lambda: self.rollup.withdrawal_in(forced))
        if withdrawal is None:
            return record
        self.wait(config.finality_delay)
        if self.now() >= limit:
            self.note("the withdrawal became claimable only after the deadline")
            return record
        before = self.l1_balance(user)
        receipt = self.attempt("the user claims the forced withdrawal on L1",
                               lambda: self.claim(withdrawal, user))
        if receipt is not None:
            fee = receipt["gasUsed"] * receipt["effectiveGasPrice"]
            if self.l1_balance(user) == before + amount - fee:
                record.arrived_at = self.now()
        return record

    def _censored_block_refused(self) -> bool:
        """Whether L1 refuses the censoring sequencer's next block (it leaves the queue behind)."""
        if self.rollup.settled_head() == self.rollup.l2.head().block_number:
            self.rollup.l2_web3.eth.send_transaction(
                {"from": CAROL.checksum_address, "to": ALICE.checksum_address, "value": 1}
            )
        try:
            self.sequencer.settle()
        except RollupError as refused:
            self.note(f"L1 refused the censoring sequencer's block ({refused})", refused=True)
            return True
        self.note("L1 settled a block of the censoring sequencer's without the forced withdrawal")
        return False


def wall_clock() -> float:
    return time.perf_counter()
