"""Batched keccak: the array implementation (numpy here, cupy on a GPU) equals eth-hash."""

import os

import pytest
from eth_hash.auto import keccak

from prover.hashing import RATE_BYTES, NoGpu, gpu_available, keccak_batch


def test_array_keccak_matches_eth_hash_at_every_padding_boundary():
    lengths = [0, 1, 31, 32, 33, *range(RATE_BYTES - 2, RATE_BYTES + 3), 2 * RATE_BYTES, 532]
    items = [os.urandom(n) for n in lengths for _ in range(3)]
    items.append(b"\x01" + b"\x00" * (RATE_BYTES - 2) + b"\x80")  # looks like padding itself
    assert keccak_batch(items, "numpy") == [keccak(item) for item in items]


def test_mixed_lengths_come_back_in_order_from_every_backend():
    items = [os.urandom(n) for n in (600, 3, 140, 0, 136, 17)]
    expected = [keccak(item) for item in items]
    assert keccak_batch(items, "numpy") == expected
    assert keccak_batch(items, "cpu") == expected
    assert keccak_batch(items) == expected
    assert keccak_batch([], "numpy") == []


def test_backends_are_named_and_the_gpu_one_needs_a_gpu():
    with pytest.raises(ValueError, match="not one of"):
        keccak_batch([b""], "opencl")
    if not gpu_available():
        with pytest.raises(NoGpu):
            keccak_batch([b"x"], "cupy")
    else:
        items = [os.urandom(n) for n in range(300)]
        assert keccak_batch(items, "cupy") == [keccak(item) for item in items]
