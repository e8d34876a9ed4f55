"""
Assertions that say what happened: ``reverts`` for L1 and L2 calls, and
``execute_accepts`` / ``execute_rejects`` for EXECUTE, whose failures show the
refusal, the roots the payload claims beside those execution computes, and gas.
"""

import re
from contextlib import ContextDecorator
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple, Union

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_abi import is_encodable
from eth_abi.exceptions import ABITypeError, EncodingError, ParseError
from eth_hash.auto import keccak
from eth_utils import to_checksum_address
from web3 import Web3
from web3.exceptions import ContractLogicError, TransactionNotFound

from precompile.constants import EXECUTE_PRECOMPILE_ADDRESS
from precompile.encoding import DecodingError, decode
from precompile.engines import ExecutionOutcome
from precompile.engines.pyevm import PyEvmEngine
from precompile.guest import engine_arguments, verify_stateless_new_payload
from precompile.ssz import StatelessInput, StatelessValidationResult
from rollup.l1_contract import RollupError
from rollup.rollup import Rollup

from . import revert_sites
from .arguments import Expected, InvalidArgument, a_kind, byte_string, described, expected_text
from .artifacts import ConstructorReverted
from .revert_sites import mined_revert, revert_of, revert_reason

EXECUTE = to_checksum_address(EXECUTE_PRECOMPILE_ADDRESS)
# A custom error's signature: its name, then its argument types in parentheses.
ERROR_SIGNATURE = re.compile(r"^([A-Za-z_$][A-Za-z0-9_$]*)\((.*)\)$")


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
    (the selector and ABI encoding are computed from the signature; a tuple
    argument is written ``(uint256,address)``). InvalidArgument at once for a
    signature that is not one, or arguments its types do not take.
    """

    def __init__(self, signature: str, *args) -> None:
        found = ERROR_SIGNATURE.match(signature) if isinstance(signature, str) else None
        if found is None:
            raise InvalidArgument(
                f"CustomError: {described(signature)} is not an error's signature; give its name"
                " and argument types, as CustomError(\"TooLow(uint256)\", 7)"
            )
        self.name, self.args = found.group(1), args
        self.types = argument_types(found.group(2))
        self.selector = keccak(f"{self.name}({','.join(self.types)})".encode())[:4]
        self.data = self.selector + encoded_arguments(signature, self.types, args)

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


def argument_types(listed: str) -> List[str]:
    """The types of an error's signature, split at the commas outside a tuple's parentheses."""
    types, depth, start = [], 0, 0
    for index, character in enumerate(listed):
        depth += {"(": 1, ")": -1}.get(character, 0)
        if character == "," and depth == 0:
            types.append(listed[start:index].strip())
            start = index + 1
    last = listed[start:].strip()
    return types + [last] if last or types else types


def encoded_arguments(signature: str, types: List[str], args: tuple) -> bytes:
    """``args`` ABI-encoded as ``types``; InvalidArgument saying which does not fit."""
    said = f"CustomError({signature!r})"
    if len(args) != len(types):
        raise InvalidArgument(
            f"{said}: its signature has {len(types)} argument(s), {len(args)} given"
        )
    try:
        return abi_encode(types, list(args))
    except (ParseError, ABITypeError):
        raise InvalidArgument(f"{said}: {', '.join(types)} are not all ABI types") from None
    except EncodingError:
        unfit = [
            f"{described(argument)} is not {a_kind(kind)}"
            for kind, argument in zip(types, args) if not is_encodable(kind, argument)
        ]
        raise InvalidArgument(f"{said}: {'; '.join(unfit) or 'the arguments do not fit'}") from None


def matches(expected: Expected, found: str) -> bool:
    if expected is None:
        return True
    if isinstance(expected, re.Pattern):
        return expected.search(found) is not None
    return expected == found or expected in found


def reverts(
    reason: Expected = None, error: Optional[CustomError] = None, dev: Expected = None
) -> "ExpectedRevert":
    """
    The block must revert (an L1 or L2 call or transaction sent through web3.py,
    a deployment, or a rollup operation); with ``reason`` (text it contains, or
    a pattern), for that reason; with ``error``, with that custom error and those
    arguments; with ``dev``, at a Vyper line whose ``# dev:`` comment says so (a
    contract the ``deploy`` fixture deployed, called through the plugin's clients).
    What it is given is checked before the block runs; ``as caught`` gives the
    ``Revert`` (its reason and custom error data).
    """
    __tracebackhide__ = True  # a failure points at the test's line
    reason = expected_text(reason, "reverts: reason")
    dev = expected_text(dev, "reverts: dev")
    if error is not None and not isinstance(error, CustomError):
        raise InvalidArgument(
            f"reverts: error={described(error)}: give a CustomError, as"
            " error=CustomError(\"TooLow(uint256)\", 7)"
        )
    return ExpectedRevert(reason, error, dev)


# What a block that reverts raises: a deployment's, web3.py's for a call or a
# transaction's gas estimate, a rollup operation's.
REVERTED = (ConstructorReverted, ContractLogicError, RollupError)


@dataclass
class Watching:
    """One entry of a ``reverts`` block: what it caught, and the revert sites' counts then."""

    caught: Revert
    failures_before: int
    sends_before: int


