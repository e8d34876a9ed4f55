"""
Hypothesis strategies for L2 tests: addresses, amounts, signed L2
transactions, and single-field mutations of an L2 block, each with the
refusal EXECUTE must give it.
"""

from typing import List, Sequence, Tuple

from eth_account import Account
from eth_hash.auto import keccak
from eth_utils import to_checksum_address
from hypothesis import strategies as st

from precompile.encoding import DecodingError, decode, encode
from precompile.ssz import StatelessInput

from .arguments import (
    InvalidArgument,
    an_account,
    byte_string,
    described,
    hidden_when_refusing,
    whole_number,
)
from .mutations import reseal

# A helper refusing what a test gave it points at the test's line, not its own.
__tracebackhide__ = hidden_when_refusing(InvalidArgument)

ETHER = 10**18
TRANSFER_GAS = 30_000


def addresses() -> st.SearchStrategy:
    """Checksummed addresses, the precompiles' and zero among them."""
    return st.one_of(
        st.sampled_from([b"\x00" * 20, b"\x00" * 19 + b"\x01", b"\x00" * 18 + b"\x01\x01"]),
        st.binary(min_size=20, max_size=20),
    ).map(to_checksum_address)


def amounts(most: int = 10 * ETHER) -> st.SearchStrategy:
    """Wei amounts from 0 to ``most``, the edges likelier."""
    whole_number(most, "amounts: most")
    edges = sorted({0, min(1, most), most})
    return st.one_of(st.sampled_from(edges), st.integers(min_value=0, max_value=most))


def signed_l2_transactions(
    chain_id: int, senders: Sequence, nonce: int = 0, base_fee: int = 10**9
) -> st.SearchStrategy:
    """
    Raw signed EIP-1559 transfers on ``chain_id`` from one of ``senders`` (dev
    accounts), with gas for a precompile at the receiving end (ecrecover's 3,000).
    """
    said = "signed_l2_transactions"
    whole_number(chain_id, f"{said}: chain_id", least=1)
    whole_number(nonce, f"{said}: nonce")
    whole_number(base_fee, f"{said}: base_fee")
    keys = signers(senders, said)

    def signed(key, to, value) -> bytes:
        transaction = {
            "type": 2, "chainId": chain_id, "nonce": nonce, "to": to, "value": value,
            "gas": TRANSFER_GAS, "maxFeePerGas": 2 * base_fee, "maxPriorityFeePerGas": 0,
        }
        return bytes(Account.sign_transaction(transaction, key).raw_transaction)

    return st.builds(signed, st.sampled_from(keys), addresses(), amounts(ETHER))


def signers(senders: Sequence, said: str) -> List[bytes]:
    """The keys of ``senders``, each an account with its key; InvalidArgument otherwise."""
    senders = list(senders)
    if not senders:
        raise InvalidArgument(f"{said}: senders: none given; give accounts to sign with")
    return [an_account(sender, f"{said}: senders") for sender in senders]


# payload field -> (what to put there, given the old value and a drawn int; the refusal)
MUTATIONS: dict = {
    "state_root": (lambda old, n: keccak(bytes(old) + n.to_bytes(8, "big")),
                   "state_root does not match the post-state"),
    "receipts_root": (lambda old, n: keccak(bytes(old) + n.to_bytes(8, "big")),
                      "receipts_root does not match execution"),
    "gas_used": (lambda old, n: other_gas_used(int(old), n), "gas_used"),
    "logs_bloom": (
        lambda old, n: (int.from_bytes(bytes(old), "big") ^ (1 << (n % 2048))).to_bytes(256, "big"),
        "logs_bloom does not match execution",
    ),
}


def other_gas_used(used: int, drawn: int) -> int:
    """
    Gas used other than ``used``: less than the block used, so never over its
    gas limit; 1 in a block that used none (a block without transactions).
    """
    return used - 1 - drawn % used if used else 1


def mutate(encoded: bytes, field: str, drawn: int) -> bytes:
    """``encoded`` with one payload field changed (and the block hash resealed)."""
    if field not in MUTATIONS:
        raise InvalidArgument(
            f"mutate: field={described(field)}: give one of {', '.join(sorted(MUTATIONS))}"
        )
    whole_number(drawn, "mutate: drawn")
    stateless_input = decoded_input(encoded, "mutate")
    payload = stateless_input.new_payload_request.execution_payload
    change, _ = MUTATIONS[field]
    setattr(payload, field, change(getattr(payload, field), drawn))
    reseal(stateless_input)
    return encode(stateless_input)


def decoded_input(encoded, said: str) -> StatelessInput:
    """An EXECUTE input (bytes or hex) decoded; InvalidArgument if it is none."""
    try:
        return decode(byte_string(encoded, f"{said}: encoded"), StatelessInput)
    except DecodingError as error:
        raise InvalidArgument(f"{said}: encoded: not an EXECUTE input ({error})") from None


def block_mutations(encoded: bytes) -> st.SearchStrategy:
    """``(field, mutated input, refusal)``: one payload field of a valid L2 block changed,
    resealed, and the words EXECUTE's refusal must contain."""
    encoded = encode(decoded_input(encoded, "block_mutations"))  # checked before any draw

    def build(field: str, drawn: int) -> Tuple[str, bytes, str]:
        return field, mutate(encoded, field, drawn), MUTATIONS[field][1]

    return st.builds(build, st.sampled_from(sorted(MUTATIONS)), st.integers(0, 2**32))


