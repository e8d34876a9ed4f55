"""
EIP-7685 execution requests: between the EL's flat list and ``ExecutionRequests``.

The EL produces requests as ``request_type || request_data`` byte strings, one
per type, empty types left out of the hash; ``get_execution_requests_list``
is consensus-specs Electra's function of the same name.
"""

from hashlib import sha256
from typing import Iterable, Sequence
from typing import List as PyList

from .constants import (
    CONSOLIDATION_REQUEST_TYPE,
    DEPOSIT_REQUEST_TYPE,
    WITHDRAWAL_REQUEST_TYPE,
)
from .ssz import ExecutionRequests

# Each request type and the ``ExecutionRequests`` field holding its data.
REQUEST_FIELDS = (
    (DEPOSIT_REQUEST_TYPE, "deposits"),
    (WITHDRAWAL_REQUEST_TYPE, "withdrawals"),
    (CONSOLIDATION_REQUEST_TYPE, "consolidations"),
)


class InvalidRequests(ValueError):
    """An EL requests list that has no ``ExecutionRequests`` form."""


def get_execution_requests_list(execution_requests: ExecutionRequests) -> PyList[bytes]:
    """The non-empty requests, each ``request_type || request_data``, in type order."""
    return [
        request_type + bytes(getattr(execution_requests, field))
        for request_type, field in REQUEST_FIELDS
        if len(getattr(execution_requests, field)) > 0
    ]


def compute_requests_hash(requests: Sequence[bytes]) -> bytes:
    """EIP-7685: ``sha256(sha256(r_0) || sha256(r_1) || ...)`` over non-empty requests."""
    digest = sha256()
    for request in requests:
        if len(request) > 1:
            digest.update(sha256(request).digest())
    return digest.digest()


def execution_requests_from_list(requests: Sequence[bytes]) -> ExecutionRequests:
    """
    ``ExecutionRequests`` holding the EL's requests list (empty entries allowed,
    each type at most once); ``InvalidRequests`` if it has no such form.
    """
    data_by_type = {}
    for request in requests:
        if len(request) <= 1:
            continue
        request_type = request[:1]
        if request_type in data_by_type:
            raise InvalidRequests(f"request type {request_type.hex()} appears twice")
        data_by_type[request_type] = request[1:]
    fields = {field: data_by_type.pop(request_type, b"") for request_type, field in REQUEST_FIELDS}
    if data_by_type:
        raise InvalidRequests(f"unknown request types {sorted(t.hex() for t in data_by_type)}")
    try:
        return ExecutionRequests(**fields)
    except Exception as error:  # the SSZ library's bound check
        raise InvalidRequests(f"requests exceed their SSZ bounds: {error}") from error


# Where each field of an EIP-6110 deposit request sits in the deposit
# contract's DepositEvent data (ABI-encoded dynamic bytes).
DEPOSIT_EVENT_FIELDS = (
    slice(192, 240),  # pubkey
    slice(288, 320),  # withdrawal_credentials
    slice(352, 360),  # amount
    slice(416, 512),  # signature
    slice(544, 552),  # index
)


def deposit_request_data(logs: Iterable, deposit_contract: bytes, event_topic: bytes) -> bytes:
    """EIP-6110: the deposit requests a block's logs carry, concatenated."""
    data = b""
    for log in logs:
        is_deposit = log.topics and log.topics[0].to_bytes(32, "big") == event_topic
        if log.address == deposit_contract and is_deposit:
            data += b"".join(log.data[field] for field in DEPOSIT_EVENT_FIELDS)
    return data
