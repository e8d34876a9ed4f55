"""
EIP-2537's precompiles over arkworks give what py-evm's (over py_ecc) give:
the same output, gas and failure, input for input, valid and invalid.
"""

import random

import pytest
from eth.precompiles import bls12_381 as py_evm_bls
from eth.precompiles.point_evaluation import point_evaluation_precompile
from eth.vm.forks.prague.computation import PragueComputation
from py_ecc.bls.hash_to_curve import map_to_curve_G1, map_to_curve_G2
from py_ecc.optimized_bls12_381 import G1, G2, curve_order, multiply, normalize
from py_ecc.optimized_bls12_381.optimized_curve import FQ, FQ2

from l1 import accel
from l1.accel.bls12_381 import FIELD_MODULUS, REPLACING
from l1.accel.forks import faster_precompiles

from precompile_calls import outcome

RANDOM = random.Random(2537)
ZERO_FIELD = bytes(64)


def field(value: int) -> bytes:
    return value.to_bytes(64, "big")


def g1_bytes(point) -> bytes:
    x, y = normalize(point)
    return field(int(x)) + field(int(y))


def g2_bytes(point) -> bytes:
    x, y = normalize(point)
    return b"".join(field(int(c)) for c in (*x.coeffs, *y.coeffs))


def g1_multiple() -> bytes:
    return g1_bytes(multiply(G1, RANDOM.randrange(1, curve_order)))


def g2_multiple() -> bytes:
    return g2_bytes(multiply(G2, RANDOM.randrange(1, curve_order)))


def g1_outside_subgroup() -> bytes:
    """On the curve, not in the subgroup (the map to the curve before clearing the cofactor)."""
    return g1_bytes(map_to_curve_G1(FQ(12345)))


def g2_outside_subgroup() -> bytes:
    return g2_bytes(map_to_curve_G2(FQ2((12345, 678))))


def off_curve(point: bytes) -> bytes:
    return point[:-1] + bytes([point[-1] ^ 1])


def scalar(value: int) -> bytes:
    return value.to_bytes(32, "big")


INFINITY_G1, INFINITY_G2 = bytes(128), bytes(256)
TOO_BIG = field(FIELD_MODULUS)
TOP_BYTES_SET = b"\x01" + bytes(63)

G1_A, G1_B, G2_A, G2_B = g1_multiple(), g1_multiple(), g2_multiple(), g2_multiple()
G1_OUT, G2_OUT = g1_outside_subgroup(), g2_outside_subgroup()

