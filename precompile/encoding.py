"""Schema-prefixed SSZ encoding of the messages that cross the EXECUTE boundary."""

from typing import Type, TypeVar

from remerkleable.complex import Container

from .constants import (
    SCHEMA_ID_BYTES,
    STATELESS_INPUT_SCHEMA_ID,
    STATELESS_VALIDATION_RESULT_SCHEMA_ID,
)
from .ssz import StatelessInput, StatelessValidationResult

SCHEMA_IDS = {
    StatelessInput: STATELESS_INPUT_SCHEMA_ID,
    StatelessValidationResult: STATELESS_VALIDATION_RESULT_SCHEMA_ID,
}

M = TypeVar("M", bound=Container)


class DecodingError(ValueError):
    """Bytes that are not a well-formed message of the expected schema."""


def encode(message: Container) -> bytes:
    """``schema_id (2 bytes, big-endian) || SSZ(message)``."""
    schema_id = SCHEMA_IDS[type(message)]
    return schema_id.to_bytes(SCHEMA_ID_BYTES, "big") + message.encode_bytes()


def decode(data: bytes, message_type: Type[M]) -> M:
    """
    Decode schema-prefixed bytes as ``message_type``.

    Every malformation, whatever the SSZ library raises for it, surfaces as one
    ``DecodingError`` naming what is wrong, so callers can fail closed.
    """
    expected_schema = SCHEMA_IDS[message_type]
    if len(data) < SCHEMA_ID_BYTES:
        raise DecodingError(
            f"{message_type.__name__}: {len(data)} bytes, too short for the "
            f"{SCHEMA_ID_BYTES}-byte schema id"
        )
    schema_id = int.from_bytes(data[:SCHEMA_ID_BYTES], "big")
    if schema_id != expected_schema:
        raise DecodingError(
            f"{message_type.__name__}: schema id {schema_id:#06x}, expected {expected_schema:#06x}"
        )
    try:
        return message_type.decode_bytes(bytes(data[SCHEMA_ID_BYTES:]))
    except Exception as error:  # the SSZ library raises many kinds of error
        raise DecodingError(f"{message_type.__name__}: malformed SSZ: {error}") from error
