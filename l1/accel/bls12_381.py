"""
EIP-2537's BLS12-381 precompiles over arkworks (py-arkworks-bls12381), the
same checks, gas and outputs as py-evm's, which run them on pure-Python py_ecc.

A G2 multi-scalar multiplication of 128 pairs takes py_ecc minutes; arkworks
takes milliseconds. What each precompile checks, in EIP-2537's words:

- a field element is 64 bytes, the top 16 zero and the value below the field
  modulus; an Fp2 element is two of them (c0, then c1);
- a point is two coordinates, (0, 0) being the point at infinity, and must be
  on its curve; the MSM and pairing inputs must also be in the subgroup (the
  additions need not be);
- an MSM scalar is any 32-byte integer (the points are in the subgroup, so it
  acts as its value modulo the group order).

Any failure is py-evm's ``VMError``: the call fails and keeps no gas, as a
failed py-evm precompile does. Gas is charged from py-evm's own tables.
"""

from typing import Callable, Dict, List, Sequence

from eth.abc import ComputationAPI
from eth.exceptions import VMError
from eth.precompiles import bls12_381 as py_evm
from eth.precompiles.bls12_381.constants import (
    BLS12_G1_ADD_GAS,
    BLS12_G1_MSM_GAS,
    BLS12_G2_ADD_GAS,
    BLS12_G2_MSM_GAS,
    BLS12_MAP_FP2_G2_GAS,
    BLS12_MAP_FP_G1_GAS,
    G1_MSM_DISCOUNTS,
    G1_MSM_MAX_DISCOUNT,
    G2_MSM_DISCOUNTS,
    G2_MSM_MAX_DISCOUNT,
    MSM_MULTIPLIER,
)
from py_arkworks_bls12381 import GT, G1Point, G2Point, Scalar
from py_ecc.fields import optimized_bls12_381_FQ

FIELD_MODULUS = optimized_bls12_381_FQ.field_modulus
FIELD_ELEMENT_BYTES = 64
# The significant bytes of a field element: the top 16 of its 64 are zero.
COORDINATE_BYTES = 48
G1_POINT_BYTES = 2 * FIELD_ELEMENT_BYTES
G2_POINT_BYTES = 4 * FIELD_ELEMENT_BYTES
SCALAR_BYTES = 32
PAIRING_PAIR_BYTES = G1_POINT_BYTES + G2_POINT_BYTES
PAIRING_GAS_PER_PAIR = 32_600
PAIRING_BASE_GAS = 37_700


def coordinate(data: bytes) -> bytes:
    """A 64-byte field element's 48 significant bytes; VMError unless below the modulus."""
    if int.from_bytes(data, "big") >= FIELD_MODULUS:
        raise VMError("a field element is not below the BLS12-381 field modulus")
    return data[FIELD_ELEMENT_BYTES - COORDINATE_BYTES :]


def coordinates(data: bytes) -> bytes:
    """Consecutive 64-byte field elements as arkworks reads them (48 bytes each)."""
    return b"".join(
        coordinate(data[start : start + FIELD_ELEMENT_BYTES])
        for start in range(0, len(data), FIELD_ELEMENT_BYTES)
    )


def padded(point_bytes: bytes) -> bytes:
    """arkworks' 48-byte coordinates as EIP-2537's 64-byte field elements."""
    return b"".join(
        bytes(FIELD_ELEMENT_BYTES - COORDINATE_BYTES)
        + point_bytes[start : start + COORDINATE_BYTES]
        for start in range(0, len(point_bytes), COORDINATE_BYTES)
    )


def point_on_curve(point_class, data: bytes, in_subgroup: bool):
    """A G1 or G2 point from its encoding; VMError unless on the curve (and in the subgroup)."""
    try:
        point = point_class.from_xy_bytes_unchecked_be(coordinates(data))
    except ValueError:
        raise VMError("the point is not on the curve") from None
    if in_subgroup and not point.is_in_subgroup():
        raise VMError("the point is not in the subgroup")
    return point


def g1_point(data: bytes, in_subgroup: bool = False) -> G1Point:
    return point_on_curve(G1Point, data, in_subgroup)


def g2_point(data: bytes, in_subgroup: bool = False) -> G2Point:
    return point_on_curve(G2Point, data, in_subgroup)


def require_length(data: bytes, length: int, name: str) -> None:
    if len(data) != length:
        raise VMError(f"{name} takes {length} bytes of input, not {len(data)}")


