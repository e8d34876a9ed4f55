"""
Assertions that say what happened: ``reverts`` for L1 and L2 calls, and
``execute_accepts`` / ``execute_rejects`` for EXECUTE, whose failures show the
refusal, the roots the payload claims beside those execution computes, and gas.
"""

import re
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Pattern, Tuple, Union

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_hash.auto import keccak
from eth_utils import to_checksum_address
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError, TransactionNotFound

from precompile.encoding import DecodingError, decode
from precompile.engines import ExecutionOutcome
from precompile.engines.pyevm import PyEvmEngine
from precompile.execute import EXECUTE_PRECOMPILE_ADDRESS
from precompile.guest import engine_arguments, verify_stateless_new_payload
from precompile.ssz import StatelessInput, StatelessValidationResult
from rollup.l1_contract import RollupError

from . import revert_sites

EXECUTE = to_checksum_address(EXECUTE_PRECOMPILE_ADDRESS)
Expected = Union[str, Pattern, None]


@dataclass
class Revert:
    """What ``reverts`` caught: the reason the node gave, and the revert data of a custom error."""

    reason: Optional[str] = None
    data: Optional[bytes] = None
    # Transactions the block sent that were not mined by its end (automine off).
    pending: int = 0


class CustomError:
    """
    A custom error as a contract reverts with it: ``CustomError("TooLow(uint256)", 7)``
    (flat argument types; the selector and ABI encoding are computed from the signature).
    """

    def __init__(self, signature: str, *args) -> None:
        name, _, rest = signature.partition("(")
        self.name, self.args = name, args
        self.types = [kind for kind in rest.rstrip(")").split(",") if kind]
        self.selector = keccak(signature.encode())[:4]

    @property
    def data(self) -> bytes:
        return self.selector + abi_encode(self.types, list(self.args))

    def describe(self, data: bytes) -> str:
        """``data`` as this error with its arguments where the selector matches, else hex."""
        if data[:4] != self.selector:
            return f"custom error 0x{data.hex()} (not {self.name})"
        try:
            found = abi_decode(self.types, data[4:])
        except Exception:  # eth-abi's decoding errors: data too short or malformed
            return f"{self.name} with undecodable arguments 0x{data[4:].hex()}"
        return f"{self.name}({', '.join(map(repr, found))})"

    def __repr__(self) -> str:
        return f"{self.name}({', '.join(map(repr, self.args))})"


def revert_reason(message: str) -> str:
    """The reason alone, without the node's "execution reverted: " (and what came before)."""
    reason = message.split("execution reverted: ", 1)[-1]
    return "" if reason == "execution reverted" else reason


def matches(expected: Expected, found: str) -> bool:
    if expected is None:
        return True
    if isinstance(expected, re.Pattern):
        return expected.search(found) is not None
    return expected == found or expected in found


@contextmanager
def reverts(
    reason: Expected = None, error: Optional[CustomError] = None, dev: Expected = None
) -> Iterator[Revert]:
    """
    The block must revert (an L1 or L2 call or transaction sent through web3.py,
    or a rollup operation); with ``reason`` (text it contains, or a pattern), for
    that reason; with ``error``, with that custom error and those arguments;
    with ``dev``, at a Vyper line whose ``# dev:`` comment says so (a contract
    the ``deploy`` fixture deployed, called through the plugin's clients).
    """
    __tracebackhide__ = True  # a failure points at the test's line
    caught = Revert()
    expected = shown(reason) if reason else repr(error) if error else None
    failures_before = revert_sites.SITES.failures
    sends_before = revert_sites.SITES.sends
    failed = None
    try:
        yield caught
    except ContractCustomError as reverted:
        caught.data = bytes.fromhex(str(reverted.data).removeprefix("0x"))
        caught.reason = str(reverted.message)
    except (ContractLogicError, RollupError) as reverted:
        caught.reason = revert_reason(str(getattr(reverted, "message", None) or reverted))
    else:
        failed = first_failed_transaction(revert_sites.SITES.sent_since(sends_before), caught)
        if failed is None:
            raise AssertionError(
                "the call did not revert" + (f" (expected {expected})" if expected else "")
                + (
                    f"; {caught.pending} transaction(s) it sent are still pending: mine them"
                    " inside the block to see whether they revert" if caught.pending else ""
                )
            )
    if failed is not None:
        site = revert_sites.SITES.site_of_transaction(*failed)
    else:
        site = revert_site_since(failures_before)
    answered = failed is not None or revert_sites.SITES.failures != failures_before
    where = f" at {site}" if site is not None else ""
    if error is not None and caught.data != error.data:
        found = error.describe(caught.data) if caught.data else repr(caught.reason)
        raise AssertionError(
            f"expected a revert with {error!r}, but it reverted with {found}{where}"
        )
    if not matches(reason, caught.reason):
        raise AssertionError(
            f"expected a revert {shown(reason)}, but it reverted with {caught.reason!r}{where}"
        )
    if dev is not None:
        check_dev_comment(dev, site, answered)