CASES = {
    "g1add": (
        py_evm_bls.bls12_g1_add,
        {
            "two points": G1_A + G1_B,
            "a point and itself": G1_A + G1_A,
            "infinity": G1_A + INFINITY_G1,
            "both infinity": INFINITY_G1 * 2,
            "outside the subgroup (allowed)": G1_OUT + G1_A,
            "off the curve": off_curve(G1_A) + G1_B,
            "x not below the modulus": TOO_BIG + G1_A[64:] + G1_B,
            "top bytes set": TOP_BYTES_SET + G1_A[64:] + G1_B,
            "short": (G1_A + G1_B)[:-1],
            "empty": b"",
        },
    ),
    "g2add": (
        py_evm_bls.bls12_g2_add,
        {
            "two points": G2_A + G2_B,
            "infinity": INFINITY_G2 + G2_B,
            "outside the subgroup (allowed)": G2_OUT + G2_A,
            "off the curve": G2_A + off_curve(G2_B),
            "c1 not below the modulus": G2_A[:64] + TOO_BIG + G2_A[128:] + G2_B,
            "long": G2_A + G2_B + b"\x00",
        },
    ),
    "g1msm": (
        py_evm_bls.bls12_g1_msm,
        {
            "one pair": G1_A + scalar(7),
            "two pairs": G1_A + scalar(RANDOM.getrandbits(256)) + G1_B + scalar(3),
            "scalar zero": G1_A + scalar(0),
            "scalar above the order": G1_A + scalar(curve_order + 5),
            "infinity": INFINITY_G1 + scalar(9),
            "outside the subgroup": G1_OUT + scalar(2),
            "off the curve": off_curve(G1_A) + scalar(2),
            "a pair cut short": G1_A + scalar(2)[:-1],
            "empty": b"",
        },
    ),
    "g2msm": (
        py_evm_bls.bls12_g2_msm,
        {
            "one pair": G2_A + scalar(11),
            "two pairs": G2_A + scalar(2**256 - 1) + G2_B + scalar(1),
            "outside the subgroup": G2_OUT + scalar(2),
            "infinity": INFINITY_G2 + scalar(4),
            "empty": b"",
        },
    ),
    "pairing": (
        py_evm_bls.bls12_pairing_check,
        {
            "e(P, Q) e(-P, Q) = 1": g1_bytes(G1)
            + g2_bytes(G2)
            + g1_bytes(multiply(G1, curve_order - 1))
            + g2_bytes(G2),
            "e(P, Q) alone": g1_bytes(G1) + g2_bytes(G2),
            "infinity pairs": INFINITY_G1 + INFINITY_G2,
            "G1 outside the subgroup": G1_OUT + G2_A,
            "G2 outside the subgroup": G1_A + G2_OUT,
            "off the curve": off_curve(G1_A) + G2_A,
            "empty": b"",
        },
    ),
    "map_fp_to_g1": (
        py_evm_bls.bls12_map_fp_to_g1,
        {
            "an element": field(RANDOM.randrange(FIELD_MODULUS)),
            "zero": ZERO_FIELD,
            "the largest element": field(FIELD_MODULUS - 1),
            "the modulus": TOO_BIG,
            "short": bytes(63),
        },
    ),
    "map_fp2_to_g2": (
        py_evm_bls.bls12_map_fp2_to_g2,
        {
            "an element": field(RANDOM.randrange(FIELD_MODULUS)) + field(3),
            "zero": ZERO_FIELD * 2,
            "c1 the modulus": ZERO_FIELD + TOO_BIG,
            "short": bytes(127),
        },
    ),
}


@pytest.mark.parametrize(
    "py_evm_precompile, data",
    [
        pytest.param(precompile, data, id=f"{name}: {case}")
        for name, (precompile, inputs) in CASES.items()
        for case, data in inputs.items()
    ],
)
def test_arkworks_precompile_gives_what_py_evm_gives(py_evm_precompile, data):
    expected = outcome(py_evm_precompile, data)
    assert outcome(REPLACING[py_evm_precompile], data) == expected


def test_every_bls12_381_precompile_of_prague_is_replaced_and_nothing_else(monkeypatch):
    monkeypatch.setattr(accel, "_enabled", frozenset({"forks", "bls12-381"}))
    theirs = PragueComputation._precompiles
    replaced = faster_precompiles(theirs)
    assert set(replaced) == set(theirs)
    changed = {a: replaced[a] for a in replaced if replaced[a] is not theirs[a]}
    bls = {a: run for a, run in changed.items() if theirs[a] in REPLACING}
    assert len(bls) == 7 and all(run is REPLACING[theirs[a]] for a, run in bls.items())
    assert set(changed) - set(bls) == {
        a for a in theirs if theirs[a] is point_evaluation_precompile
    }
    assert set(REPLACING) == {precompile for precompile, _ in CASES.values()}
    another = {address: (lambda computation: None) for address in bls}
    assert faster_precompiles(another) == another  # a fork's own precompile stays


def test_the_accelerated_prague_computation_runs_arkworks_only_when_that_part_is_on(
    monkeypatch,
):
    from precompile.forks import Prague

    monkeypatch.setattr(accel, "_enabled", frozenset({"forks", "bls12-381"}))
    with_arkworks = accel.accelerate(Prague)._state_class.computation_class._precompiles
    monkeypatch.setattr(accel, "_enabled", frozenset({"forks"}))
    without = accel.accelerate(Prague)._state_class.computation_class._precompiles
    bls_addresses = [a for a, run in PragueComputation._precompiles.items() if run in REPLACING]
    assert len(bls_addresses) == 7
    for address in bls_addresses:
        py_evm_precompile = PragueComputation._precompiles[address]
        assert with_arkworks[address] is REPLACING[py_evm_precompile]
        assert without[address] is py_evm_precompile
