"""
A devnet's chain on disk: dumped whole (anvil_dumpState), loaded back
(anvil_loadState) and saved so that a crash never leaves half a file.
"""

import gzip
import json
import os
import tempfile
import zlib
from typing import Any, Dict

from eth.db.atomic import AtomicDB

from ..interface import InvalidState
from .backend import ChainBackend, SavedChain, TransactionLocation

# Names the dump layout, so a future change is refused rather than misread.
STATE_FORMAT = "native-rollups-devnet-state/1"
# Largest a dump may be once decompressed: a few bytes of gzip can claim gigabytes.
MAX_STATE_BYTES = 1 << 30


def decompress_bounded(compressed: bytes, limit: int) -> bytes:
    """``compressed`` gunzipped; InvalidState if it is larger than ``limit`` bytes."""
    inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)  # a gzip header
    try:
        data = inflater.decompress(compressed, limit)
    except zlib.error:
        raise InvalidState(
            "unreadable state dump: not gzip-compressed (a dump is gzipped JSON, as"
            " anvil_dumpState and --state write it)"
        ) from None
    if inflater.unconsumed_tail:
        raise InvalidState(f"state dump larger than {limit >> 20} MiB once decompressed")
    if not inflater.eof:
        raise InvalidState("unreadable state dump: truncated")
    return data


def state_snapshot(backend: ChainBackend) -> Dict[str, Any]:
    """
    What a dump holds, copied (taken under the node's lock, which is then
    free while ``encode_state`` serialises and compresses it).
    """
    return {
        "chainId": backend.chain_id,
        "head": backend.head().hash,
        "headStateRoot": backend.head_state_root,
        "locations": dict(backend.locations),
        "impersonatedSenders": dict(backend.senders),
        "editedPreStates": dict(backend.edited_pre_states),
        "db": dict(backend.chain.chaindb.db.wrapped_db.kv_store),
    }


def encode_state(snapshot: Dict[str, Any]) -> bytes:
    """
    The whole chain (every block, every state the head reaches) as
    compressed JSON: the raw database, so a load restores it exactly.
    """
    document = {
        "format": STATE_FORMAT,
        "chainId": snapshot["chainId"],
        "head": snapshot["head"].hex(),
        "headStateRoot": snapshot["headStateRoot"].hex(),
        "locations": {
            tx.hex(): [loc.block_number, loc.index] for tx, loc in snapshot["locations"].items()
        },
        "impersonatedSenders": {
            tx.hex(): sender.hex() for tx, sender in snapshot["impersonatedSenders"].items()
        },
        "editedPreStates": {
            block.hex(): root.hex() for block, root in snapshot["editedPreStates"].items()
        },
        "db": {key.hex(): value.hex() for key, value in snapshot["db"].items()},
    }
    return gzip.compress(json.dumps(document).encode())


def read_state(dumped: bytes, chain_id: int, chain_class: type) -> SavedChain:
    """The chain in a dump, for a devnet of ``chain_id``; InvalidState if it is not one."""
    decompressed = decompress_bounded(dumped, MAX_STATE_BYTES)
    try:
        document = json.loads(decompressed)
    except ValueError:  # not UTF-8, or not JSON
        raise InvalidState("unreadable state dump: not JSON once decompressed") from None
    if not isinstance(document, dict):
        raise InvalidState("unreadable state dump: its JSON is not an object")
    try:
        if document.get("format") != STATE_FORMAT:
            raise InvalidState(f"not a {STATE_FORMAT} state dump")
        if document["chainId"] != chain_id:
            raise InvalidState(
                f"state is for chain {document['chainId']}, this devnet is {chain_id}"
            )
        db = AtomicDB()
        for key, value in document["db"].items():
            db[bytes.fromhex(key)] = bytes.fromhex(value)
        chain = chain_class(db)
        head_state_root = bytes.fromhex(document["headStateRoot"])
        if head_state_root not in db:
            raise InvalidState(
                f"the dump's head state root 0x{head_state_root.hex()} is not in its database"
            )
        return SavedChain(
            chain=chain,
            head=chain.get_block_header_by_hash(bytes.fromhex(document["head"])),
            head_state_root=head_state_root,
            locations={
                bytes.fromhex(tx): TransactionLocation(*where)
                for tx, where in document["locations"].items()
            },
            senders={
                bytes.fromhex(tx): bytes.fromhex(sender)
                for tx, sender in document["impersonatedSenders"].items()
            },
            # Dumps before this field: blocks after an edit trace from their parent's state.
            edited_pre_states={
                bytes.fromhex(block): bytes.fromhex(root)
                for block, root in document.get("editedPreStates", {}).items()
            },
        )
    except InvalidState:
        raise
    except KeyError as missing:
        raise InvalidState(f"unreadable state dump: it has no {missing} field") from None
    except Exception:  # bad hex, a field of the wrong kind, headers that do not decode
        raise InvalidState(
            "unreadable state dump: its fields do not form a chain (a value that is not hex,"
            " or of the wrong kind, or a block the database lacks)"
        ) from None


def write_atomically(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash at any moment leaves the previous file whole."""
    directory = os.path.dirname(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=".state-")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
