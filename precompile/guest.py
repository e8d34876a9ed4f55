"""
Stateless guest: decide whether a ``NewPayloadRequest`` is a valid state
transition, reading nothing but the ``StatelessInput``.

``verify_stateless_new_payload`` is the one entry point: it never raises for
the block's sake and returns a ``ValidationReport``. ``validate_stateless_new_payload``
reads as a list of checks in the order a verifier holding EIP-8025 and the
native-rollups book would make them; a failed check raises one of
``INVALID_BLOCK_ERRORS``, which mean "this block is invalid". Anything else
raised during validation is an internal error (a bug here or in a library):
the block is still not accepted (fail-closed), but the report says so and the
error is logged, so a bug never passes for an invalid block.
"""

import logging
from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple, Type

import rlp
from eth.abc import BlockHeaderAPI
from eth.vm.interrupt import MissingAccountTrieNode, MissingBytecode, MissingStorageTrieNode
from eth_hash.auto import keccak
from eth_keys.exceptions import BadSignature
from eth_utils import ValidationError
from trie.exceptions import MissingTrieNode

from .engines import (
    REFERENCE_ENGINE,
    EngineDeclined,
    ExecutionOutcome,
    InvalidTransaction,
    get_engine,
)
from .engines.pyevm import MissingWitnessHeader
from .forks import FORK_RULES, ForkRules, UnknownFork, fork_rules
from .payload import InvalidPayload, blob_versioned_hashes, new_payload_request_to_block
from .requests import get_execution_requests_list
from .signatures import recover_public_key
from .ssz import ExecutionWitness, StatelessInput, StatelessValidationResult

logger = logging.getLogger(__name__)

VALID, INVALID, INTERNAL_ERROR = "valid", "invalid", "internal error"


class InvalidBlock(Exception):
    """The payload is not a valid state transition given the witness."""


def eels_invalid_block_errors() -> Tuple[Type[Exception], ...]:
    """
    EELS's own exceptions for an invalid block or transaction, and its RLP
    decoder's for a transaction that does not decode (its engine raises them).
    """
    from ethereum.exceptions import EthereumException
    from ethereum_rlp.exceptions import DecodingError as EelsDecodingError

    return (EthereumException, EelsDecodingError)


# What "this block is invalid" is raised as: our checks, py-evm's block and
# transaction validation (a failed request system call among them), a
# transaction or header that does not decode or whose signature does not
# recover, a witness that lacks what execution reads, fork rules that do not
# exist, and the engines' own invalid-transaction errors.
INVALID_BLOCK_ERRORS: Tuple[Type[Exception], ...] = (
    InvalidBlock,
    InvalidPayload,
    ValidationError,
    rlp.DecodingError,
    rlp.DeserializationError,
    BadSignature,
    MissingTrieNode,
    MissingAccountTrieNode,
    MissingStorageTrieNode,
    MissingBytecode,
    MissingWitnessHeader,
    UnknownFork,
    InvalidTransaction,
) + eels_invalid_block_errors()


@dataclass(frozen=True)
class ValidationReport:
    result: StatelessValidationResult
    # VALID, INVALID, or INTERNAL_ERROR (not accepted either way).
    verdict: str
    # Why validation failed, or None.
    error: Optional[str]
    # The engine whose execution decided, and why the asked-for one declined.
    engine: str
    declined: Optional[str] = None
    # The decline's reason alone, the same words for the same lack.
    declined_reason: Optional[str] = None

    @property
    def refusal(self) -> str:
        """Why the block was not accepted, in words for the caller's own error."""
        if self.verdict == INTERNAL_ERROR:
            return f"L2 block could not be validated (internal error): {self.error}"
        return f"L2 block is invalid: {self.error}"


def verify_stateless_new_payload(
    stateless_input: StatelessInput,
    engine: str = REFERENCE_ENGINE,
    *,
    fallback: bool = True,
    rules: ForkRules = FORK_RULES,
) -> ValidationReport:
    """
    The guest program: validate with ``engine`` under ``rules`` and report,
    never raising for the block's sake. If the engine declines the block, the
    reference engine validates it and the report says why (or, without
    ``fallback``, ``EngineDeclined`` reaches the caller). An unknown engine
    name is the caller's error (``UnknownEngine``), not the block's.
    """
    get_engine(engine)
    declined = declined_reason = None
    try:
        verdict, error = _judge(stateless_input, engine, rules)
    except EngineDeclined as declining:
        if not fallback:
            raise
        declined, declined_reason = str(declining), declining.reason
        engine = REFERENCE_ENGINE
        verdict, error = _judge(stateless_input, engine, rules)
    result = StatelessValidationResult(
        new_payload_request_root=stateless_input.new_payload_request.hash_tree_root(),
        successful_validation=verdict == VALID,
        chain_config=stateless_input.chain_config,
    )
    return ValidationReport(result, verdict, error, engine, declined, declined_reason)


def _judge(
    stateless_input: StatelessInput, engine: str, rules: ForkRules
) -> Tuple[str, Optional[str]]:
    """The verdict and, unless valid, why."""
    try:
        validate_stateless_new_payload(stateless_input, engine, rules)
    except EngineDeclined:
        raise
    except INVALID_BLOCK_ERRORS as invalid:
        reason = f"{type(invalid).__name__}: {invalid}"
        logger.debug("stateless validation: invalid block: %s", reason)
        return INVALID, reason
    except Exception as failure:  # fail closed, but never as "invalid"
        reason = f"{type(failure).__name__}: {failure}"
        logger.error("stateless validation: internal error (%s engine): %s", engine, reason)
        return INTERNAL_ERROR, reason
    return VALID, None