def first_failed_transaction(sent: list, caught: Revert) -> Optional[Tuple[Web3, str, str]]:
    """
    A transaction sent inside the block with its own gas is mined even when it
    reverts: the first of ``sent`` that did puts its reason and data in
    ``caught``; its client, hash and recipient (where its trace starts), or
    None if none reverted.
    """
    for web3, transaction_hash in sent:
        try:
            receipt = web3.eth.get_transaction_receipt(transaction_hash)
        except TransactionNotFound:  # pending (no automine): whether it reverts is unknown yet
            caught.pending += 1
            continue
        if receipt.status != 0:
            continue
        trace = web3.provider.make_request(
            "debug_traceTransaction", [transaction_hash, {"tracer": "callTracer"}]
        ).get("result") or {}
        output = bytes.fromhex(str(trace.get("output") or "0x").removeprefix("0x"))
        caught.reason = trace.get("revertReason") or ""
        caught.data = output if output and not caught.reason else None
        return web3, transaction_hash, receipt.to
    return None


def revert_site_since(failures_before: int) -> Optional[revert_sites.RevertSite]:
    """Where the revert a node answered inside the block came from, where that is known."""
    sites = revert_sites.SITES
    if sites.failures == failures_before or sites.last_failure is None:
        return None
    return sites.site_of(sites.last_failure)


def check_dev_comment(dev: Expected, site, answered: bool) -> None:
    """``answered``: a node answered the block's revert to the plugin's clients."""
    expected = f"expected a revert with dev comment {shown(dev)}"
    if not answered:
        raise AssertionError(
            f"{expected}, but no node answered a revert to the plugin's clients inside the block"
            " (dev comments are found for calls and transactions sent through the l1, w3 and"
            " l2 fixtures' clients)"
        )
    if site is None:
        raise AssertionError(
            f"{expected}, but the revert came from code whose Vyper source the deploy"
            " fixture did not deploy"
        )
    if site.dev is None:
        raise AssertionError(f"{expected}, but it reverted at {site}, which has no # dev: comment")
    if not matches(dev, site.dev):
        raise AssertionError(f"{expected}, but it reverted at {site}: # dev: {site.dev}")


def shown(expected: Expected) -> str:
    return f"matching /{expected.pattern}/" if isinstance(expected, re.Pattern) else repr(expected)


# -- EXECUTE --


def call_execute(w3: Web3, encoded_input: Union[bytes, str]) -> Tuple[Optional[bytes], str]:
    """EXECUTE's output for ``encoded_input`` as an L1 call and "", or None and its refusal."""
    try:
        return bytes(w3.eth.call({"to": EXECUTE, "data": input_bytes(encoded_input)})), ""
    except ContractLogicError as refused:
        return None, revert_reason(str(refused.message))


def input_bytes(encoded_input: Union[bytes, str]) -> bytes:
    """An encoded input given as bytes or as 0x-prefixed hex."""
    if isinstance(encoded_input, str):
        return bytes.fromhex(encoded_input.removeprefix("0x"))
    return bytes(encoded_input)