def pieces(data: bytes, size: int, name: str) -> List[bytes]:
    """``data`` cut into pieces of ``size``; VMError if it is empty or does not divide."""
    if not data or len(data) % size:
        raise VMError(f"{name} takes a positive multiple of {size} bytes, not {len(data)}")
    return [data[start : start + size] for start in range(0, len(data), size)]


def msm_gas(pairs: int, gas_per_pair: int, discounts: Sequence[int], max_discount: int) -> int:
    discount = discounts[pairs - 1] if pairs <= len(discounts) else max_discount
    return pairs * gas_per_pair * discount // MSM_MULTIPLIER


def add(point: Callable, point_bytes: int, gas: int, name: str):
    def precompile(computation: ComputationAPI) -> None:
        data = computation.msg.data
        require_length(data, 2 * point_bytes, name)
        computation.consume_gas(gas, reason=f"{name} gas")
        total = point(data[:point_bytes]) + point(data[point_bytes:])
        computation.output = padded(total.to_xy_bytes_be())

    return precompile


def msm(point_class, point: Callable, point_bytes: int, gas, discounts, max_discount, name):
    def precompile(computation: ComputationAPI) -> None:
        pairs = pieces(computation.msg.data, point_bytes + SCALAR_BYTES, name)
        computation.consume_gas(
            msm_gas(len(pairs), gas, discounts, max_discount), reason=f"{name} gas"
        )
        points = [point(pair[:point_bytes], in_subgroup=True) for pair in pairs]
        scalars = [Scalar.from_be_bytes_mod_order(pair[point_bytes:]) for pair in pairs]
        total = point_class.multiexp_unchecked(points, scalars)
        computation.output = padded(total.to_xy_bytes_be())

    return precompile


def map_to_curve(mapping: Callable, element_bytes: int, gas: int, name: str):
    def precompile(computation: ComputationAPI) -> None:
        data = computation.msg.data
        require_length(data, element_bytes, name)
        computation.consume_gas(gas, reason=f"{name} gas")
        computation.output = padded(mapping(coordinates(data)).to_xy_bytes_be())

    return precompile


def pairing_check(computation: ComputationAPI) -> None:
    name = "BLS12_PAIRING_CHECK"
    pairs = pieces(computation.msg.data, PAIRING_PAIR_BYTES, name)
    computation.consume_gas(
        PAIRING_GAS_PER_PAIR * len(pairs) + PAIRING_BASE_GAS, reason=f"{name} gas"
    )
    g1s = [g1_point(pair[:G1_POINT_BYTES], in_subgroup=True) for pair in pairs]
    g2s = [g2_point(pair[G1_POINT_BYTES:], in_subgroup=True) for pair in pairs]
    computation.output = (1 if GT.pairing_check(g1s, g2s) else 0).to_bytes(32, "big")


# py-evm's precompile -> this module's, for the same address of any fork that runs it.
REPLACING: Dict[Callable[[ComputationAPI], None], Callable[[ComputationAPI], None]] = {
    py_evm.bls12_g1_add: add(g1_point, G1_POINT_BYTES, BLS12_G1_ADD_GAS, "BLS12_G1ADD"),
    py_evm.bls12_g2_add: add(g2_point, G2_POINT_BYTES, BLS12_G2_ADD_GAS, "BLS12_G2ADD"),
    py_evm.bls12_g1_msm: msm(
        G1Point,
        g1_point,
        G1_POINT_BYTES,
        BLS12_G1_MSM_GAS,
        G1_MSM_DISCOUNTS,
        G1_MSM_MAX_DISCOUNT,
        "BLS12_G1MSM",
    ),
    py_evm.bls12_g2_msm: msm(
        G2Point,
        g2_point,
        G2_POINT_BYTES,
        BLS12_G2_MSM_GAS,
        G2_MSM_DISCOUNTS,
        G2_MSM_MAX_DISCOUNT,
        "BLS12_G2MSM",
    ),
    py_evm.bls12_pairing_check: pairing_check,
    py_evm.bls12_map_fp_to_g1: map_to_curve(
        G1Point.map_from_fp_be, FIELD_ELEMENT_BYTES, BLS12_MAP_FP_G1_GAS, "BLS12_MAP_FP_TO_G1"
    ),
    py_evm.bls12_map_fp2_to_g2: map_to_curve(
        G2Point.map_from_fp2_be,
        2 * FIELD_ELEMENT_BYTES,
        BLS12_MAP_FP2_G2_GAS,
        "BLS12_MAP_FP2_TO_G2",
    ),
}