def engine_arguments(stateless_input: StatelessInput, rules: ForkRules = FORK_RULES) -> tuple:
    """
    What an engine's ``execute`` takes for ``stateless_input`` (VM class,
    block, witness headers, witness entries, chain id), without the checks
    ``validate_stateless_new_payload`` makes between them: for a diagnosis.
    """
    vm_class = fork_rules(stateless_input.chain_config, rules)
    return (
        vm_class,
        new_payload_request_to_block(stateless_input.new_payload_request, vm_class),
        validate_witness_headers(stateless_input.witness, vm_class),
        witness_entries(stateless_input.witness),
        int(stateless_input.chain_config.chain_id),
    )


def validate_stateless_new_payload(
    stateless_input: StatelessInput,
    engine: str = REFERENCE_ENGINE,
    rules: ForkRules = FORK_RULES,
) -> None:
    """Raise one of ``INVALID_BLOCK_ERRORS`` unless the payload is valid."""
    request = stateless_input.new_payload_request
    payload = request.execution_payload
    chain_config = stateless_input.chain_config
    witness = stateless_input.witness
    vm_class = fork_rules(chain_config, rules)
    executor = get_engine(engine)

    block = new_payload_request_to_block(request, vm_class)
    if block.header.hash != payload.block_hash:
        raise InvalidBlock("block_hash does not match the payload's contents")
    if blob_versioned_hashes(block.transactions) != list(request.versioned_hashes):
        raise InvalidBlock("versioned_hashes do not match the blob transactions")

    headers = validate_witness_headers(witness, vm_class)
    parent = headers[-1]
    if parent.hash != payload.parent_hash:
        raise InvalidBlock("witness headers do not end at the payload's parent")
    validate_header_against_parent(vm_class, block.header, parent)

    validate_public_keys(block.transactions, stateless_input.public_keys)
    validate_transaction_chain_ids(block.transactions, int(chain_config.chain_id))

    outcome: ExecutionOutcome = executor.execute(
        vm_class, block, headers, witness_entries(witness), int(chain_config.chain_id)
    )
    if outcome.gas_used != payload.gas_used:
        raise InvalidBlock(f"gas_used {payload.gas_used}, execution used {outcome.gas_used}")
    if outcome.receipts_root != payload.receipts_root:
        raise InvalidBlock("receipts_root does not match execution")
    if outcome.logs_bloom != block.header.bloom:
        raise InvalidBlock("logs_bloom does not match execution")
    if outcome.state_root != payload.state_root:
        raise InvalidBlock("state_root does not match the post-state")
    if outcome.blob_gas_used != payload.blob_gas_used:
        raise InvalidBlock("blob_gas_used does not match execution")
    if list(outcome.requests) != get_execution_requests_list(request.execution_requests):
        raise InvalidBlock("execution_requests do not match execution")


def validate_header_against_parent(
    vm_class: type, header: BlockHeaderAPI, parent: BlockHeaderAPI
) -> None:
    """The fork's header rules: number, timestamp, gas limit, base fee, blob gas, post-merge."""
    vm_class.validate_header(header, parent)
    if header.excess_blob_gas != vm_class.excess_blob_gas(parent):
        raise InvalidBlock("excess_blob_gas does not follow from the parent")


def witness_entries(witness: ExecutionWitness) -> Dict[bytes, bytes]:
    """Trie nodes and bytecodes keyed by their keccak: the only pre-state there is."""
    entries = {keccak(bytes(node)): bytes(node) for node in witness.state}
    entries.update((keccak(bytes(code)), bytes(code)) for code in witness.codes)
    return entries


def validate_witness_headers(
    witness: ExecutionWitness, vm_class: type
) -> Tuple[BlockHeaderAPI, ...]:
    """
    Decode the witness headers and check they form one chain, oldest first,
    each the parent of the next.
    """
    if len(witness.headers) == 0:
        raise InvalidBlock("witness has no headers; the parent header is required")
    header_sedes = vm_class.header_sedes
    headers = tuple(rlp.decode(bytes(encoded), sedes=header_sedes) for encoded in witness.headers)
    for parent, child in zip(headers, headers[1:]):
        if child.parent_hash != parent.hash:
            raise InvalidBlock(f"witness header {child.block_number} does not follow its parent")
        if child.block_number != parent.block_number + 1:
            raise InvalidBlock(
                f"witness headers skip from {parent.block_number} to {child.block_number}"
            )
    return headers


def validate_public_keys(transactions: Sequence, public_keys: Sequence) -> None:
    """Each transaction's signature recovers to the public key given for it."""
    if len(public_keys) != len(transactions):
        raise InvalidBlock(f"{len(public_keys)} public keys for {len(transactions)} transactions")
    for index, (transaction, public_key) in enumerate(zip(transactions, public_keys)):
        if recover_public_key(transaction) != bytes(public_key):
            raise InvalidBlock(f"public key {index} does not match its transaction's signature")


def validate_transaction_chain_ids(transactions: Sequence, chain_id: int) -> None:
    """
    A transaction that names a chain (EIP-155 legacy, every typed transaction)
    must name this one. py-evm and the Prague spec leave typed transactions
    unchecked; geth and reth refuse them at signature recovery. Here it is the
    replay protection between rollups that share keys.
    """
    for index, transaction in enumerate(transactions):
        if transaction.chain_id is not None and transaction.chain_id != chain_id:
            raise InvalidBlock(
                f"transaction {index} is for chain {transaction.chain_id}, not {chain_id}"
            )
