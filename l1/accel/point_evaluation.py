"""
EIP-4844's point evaluation precompile with KZG's trusted setup loaded once.

py-evm's precompile (at the verified version) reads and precomputes the
trusted setup file on every call: one to three seconds a call, where the proof
check itself (c-kzg) takes about a millisecond. This one keeps the setup for
the process; its checks, their order, the gas and the output are py-evm's.
"""

from functools import lru_cache

from ckzg import load_trusted_setup, verify_kzg_proof
from eth.abc import ComputationAPI
from eth.exceptions import VMError
from eth.precompiles.point_evaluation import (
    TRUSTED_SETUP_PATH,
    kzg_to_versioned_hash,
    point_evaluation_precompile,
)
from eth.vm.forks.cancun.constants import (
    BLS_MODULUS,
    FIELD_ELEMENTS_PER_BLOB,
    POINT_EVALUATION_PRECOMPILE_GAS,
)

INPUT_BYTES = 192
# The result every successful call returns: the blob's size in field elements, and the modulus.
OUTPUT = FIELD_ELEMENTS_PER_BLOB.to_bytes(32, "big") + BLS_MODULUS.to_bytes(32, "big")


@lru_cache(maxsize=1)
def trusted_setup():
    """The mainnet KZG setup py-evm ships, loaded on first use (no precomputation, as py-evm)."""
    return load_trusted_setup(TRUSTED_SETUP_PATH, 0)


def point_evaluation(computation: ComputationAPI) -> ComputationAPI:
    computation.consume_gas(POINT_EVALUATION_PRECOMPILE_GAS, reason="Point Evaluation Precompile")
    data = computation.msg.data_as_bytes
    if len(data) != INPUT_BYTES:
        raise VMError("Point evaluation invalid input length.")
    versioned_hash, z, y = data[:32], data[32:64], data[64:96]
    commitment, proof = data[96:144], data[144:192]
    if kzg_to_versioned_hash(commitment) != versioned_hash:
        raise VMError("Point evaluation commitment does not match versioned hash.")
    try:
        verified = verify_kzg_proof(commitment, z, y, proof, trusted_setup())
    except RuntimeError:  # c-kzg refuses what is not a field element or a curve point
        verified = False
    if not verified:
        raise VMError("Point evaluation KZG proof verification failed.")
    computation.output = OUTPUT
    return computation


# py-evm's precompile -> this module's, for the same address of any fork that runs it.
REPLACING = {point_evaluation_precompile: point_evaluation}
