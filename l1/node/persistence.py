"""
A devnet's chain on disk: dumped whole (anvil_dumpState), loaded back
(anvil_loadState) and saved so that a crash never leaves half a file.
"""

import gzip
import json
import os
import tempfile

from eth.db.atomic import AtomicDB

from ..interface import InvalidState
from .backend import ChainBackend, SavedChain, TransactionLocation

# Names the dump layout, so a future change is refused rather than misread.
STATE_FORMAT = "native-rollups-devnet-state/1"


def dump_state(backend: ChainBackend) -> bytes:
    """
    The whole chain (every block, every state the head reaches) as
    compressed JSON: the raw database, so a load restores it exactly.
    """
    entries = backend.chain.chaindb.db.wrapped_db.kv_store
    document = {
        "format": STATE_FORMAT,
        "chainId": backend.chain_id,
        "head": backend.head().hash.hex(),
        "headStateRoot": backend.head_state_root.hex(),
        "locations": {
            tx.hex(): [loc.block_number, loc.index] for tx, loc in backend.locations.items()
        },
        "impersonatedSenders": {
            tx.hex(): sender.hex() for tx, sender in backend.senders.items()
        },
        "db": {key.hex(): value.hex() for key, value in entries.items()},
    }
    return gzip.compress(json.dumps(document).encode())


def read_state(dumped: bytes, chain_id: int, chain_class: type) -> SavedChain:
    """The chain in a dump, for a devnet of ``chain_id``; InvalidState if it is not one."""
    try:
        document = json.loads(gzip.decompress(dumped))
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
        return SavedChain(
            chain=chain,
            head=chain.get_block_header_by_hash(bytes.fromhex(document["head"])),
            head_state_root=bytes.fromhex(document["headStateRoot"]),
            locations={
                bytes.fromhex(tx): TransactionLocation(*where)
                for tx, where in document["locations"].items()
            },
            senders={
                bytes.fromhex(tx): bytes.fromhex(sender)
                for tx, sender in document["impersonatedSenders"].items()
            },
        )
    except InvalidState:
        raise
    except Exception as error:  # truncated gzip, bad JSON, missing keys, bad hex
        raise InvalidState(f"unreadable state dump: {type(error).__name__}: {error}") from error


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
