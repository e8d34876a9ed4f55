"""EIP-4844's point evaluation with the setup loaded once answers as py-evm's does."""

import hashlib

import ckzg
import pytest
from eth.precompiles.point_evaluation import point_evaluation_precompile
from eth.vm.forks.cancun.computation import CancunComputation
from eth.vm.forks.cancun.constants import BLS_MODULUS

from l1 import accel
from l1.accel.forks import faster_precompiles
from l1.accel.point_evaluation import point_evaluation, trusted_setup

from precompile_calls import outcome

BLOB = b"".join((index * 7919 % 1000).to_bytes(32, "big") for index in range(4096))
COMMITMENT = bytes(ckzg.blob_to_kzg_commitment(BLOB, trusted_setup()))
Z = (123456789).to_bytes(32, "big")
PROOF, Y = (bytes(part) for part in ckzg.compute_kzg_proof(BLOB, Z, trusted_setup()))
VERSIONED_HASH = b"\x01" + hashlib.sha256(COMMITMENT).digest()[1:]
VALID = VERSIONED_HASH + Z + Y + COMMITMENT + PROOF


def flipped(data: bytes, position: int) -> bytes:
    return data[:position] + bytes([data[position] ^ 1]) + data[position + 1 :]


INPUTS = {
    "a valid proof": VALID,
    "another point's value": VERSIONED_HASH + Z + flipped(Y, 31) + COMMITMENT + PROOF,
    "a wrong versioned hash": flipped(VALID, 5),
    "version byte 0": b"\x00" + VALID[1:],
    "a tampered proof": flipped(VALID, 191),
    "a tampered commitment (hash fixed up)": (
        lambda commitment: (
            b"\x01" + hashlib.sha256(commitment).digest()[1:] + Z + Y + commitment + PROOF
        )
    )(flipped(COMMITMENT, 47)),
    "z not a field element": VERSIONED_HASH
    + BLS_MODULUS.to_bytes(32, "big")
    + Y
    + COMMITMENT
    + PROOF,
    "one byte short": VALID[:-1],
    "empty": b"",
}


@pytest.mark.parametrize("data", INPUTS.values(), ids=INPUTS.keys())
def test_point_evaluation_gives_what_py_evm_gives(data):
    assert outcome(point_evaluation, data) == outcome(point_evaluation_precompile, data)


def test_the_valid_proof_is_accepted_and_each_tampered_one_refused():
    assert outcome(point_evaluation, VALID) != "fails"
    refused = [name for name, data in INPUTS.items() if outcome(point_evaluation, data) == "fails"]
    assert refused == list(INPUTS)[1:]


def test_only_py_evms_own_point_evaluation_is_replaced():
    replaced = faster_precompiles(CancunComputation._precompiles)
    changed = [a for a in replaced if replaced[a] is not CancunComputation._precompiles[a]]
    assert [replaced[a] for a in changed] == [point_evaluation]
    another = {address: (lambda computation: None) for address in changed}
    assert faster_precompiles(another) == another
    from precompile.forks import Prague

    computation = accel.accelerate(Prague)._state_class.computation_class
    assert point_evaluation in computation._precompiles.values()