def diagnosis(encoded_input: bytes, l2: Optional[Web3] = None) -> str:
    """
    Why EXECUTE refuses (or would accept) this input, as the reference guest
    sees it: the payload's roots and gas beside what execution computes, and
    each transaction's outcome, with the first that differs from the block of
    that number on the L2 chain (``l2``, else the session's rollup of the
    payload's chain id), where that block has the same parent.
    """
    try:
        stateless_input = decode(bytes(encoded_input), StatelessInput)
    except DecodingError as error:
        return f"the input does not decode: {error}"
    report = verify_stateless_new_payload(stateless_input)
    lines = ["guest verdict: " + (report.refusal if report.error else "valid")]
    try:
        execution = ReferenceExecution.of(stateless_input)
    except Exception as failure:  # the diagnosis of a refused block may not run at all
        return "\n".join([*lines, f"execution could not run: {failure}"])
    if l2 is None:
        l2 = KNOWN_L2S.get(int(stateless_input.chain_config.chain_id))
    return "\n".join([*lines, *execution.compared_roots(), *execution.compared_transactions(l2)])


# The L2 chains of the test session, by chain id: the plugin names them, for diagnoses.
KNOWN_L2S: Dict[int, Web3] = {}


@dataclass
class ReferenceExecution:
    """A payload run once by the reference engine on its witness, for a diagnosis."""

    payload: Any
    block: Any
    outcome: Optional[ExecutionOutcome]
    receipts: tuple
    # Why the block could not run (an invalid transaction, a missing witness node).
    failure: Optional[str]

    @classmethod
    def of(cls, stateless_input: StatelessInput) -> "ReferenceExecution":
        arguments = engine_arguments(stateless_input)
        payload, block = stateless_input.new_payload_request.execution_payload, arguments[1]
        try:
            outcome, receipts = PyEvmEngine().execute_with_receipts(*arguments)
        except Exception as failure:  # the block's own fault: what the diagnosis says
            return cls(payload, block, None, (), str(failure))
        return cls(payload, block, outcome, receipts, None)

    def compared_roots(self) -> list:
        """The payload's state root, receipts root and gas used beside what execution computes."""
        if self.outcome is None:
            return [f"execution could not run: {self.failure}"]
        payload, outcome = self.payload, self.outcome
        return [
            f"state root:    expected 0x{bytes(payload.state_root).hex()}, "
            f"computed 0x{outcome.state_root.hex()}",
            f"receipts root: expected 0x{bytes(payload.receipts_root).hex()}, "
            f"computed 0x{outcome.receipts_root.hex()}",
            f"gas used:      expected {int(payload.gas_used)}, computed {outcome.gas_used}",
        ]

    def compared_transactions(self, l2: Optional[Web3]) -> list:
        """Each transaction's status and gas as computed, and the first diverging one."""
        if self.outcome is None:  # said already by compared_roots
            return []
        computed = transaction_outcomes(self.block.transactions, self.receipts)
        lines = [f"transactions:  {len(computed)} in the block, as execution computes them"]
        lines += [f"  #{index} {outcome}" for index, outcome in enumerate(computed)]
        return lines + [first_divergence(self.block, computed, l2)]


@dataclass(frozen=True)
class TransactionOutcome:
    hash: bytes
    status: int
    gas: int
    logs: int

    def __str__(self) -> str:
        return f"0x{self.hash.hex()} status {self.status}, gas {self.gas}, {self.logs} logs"


def transaction_outcomes(transactions, receipts) -> List[TransactionOutcome]:
    outcomes, cumulative = [], 0
    for transaction, receipt in zip(transactions, receipts):
        status = 1 if receipt.state_root == b"\x01" else 0
        gas, cumulative = receipt.gas_used - cumulative, receipt.gas_used
        outcomes.append(TransactionOutcome(transaction.hash, status, gas, len(receipt.logs)))
    return outcomes


def chain_outcomes(l2: Web3, number: int) -> List[TransactionOutcome]:
    return [
        TransactionOutcome(
            bytes(receipt.transactionHash), receipt.status, receipt.gasUsed, len(receipt.logs)
        )
        for receipt in l2.eth.get_block_receipts(number)
    ]


