"""
What the testing helpers take, checked before they act: a wrong argument is
refused at once, saying what was given and what to give, rather than as the
error of a library several calls down, or after it changed a chain.

Messages show what was given without its secrets: an account object is
named by its address, never its key, and a long string or bytes by their length.
"""

import re
from typing import Any, Callable, Optional, Pattern, Union

from eth_utils import is_address, to_checksum_address

# The longest string shown as it is: an address fits, a private key in hex does not.
SHOWN_AS_IS = 42

Expected = Union[str, Pattern, None]


class InvalidArgument(ValueError):
    """A testing helper was given what it cannot take; the message says what to give."""


def hidden_when_refusing(*refusals: type) -> Callable[[Any], bool]:
    """
    A module's ``__tracebackhide__`` (pytest reads it in each frame): its
    frames are left out of a test's traceback when the error is one of
    ``refusals``, a helper refusing what the test gave it, so the failure
    points at the test's own line; any other error keeps them, to be debugged.
    """

    def hidden(excinfo) -> bool:
        return excinfo is not None and excinfo.errisinstance(refusals)

    return hidden


__tracebackhide__ = hidden_when_refusing(InvalidArgument)


def described(value: Any) -> str:
    """``value`` as a message may show it: an account by its address, long text by its length."""
    address = account_address(value)
    if address is not None:
        return f"the account {address}"
    if isinstance(value, str) and len(value) > SHOWN_AS_IS:
        return f"a string of {len(value)} characters"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"{len(value)} bytes"
    if value is None or isinstance(value, (str, int, float, list, tuple, dict)):
        return repr(value) if len(repr(value)) <= 80 else f"{repr(value)[:77]}..."
    return f"an object of type {type(value).__name__}"


def account_address(value: Any) -> Optional[str]:
    """The address of an account object, one with its key (the accounts fixture's, or
    eth-account's), else None."""
    if not any(hasattr(value, key) for key in ("private_key", "key")):
        return None
    for attribute in ("checksum_address", "address"):
        address = getattr(value, attribute, None)
        if isinstance(address, str) and is_address(address):
            return to_checksum_address(address)
    return None


def a_kind(kind: str) -> str:
    """An ABI type with its article, as a message says it: "an address", "a uint256"."""
    return f"{'an' if kind[:1] in 'aeio' else 'a'} {kind}"  # a uint256, an int256


def as_address_if_one(value: Any) -> Any:
    """An address given as an account or in any case, checksummed; anything else as it is."""
    address = account_address(value)
    if address is not None:
        return address
    if isinstance(value, str) and is_address(value):
        return to_checksum_address(value)
    return value


def signing_key(value: Any) -> Optional[bytes]:
    """The private key of an account object (the accounts fixture's ``private_key``,
    eth-account's ``key``), else None."""
    if account_address(value) is None:
        return None
    for attribute in ("private_key", "key"):
        key = getattr(value, attribute, None)
        if isinstance(key, (bytes, bytearray)) and len(key) == 32:
            return bytes(key)
    return None


def an_account(value: Any, what: str) -> bytes:
    """The key of ``value``, an account that can sign; InvalidArgument naming ``what`` else."""
    key = signing_key(value)
    if key is None:
        raise InvalidArgument(
            f"{what}={described(value)}: give an account with its key to sign with (the"
            " accounts fixture's, or eth-account's), not an address"
        )
    return key


def whole_number(value: Any, what: str, least: int = 0, why: str = "") -> int:
    """``value`` if it is a whole number of at least ``least`` (not a bool, float or text);
    ``why`` the least is what it is, for the message."""
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise InvalidArgument(
            f"{what}={described(value)}: give a whole number, {least} or more"
            + (f" ({why})" if why else "")
        )
    return value


def a_function(value: Any, what: str) -> Callable:
    if not callable(value):
        raise InvalidArgument(
            f"{what}={described(value)}: give a function to call (a lambda, for instance)"
        )
    return value


def an_address(value: Any, what: str) -> str:
    """``value`` as a checksummed address: an address in hex (any case) or an account object."""
    address = account_address(value)
    if address is not None:
        return address
    if isinstance(value, str) and is_address(value):
        return to_checksum_address(value)
    raise InvalidArgument(
        f"{what}={described(value)}: not an address; give 0x and 40 hex digits, or an account"
        " of the accounts fixture"
    )


def byte_string(value: Any, what: str) -> bytes:
    """Bytes given as bytes or as hex text (0x-prefixed or not)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        try:
            return bytes.fromhex(value.removeprefix("0x"))
        except ValueError:
            pass
    raise InvalidArgument(f"{what}={described(value)}: give bytes, or their hex (0x...)")


def expected_text(value: Any, what: str) -> Expected:
    """What a revert or refusal is to say: text it contains, a compiled pattern, or None."""
    if value is None or isinstance(value, (str, re.Pattern)):
        return value
    raise InvalidArgument(
        f"{what}={described(value)}: give the text it should contain, or re.compile(...)"
    )
