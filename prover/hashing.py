"""
Batched keccak-256 for data-parallel prover work (hashing every witness node
of many blocks at once).

One array implementation of keccak-f[1600], run with numpy on the CPU or with
cupy on an NVIDIA GPU (the same code: cupy mirrors numpy's API), lanes as
uint64 and the batch along the first axis. ``keccak_batch`` picks the GPU when
one is present and otherwise hashes item by item with eth-hash, which beats
the array code on a CPU; ``backend`` forces a choice.
"""

from functools import lru_cache
from typing import Dict, List, Sequence

import numpy
from eth_hash.auto import keccak

RATE_BYTES = 136  # keccak-256: 1600-bit state, 512-bit capacity
RATE_LANES = RATE_BYTES // 8
ROUNDS = 24
ROUND_CONSTANTS = (
    0x0000000000000001, 0x0000000000008082, 0x800000000000808A, 0x8000000080008000,
    0x000000000000808B, 0x0000000080000001, 0x8000000080008081, 0x8000000000008009,
    0x000000000000008A, 0x0000000000000088, 0x0000000080008009, 0x000000008000000A,
    0x000000008000808B, 0x800000000000008B, 0x8000000000008089, 0x8000000000008003,
    0x8000000000008002, 0x8000000000000080, 0x000000000000800A, 0x800000008000000A,
    0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008,
)
# Rotation offsets of lane (x, y), stored at index x + 5 * y.
ROTATIONS = (
    0, 1, 62, 28, 27,
    36, 44, 6, 55, 20,
    3, 10, 43, 25, 39,
    41, 45, 15, 21, 8,
    18, 2, 61, 56, 14,
)
BACKENDS = ("auto", "cpu", "numpy", "cupy")


class NoGpu(RuntimeError):
    """The cupy backend was asked for and no CUDA device is usable."""


def gpu_available() -> bool:
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # not installed, no driver, no device
        return False


def array_module(backend: str):
    if backend == "numpy":
        return numpy
    if not gpu_available():
        raise NoGpu("the cupy backend needs cupy and a CUDA device")
    import cupy

    return cupy


@lru_cache(maxsize=None)
def _tables(xp):
    """Index and shift tables of one round, on the array module's device."""
    lanes = range(25)
    # rho and pi: lane (x, y) rotates and moves to (y, 2x + 3y).
    destination = [(i // 5) + 5 * ((2 * (i % 5) + 3 * (i // 5)) % 5) for i in lanes]
    source = [0] * 25
    for i, target in enumerate(destination):
        source[target] = i
    rotation = [ROTATIONS[source[i]] for i in lanes]
    return {
        "source": xp.asarray(source),
        "left": xp.asarray(rotation, dtype=xp.uint64),
        "right": xp.asarray([(64 - r) % 64 for r in rotation], dtype=xp.uint64),
        "next1": xp.asarray([(i % 5 + 1) % 5 + 5 * (i // 5) for i in lanes]),
        "next2": xp.asarray([(i % 5 + 2) % 5 + 5 * (i // 5) for i in lanes]),
        "constants": [xp.uint64(c) for c in ROUND_CONSTANTS],
        "one": xp.uint64(1),
        "sixty_three": xp.uint64(63),
    }


def keccak_f1600(xp, state, tables) -> None:
    """The permutation, in place, on ``state`` of shape (batch, 25)."""
    one, sixty_three = tables["one"], tables["sixty_three"]
    for constant in tables["constants"]:
        planes = state.reshape(-1, 5, 5)  # [batch, y, x]
        columns = planes[:, 0] ^ planes[:, 1] ^ planes[:, 2] ^ planes[:, 3] ^ planes[:, 4]
        rotated = (columns << one) | (columns >> sixty_three)
        theta = xp.roll(columns, 1, axis=1) ^ xp.roll(rotated, -1, axis=1)
        planes ^= theta[:, None, :]
        moved = state[:, tables["source"]]
        moved = (moved << tables["left"]) | (moved >> tables["right"])
        state[:] = moved ^ (~moved[:, tables["next1"]] & moved[:, tables["next2"]])
        state[:, 0] ^= constant


def _padded(data: bytes) -> bytes:
    """keccak's pad10*1 with domain byte 0x01, to a whole number of blocks."""
    padding = RATE_BYTES - len(data) % RATE_BYTES
    tail = bytearray(padding)
    tail[0] |= 0x01
    tail[-1] |= 0x80
    return bytes(data) + bytes(tail)


def _keccak_arrays(xp, items: Sequence[bytes]) -> List[bytes]:
    """keccak-256 of items that pad to the same number of blocks."""
    tables = _tables(xp)
    padded = b"".join(_padded(item) for item in items)
    blocks = len(padded) // len(items) // RATE_BYTES
    host = numpy.frombuffer(padded, dtype="<u8").reshape(len(items), blocks, -1)
    lanes = xp.asarray(host)
    state = xp.zeros((len(items), 25), dtype=xp.uint64)
    for block in range(blocks):
        state[:, :RATE_LANES] ^= lanes[:, block]
        keccak_f1600(xp, state, tables)
    digests = state[:, :4]
    digests = digests.get() if hasattr(digests, "get") else digests
    raw = digests.astype("<u8").tobytes()
    return [raw[i * 32:(i + 1) * 32] for i in range(len(items))]


def keccak_batch(items: Sequence[bytes], backend: str = "auto") -> List[bytes]:
    """keccak-256 of every item, in order."""
    if backend not in BACKENDS:
        raise ValueError(f"hashing backend {backend!r} is not one of {', '.join(BACKENDS)}")
    if backend == "auto":
        backend = "cupy" if gpu_available() else "cpu"
    if backend == "cpu" or not items:
        return [keccak(bytes(item)) for item in items]
    xp = array_module(backend)
    by_blocks: Dict[int, List[int]] = {}
    for index, item in enumerate(items):
        by_blocks.setdefault(len(item) // RATE_BYTES + 1, []).append(index)
    digests: List[bytes] = [b""] * len(items)
    for indices in by_blocks.values():
        for index, digest in zip(indices, _keccak_arrays(xp, [items[i] for i in indices])):
            digests[index] = digest
    return digests