class ExpectedRevert(ContextDecorator):
    """
    ``reverts``'s block (or decorator). A class, not a generator: a failure
    then points at the test's ``with`` line, with no contextlib frame in
    between and not chained to the revert it judged. Each entry keeps its
    own watch, so one object may be entered again inside itself.
    """

    def __init__(self, reason: Expected, error: Optional[CustomError], dev: Expected) -> None:
        self.reason, self.error, self.dev = reason, error, dev
        self.entries: List[Watching] = []

    def __enter__(self) -> Revert:
        sites = revert_sites.SITES
        self.entries.append(Watching(Revert(), sites.failures, sites.sends))
        return self.entries[-1].caught

    def __exit__(self, kind, raised, traceback) -> bool:
        __tracebackhide__ = True
        watching = self.entries.pop()
        if raised is not None and not isinstance(raised, REVERTED):
            return False  # not a revert: the test's own error, as it is
        try:
            self.judge(raised, watching)
        except AssertionError as failure:
            raise failure from None
        return True

    def judge(self, raised: Optional[BaseException], watching: Watching) -> None:
        """AssertionError unless ``raised`` (or a transaction the block sent) reverted as
        expected."""
        __tracebackhide__ = True
        caught, error, failed, constructor = watching.caught, self.error, None, None
        if isinstance(raised, ConstructorReverted):
            caught.reason, caught.data, constructor = raised.reason, raised.custom_error, raised
        elif isinstance(raised, ContractLogicError):
            caught.reason, caught.data = revert_of(raised)
        elif isinstance(raised, RollupError):
            caught.reason = revert_reason(str(raised))
        else:
            failed = first_failed_transaction(
                revert_sites.SITES.sent_since(watching.sends_before), caught
            )
            if failed is None:
                raise AssertionError(
                    "the call did not revert" + self.expected_in_parentheses()
                    + (
                        f"; {caught.pending} transaction(s) it sent are still pending: mine"
                        " them inside the block to see whether they revert"
                        if caught.pending else ""
                    )
                )
        if failed is not None:
            site = revert_sites.SITES.site_of_transaction(*failed)
        else:
            site = revert_site_since(watching.failures_before)
        answered = failed is not None or revert_sites.SITES.failures != watching.failures_before
        where = f" at {site}" if site is not None else ""
        found = what_it_reverted_with(caught, error)
        if error is not None and caught.data != error.data:
            raise AssertionError(
                f"expected a revert with {error!r}, but it reverted with {found}{where}"
            )
        # A custom error's "reason" is its data in hex: no reason text to match ("x" would).
        reason_text = "" if caught.data else caught.reason
        if not matches(self.reason, reason_text):
            if caught.data:
                found += ", a custom error, which carries no reason text"
            raise AssertionError(
                f"expected a revert {shown(self.reason)}, but it reverted with {found}{where}"
            )
        if self.dev is not None:
            check_dev_comment(self.dev, site, answered, constructor)

    def expected_in_parentheses(self) -> str:
        if self.reason:
            return f" (expected {shown(self.reason)})"
        return f" (expected {self.error!r})" if self.error else ""


def what_it_reverted_with(caught: Revert, error: Optional[CustomError]) -> str:
    """
    The revert's reason, or its custom error: decoded where ``error`` is that
    error, in hex otherwise (the node gives such a revert no reason text).
    """
    if not caught.data:
        return repr(caught.reason)
    if error is not None:
        return error.describe(caught.data)
    return f"0x{caught.data.hex()}"


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
        caught.reason, caught.data = mined_revert(web3, transaction_hash)
        return web3, transaction_hash, receipt.to
    return None


def revert_site_since(failures_before: int) -> Optional[revert_sites.RevertSite]:
    """Where the revert a node answered inside the block came from, where that is known."""
    sites = revert_sites.SITES
    if sites.failures == failures_before or sites.last_failure is None:
        return None
    return sites.site_of(sites.last_failure)