def first_divergence(block, computed: List[TransactionOutcome], l2: Optional[Web3]) -> str:
    """The first transaction whose outcome is not that of the L2 chain's block of this number."""
    number = block.header.block_number
    if l2 is None:
        return "first diverging transaction: no L2 chain to compare with (pass l2=)"
    try:
        theirs = l2.eth.get_block(number)
    except Exception:  # web3's BlockNotFound, or a node that cannot answer
        theirs = None
    if theirs is None or bytes(theirs.parentHash) != block.header.parent_hash:
        return (
            f"first diverging transaction: the L2 chain has no block {number} on this block's"
            " parent to compare with"
        )
    expected = chain_outcomes(l2, number)
    for index, (ours, chains) in enumerate(zip(computed, expected)):
        if ours.hash != chains.hash:
            return (
                f"first diverging transaction: #{index}, not the L2 chain's (its block {number}"
                f" has 0x{chains.hash.hex()} there)"
            )
        if ours != chains:
            return f"first diverging transaction: #{index}, which on the L2 chain had {chains}"
    if len(computed) != len(expected):
        return (
            f"first diverging transaction: #{min(len(computed), len(expected))}: the block has"
            f" {len(computed)} transactions, the L2 chain's block {number} {len(expected)}"
        )
    fields = header_differences(block.header, theirs)
    return (
        f"first diverging transaction: none, every one is as in the L2 chain's block {number}"
        + (f"; the header differs from it in {', '.join(fields)}" if fields else "")
    )


def header_differences(header, theirs) -> List[str]:
    compared = {
        "state root": (header.state_root, bytes(theirs.stateRoot)),
        "receipts root": (header.receipt_root, bytes(theirs.receiptsRoot)),
        "gas used": (header.gas_used, theirs.gasUsed),
        "gas limit": (header.gas_limit, theirs.gasLimit),
        "timestamp": (header.timestamp, theirs.timestamp),
        "coinbase": (header.coinbase, bytes.fromhex(theirs.miner[2:])),
        "base fee": (header.base_fee_per_gas, theirs.baseFeePerGas),
        "logs bloom": (header.bloom, int.from_bytes(bytes(theirs.logsBloom), "big")),
        "extra data": (header.extra_data, bytes(theirs.extraData)),
    }
    return [name for name, (ours, chains) in compared.items() if ours != chains]


def execute_accepts(
    w3: Web3, encoded_input: Union[bytes, str], l2: Optional[Web3] = None
) -> StatelessValidationResult:
    """
    EXECUTE on ``w3``'s L1 must accept the input; its result. A refusal shows
    why (``l2``: the chain to find the first diverging transaction against).
    """
    __tracebackhide__ = True  # a failure points at the test's line
    output, refusal = call_execute(w3, encoded_input)
    if output is None:
        raise AssertionError(
            f"EXECUTE refused the L2 block: {refusal or 'no reason given'}\n"
            + diagnosis(input_bytes(encoded_input), l2)
        )
    return StatelessValidationResult.decode_bytes(output)


def execute_rejects(
    w3: Web3, encoded_input: Union[bytes, str], reason: Expected = None,
    l2: Optional[Web3] = None,
) -> str:
    """
    EXECUTE on ``w3``'s L1 must refuse the input (with ``reason``: text the
    refusal contains, or a pattern); the refusal. ``l2`` as for ``execute_accepts``.
    """
    __tracebackhide__ = True  # a failure points at the test's line
    output, refusal = call_execute(w3, encoded_input)
    encoded_input = input_bytes(encoded_input)
    if output is not None:
        raise AssertionError("EXECUTE accepted the L2 block" + (
            f" (expected a refusal {shown(reason)})" if reason else ""
        ) + "\n" + diagnosis(encoded_input, l2))
    if not matches(reason, refusal):
        raise AssertionError(
            f"EXECUTE refused the L2 block, but not {shown(reason)}: {refusal}\n"
            + diagnosis(encoded_input, l2)
        )
    return refusal
