"""
Assertions that say what happened: ``reverts`` for L1 and L2 calls, and
``execute_accepts`` / ``execute_rejects`` for EXECUTE, whose failures show the
refusal, the roots the payload claims beside those execution computes, and gas.
"""

import re
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, Optional, Pattern, Union

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_hash.auto import keccak
from eth_utils import to_checksum_address
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError

from precompile.encoding import DecodingError, decode
from precompile.engines import REFERENCE_ENGINE, engines
from precompile.execute import EXECUTE_PRECOMPILE_ADDRESS
from precompile.forks import fork_rules
from precompile.guest import validate_witness_headers, verify_stateless_new_payload, witness_entries
from precompile.payload import new_payload_request_to_block
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
    caught = Revert()
    expected = shown(reason) if reason else repr(error) if error else None
    failures_before = revert_sites.SITES.failures
    try:
        yield caught
    except ContractCustomError as reverted:
        caught.data = bytes.fromhex(str(reverted.data).removeprefix("0x"))
        caught.reason = str(reverted.message)
    except (ContractLogicError, RollupError) as reverted:
        caught.reason = revert_reason(str(getattr(reverted, "message", None) or reverted))
    else:
        raise AssertionError(
            "the call did not revert" + (f" (expected {expected})" if expected else "")
        )
    site = revert_site_since(failures_before)
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
        check_dev_comment(dev, site, failures_before)


def revert_site_since(failures_before: int) -> Optional[revert_sites.RevertSite]:
    """Where the revert a node answered inside the block came from, where that is known."""
    sites = revert_sites.SITES
    if sites.failures == failures_before or sites.last_failure is None:
        return None
    return sites.site_of(sites.last_failure)


def check_dev_comment(dev: Expected, site, failures_before: int) -> None:
    expected = f"expected a revert with dev comment {shown(dev)}"
    if revert_sites.SITES.failures == failures_before:
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


def call_execute(w3: Web3, encoded_input: bytes) -> Optional[bytes]:
    """EXECUTE's output for ``encoded_input`` as an L1 call, or None where it failed."""
    try:
        return bytes(w3.eth.call({"to": EXECUTE, "data": bytes(encoded_input)}))
    except ContractLogicError:
        return None


def diagnosis(encoded_input: bytes) -> str:
    """
    Why EXECUTE refuses (or would accept) this input, as the reference guest
    sees it, with the payload's roots and gas beside what execution computes.
    """
    try:
        stateless_input = decode(bytes(encoded_input), StatelessInput)
    except DecodingError as error:
        return f"the input does not decode: {error}"
    report = verify_stateless_new_payload(stateless_input)
    lines = [
        "guest verdict: " + (report.refusal if report.error else "valid"),
        *compared_roots(stateless_input),
    ]
    return "\n".join(lines)


def compared_roots(stateless_input: StatelessInput) -> list:
    """The payload's state root, receipts root and gas used beside what the reference engine
    computes from the witness (or why it could not run the block at all)."""
    payload = stateless_input.new_payload_request.execution_payload
    try:
        vm_class = fork_rules(stateless_input.chain_config)
        block = new_payload_request_to_block(stateless_input.new_payload_request, vm_class)
        headers = validate_witness_headers(stateless_input.witness, vm_class)
        outcome = engines()[REFERENCE_ENGINE].execute(
            vm_class, block, headers, witness_entries(stateless_input.witness),
            int(stateless_input.chain_config.chain_id),
        )
    except Exception as failure:  # the diagnosis of a refused block may not run at all
        return [f"execution could not run: {failure}"]
    return [
        f"state root:    expected 0x{bytes(payload.state_root).hex()}, "
        f"computed 0x{outcome.state_root.hex()}",
        f"receipts root: expected 0x{bytes(payload.receipts_root).hex()}, "
        f"computed 0x{outcome.receipts_root.hex()}",
        f"gas used:      expected {int(payload.gas_used)}, computed {outcome.gas_used}",
    ]


def execute_accepts(w3: Web3, encoded_input: bytes) -> StatelessValidationResult:
    """EXECUTE on ``w3``'s L1 must accept the input; its result. A refusal shows why."""
    output = call_execute(w3, encoded_input)
    if output is None:
        raise AssertionError("EXECUTE refused the L2 block\n" + diagnosis(encoded_input))
    return StatelessValidationResult.decode_bytes(output)


def execute_rejects(w3: Web3, encoded_input: bytes, reason: Expected = None) -> str:
    """
    EXECUTE on ``w3``'s L1 must refuse the input (with ``reason``: text the
    refusal contains, or a pattern); the refusal.
    """
    try:
        w3.eth.call({"to": EXECUTE, "data": bytes(encoded_input)})
    except ContractLogicError as refused:
        refusal = revert_reason(str(refused.message))
    else:
        raise AssertionError("EXECUTE accepted the L2 block" + (
            f" (expected a refusal {shown(reason)})" if reason else ""
        ) + "\n" + diagnosis(encoded_input))
    if not matches(reason, refusal):
        raise AssertionError(
            f"EXECUTE refused the L2 block, but not {shown(reason)}: {refusal}\n"
            + diagnosis(encoded_input)
        )
    return refusal