def check_dev_comment(
    dev: Expected, site, answered: bool, constructor: Optional[ConstructorReverted] = None
) -> None:
    """``answered``: a node answered the block's revert to the plugin's clients;
    ``constructor``: the revert was a deployment's."""
    expected = f"expected a revert with dev comment {shown(dev)}"
    if constructor is not None:
        # Source maps cover deployed code: a constructor's lines are not in them.
        instead = f" reverts({constructor.reason!r})" if constructor.reason else " the reason"
        raise AssertionError(
            f"{expected}, but it reverted in the constructor of {constructor.contract}, whose"
            f" dev comments are not read (only deployed code's are): expect{instead} instead"
        )
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


def call_execute(w3: Web3, encoded_input: bytes, said: str) -> Tuple[Optional[bytes], str]:
    """
    EXECUTE's output for ``encoded_input`` as a call on ``w3``'s L1 and "",
    or None and its refusal. InvalidArgument where the chain answers nothing:
    it has no EXECUTE, so it is not the L1 (an L2, most likely).
    """
    try:
        output = bytes(w3.eth.call({"to": EXECUTE, "data": encoded_input}))
    except ContractLogicError as refused:
        return None, revert_reason(str(refused.message))
    if not output:  # EXECUTE answers a result or a refusal; nothing comes from no code at all
        raise InvalidArgument(
            f"{said}: this is not the L1: chain {w3.eth.chain_id} has no EXECUTE precompile at"
            f" {EXECUTE} (a call to it returned nothing); pass the L1's w3 (the w3 fixture),"
            " not an L2's: an L2 block is executed on the L1"
        )
    return output, ""


def l1_web3(w3: Any, said: str) -> Web3:
    """``w3`` if it is a web3 (of the L1, the call tells); InvalidArgument otherwise."""
    if isinstance(w3, Web3):
        return w3
    if isinstance(w3, Rollup):
        raise InvalidArgument(f"{said}: w3 is a rollup: pass its L1's web3, rollup.l1 (or w3)")
    raise InvalidArgument(f"{said}: w3={described(w3)}: pass the L1's web3 (the w3 fixture)")


def l2_web3(l2: Any, said: str) -> Optional[Web3]:
    """The L2 chain to compare with: None (the session's, by chain id) or a web3."""
    if l2 is None or isinstance(l2, Web3):
        return l2
    if isinstance(l2, Rollup):
        raise InvalidArgument(f"{said}: l2 is a rollup: pass its L2's web3, rollup.l2_web3")
    raise InvalidArgument(f"{said}: l2={described(l2)}: pass the L2's web3 (the l2 fixture)")


def checked_arguments(
    w3: Any, encoded_input: Any, l2: Any, said: str
) -> Tuple[Web3, bytes, Optional[Web3]]:
    """An EXECUTE assertion's arguments, checked: the L1's web3, the input's bytes (given as
    bytes or hex), and the L2's web3 or None."""
    encoded_input = byte_string(encoded_input, f"{said}: encoded_input")
    return l1_web3(w3, said), encoded_input, l2_web3(l2, said)


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
    if l2 is None and execution.block is not None:
        l2 = session_l2_of(execution.block, int(stateless_input.chain_config.chain_id))
    return "\n".join([*lines, *execution.compared_roots(), *execution.compared_transactions(l2)])


# The L2 chains of the test session by chain id (a rollup and a composable rollup of one
# stage share theirs, on L1s of their own): the plugin names them, for diagnoses.
KNOWN_L2S: Dict[int, List[Web3]] = {}


def session_l2_of(block, chain_id: int) -> Optional[Web3]:
    """The session's L2 of ``chain_id`` that holds ``block``'s parent (else its first)."""
    candidates = KNOWN_L2S.get(chain_id, [])
    for candidate in candidates:
        try:
            candidate.eth.get_block(block.header.parent_hash)
        except Exception:  # web3's BlockNotFound: not this one
            continue
        return candidate
    return candidates[0] if candidates else None


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
    said = "execute_accepts"
    w3, encoded_input, l2 = checked_arguments(w3, encoded_input, l2, said)
    output, refusal = call_execute(w3, encoded_input, said)
    if output is None:
        raise AssertionError(
            f"EXECUTE refused the L2 block: {refusal or 'no reason given'}\n"
            + diagnosis(encoded_input, l2)
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
    said = "execute_rejects"
    w3, encoded_input, l2 = checked_arguments(w3, encoded_input, l2, said)
    reason = expected_text(reason, f"{said}: reason")
    output, refusal = call_execute(w3, encoded_input, said)
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
