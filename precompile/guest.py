"""
Stateless guest: decide whether a ``NewPayloadRequest`` is a valid state
transition, reading nothing but the ``StatelessInput``.

``validate_stateless_new_payload`` reads as a list of checks in the order a
verifier holding EIP-8025 and the native-rollups book would make them; each
failure raises ``InvalidBlock`` naming the field. The entry point
``verify_stateless_new_payload`` turns any failure into
``successful_validation = False`` and never raises.
"""

import logging
from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple

import rlp
from eth.abc import BlockHeaderAPI
from eth_hash.auto import keccak

from .engines import REFERENCE_ENGINE, EngineDeclined, ExecutionOutcome, get_engine
from .forks import fork_rules
from .payload import blob_versioned_hashes, new_payload_request_to_block
from .requests import get_execution_requests_list
from .signatures import recover_public_key
from .ssz import ExecutionWitness, StatelessInput, StatelessValidationResult

logger = logging.getLogger(__name__)


class InvalidBlock(Exception):
    """The payload is not a valid state transition given the witness."""


@dataclass(frozen=True)
class ValidationReport:
    result: StatelessValidationResult
    # Why validation failed, or None.
    error: Optional[str]
    # The engine whose execution decided, and why the asked-for one declined.
    engine: str
    declined: Optional[str] = None
    # The decline's reason alone, the same words for the same lack.
    declined_reason: Optional[str] = None


def verify_stateless_new_payload(
    stateless_input: StatelessInput, engine: str = REFERENCE_ENGINE
) -> StatelessValidationResult:
    """The guest program: validate statelessly and report, never raise."""
    return stateless_validation(stateless_input, engine).result


def stateless_validation_error(
    stateless_input: StatelessInput, engine: str = REFERENCE_ENGINE
) -> Optional[str]:
    """Why ``stateless_input`` does not validate, or None if it does."""
    return stateless_validation(stateless_input, engine).error


def stateless_validation(
    stateless_input: StatelessInput, engine: str = REFERENCE_ENGINE, fallback: bool = True
) -> ValidationReport:
    """
    Validate with ``engine``; if it declines the block, validate with the
    reference engine and say why in the report (or, without ``fallback``,
    let ``EngineDeclined`` reach the caller). An unknown engine name is the
    caller's error (``UnknownEngine``), not the block's.
    """
    get_engine(engine)
    declined = declined_reason = None
    try:
        error = _validation_error(stateless_input, engine)
    except EngineDeclined as declining:
        if not fallback:
            raise
        declined, declined_reason = str(declining), declining.reason
        engine = REFERENCE_ENGINE
        error = _validation_error(stateless_input, engine)
    if error is not None:
        logger.debug("stateless validation failed: %s", error)
    result = StatelessValidationResult(
        new_payload_request_root=stateless_input.new_payload_request.hash_tree_root(),
        successful_validation=error is None,
        chain_config=stateless_input.chain_config,
    )
    return ValidationReport(result, error, engine, declined, declined_reason)


def _validation_error(stateless_input: StatelessInput, engine: str) -> Optional[str]:
    try:
        validate_stateless_new_payload(stateless_input, engine)
    except EngineDeclined:
        raise
    except Exception as failure:  # every other failure, whatever raised it, is a rejection
        return f"{type(failure).__name__}: {failure}"
    return None


def validate_stateless_new_payload(
    stateless_input: StatelessInput, engine: str = REFERENCE_ENGINE
) -> None:
    """Raise ``InvalidBlock`` (or another error) unless the payload is valid."""
    request = stateless_input.new_payload_request
    payload = request.execution_payload
    chain_config = stateless_input.chain_config
    witness = stateless_input.witness
    vm_class = fork_rules(chain_config)
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
