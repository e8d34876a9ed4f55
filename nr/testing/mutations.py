"""Single mutations of a valid StatelessInput, each one EXECUTE must refuse (tests, nr fuzz)."""

from typing import Callable, Dict, List

import rlp
from eth.db.backends.memory import MemoryDB
from eth.vm.forks.cancun.constants import BEACON_ROOTS_ADDRESS
from eth_hash.auto import keccak
from trie import HexaryTrie

from precompile.encoding import encode
from precompile.forks import fork_rules
from precompile.guest import witness_entries
from precompile.payload import new_payload_request_to_block
from precompile.signatures import recover_public_key
from precompile.ssz import StatelessInput
from precompile.witness import RecordingDB


def reseal(stateless_input: StatelessInput) -> StatelessInput:
    """Recompute ``block_hash`` so the payload is self-consistent again."""
    request = stateless_input.new_payload_request
    block = new_payload_request_to_block(request, fork_rules(stateless_input.chain_config))
    request.execution_payload.block_hash = block.header.hash
    return stateless_input


def with_changed_signature(encoded: bytes) -> bytes:
    """The same transaction with the signature's r changed; r is second to last in every type."""
    typed = encoded[0] < 0x7F
    fields = rlp.decode(encoded[1:] if typed else encoded)
    r = int.from_bytes(fields[-2], "big")
    fields[-2] = (r ^ 1).to_bytes(32, "big").lstrip(b"\x00")
    return (encoded[:1] if typed else b"") + rlp.encode(fields)


def public_key_of(stateless_input: StatelessInput, index: int) -> bytes:
    vm_class = fork_rules(stateless_input.chain_config)
    block = new_payload_request_to_block(stateless_input.new_payload_request, vm_class)
    return recover_public_key(block.transactions[index])


def signs_chain_id(stateless_input: StatelessInput) -> bool:
    """Whether every transaction commits to a chain id (pre-EIP-155 ones do not)."""
    vm_class = fork_rules(stateless_input.chain_config)
    block = new_payload_request_to_block(stateless_input.new_payload_request, vm_class)
    return all(getattr(tx, "chain_id", None) is not None for tx in block.transactions)


def _post_state_root(s: StatelessInput) -> None:
    s.new_payload_request.execution_payload.state_root = keccak(b"not the post-state")
    reseal(s)


def _receipts_root(s: StatelessInput) -> None:
    s.new_payload_request.execution_payload.receipts_root = keccak(b"not the receipts")
    reseal(s)


def _gas_used(s: StatelessInput) -> None:
    payload = s.new_payload_request.execution_payload
    used = int(payload.gas_used)
    payload.gas_used = used - 1 if used else 1  # an empty block used none
    reseal(s)


def _transaction_byte(s: StatelessInput) -> None:
    transactions = s.new_payload_request.execution_payload.transactions
    encoded = bytearray(transactions[0])
    encoded[len(encoded) // 2] ^= 0x01
    transactions[0] = bytes(encoded)


def _signature(s: StatelessInput) -> None:
    transactions = s.new_payload_request.execution_payload.transactions
    transactions[0] = with_changed_signature(bytes(transactions[0]))
    reseal(s)
    try:
        s.public_keys[0] = public_key_of(s, 0)
    except Exception:  # r is no longer on the curve: the signature has no key
        pass


def _public_key(s: StatelessInput) -> None:
    key = bytearray(s.public_keys[0])
    key[-1] ^= 0x01
    s.public_keys[0] = bytes(key)


def without_each_node(stateless_input: StatelessInput):
    """``(index, copy without witness node index)`` for every node of the witness."""
    for index in range(len(stateless_input.witness.state)):
        mutated = stateless_input.copy()
        nodes = list(mutated.witness.state)
        del nodes[index]
        mutated.witness.state = nodes
        yield index, mutated


def account_every_engine_reads(stateless_input: StatelessInput) -> bytes:
    """
    An account no engine can judge the block without: the first transaction's
    sender (its nonce is checked), or in a block without transactions the
    beacon-roots contract, whose storage the block's system call writes.
    """
    if stateless_input.public_keys:
        return keccak(bytes(stateless_input.public_keys[0]))[12:]
    return BEACON_ROOTS_ADDRESS


def nodes_proving_account(stateless_input: StatelessInput, address: bytes) -> List[bytes]:
    """The witness nodes on the pre-state trie's path to ``address``, root first."""
    witness = stateless_input.witness
    parent_state_root = rlp.decode(bytes(witness.headers[len(witness.headers) - 1]))[3]
    reading = RecordingDB(MemoryDB(witness_entries(witness)))
    HexaryTrie(reading, parent_state_root).get(keccak(address))
    return list(reading.reads.values())  # first read first: the path from the root


def _removed_witness_node(s: StatelessInput) -> None:
    # A node every engine needs, not any node: a witness may hold nodes only one
    # engine reads (revm loads accounts an access list names), and without those
    # the rest is still sufficient for the others, so their accepting is right.
    # The path's deepest node: the account's leaf, or the node proving it absent.
    needed = nodes_proving_account(s, account_every_engine_reads(s))[-1]
    s.witness.state = [node for node in s.witness.state if bytes(node) != needed]


def _wrong_parent_header(s: StatelessInput) -> None:
    last = len(s.witness.headers) - 1
    fields = rlp.decode(bytes(s.witness.headers[last]))
    fields[3] = keccak(b"another pre-state")  # state_root
    s.witness.headers[last] = rlp.encode(fields)


def _wrong_chain_id(s: StatelessInput) -> None:
    s.chain_config.chain_id = int(s.chain_config.chain_id) + 1


STRUCTURAL_MUTATIONS: Dict[str, Callable[[StatelessInput], None]] = {
    "post_state_root": _post_state_root,
    "receipts_root": _receipts_root,
    "gas_used": _gas_used,
    "transaction_byte": _transaction_byte,
    "signature": _signature,
    "public_key": _public_key,
    "removed_witness_node": _removed_witness_node,
    "wrong_parent_header": _wrong_parent_header,
    "wrong_chain_id": _wrong_chain_id,
}


# The mutations only a block with transactions must be refused for: it has
# none to change, and no transaction signed for a chain (an empty block is as
# valid on another chain; EXECUTE's result names the chain it was judged for).
TRANSACTION_MUTATIONS = ("transaction_byte", "signature", "public_key", "wrong_chain_id")


def mutated_encodings(valid: StatelessInput, with_transactions: bool = True) -> Dict[str, bytes]:
    """Every single mutation of ``valid``, encoded as EXECUTE input."""
    encodings = {}
    for name, mutate in STRUCTURAL_MUTATIONS.items():
        if not with_transactions and name in TRANSACTION_MUTATIONS:
            continue
        mutated = valid.copy()
        mutate(mutated)
        encodings[name] = encode(mutated)
    encoded = encode(valid)
    encodings["truncated_buffer"] = encoded[: len(encoded) - 7]
    encodings["wrong_schema_id"] = b"\x00\x02" + encoded[2:]
    return encodings
