"""
Proofs mode against a forger: attested proofs of a block with a wrong state
root, signed with the well-known demo prover keys (anyone can derive them).
A devnet registers fresh keys, so those signatures are refused; and where a
devnet does run on the demo keys, requiring one re-execution proof among the
k keeps signatures alone from vouching for an invalid block.
"""

import pytest
from eth_utils import to_checksum_address

from l1.node import Devnet, DevnetConfig
from precompile.constants import EXECUTE_PRECOMPILE_ADDRESS
from precompile.encoding import decode
from precompile.execute import PROOFS_MODE, ExecuteParameters
from precompile.ssz import StatelessInput, StatelessValidationResult
from prover.pool import ACCEPT, REJECT
from prover.signing import demo_prover_key
from rollup.adversaries import forged_attestations

from rollups import with_state_root

EXECUTE = to_checksum_address(EXECUTE_PRECOMPILE_ADDRESS)


@pytest.fixture(scope="module")
def invalid_input(encoded_input) -> bytes:
    """A valid L2 block's input with its post-state root replaced: an invalid block."""
    return with_state_root(encoded_input, b"\x42" * 32)


def demo_key_forgeries(data: bytes, devnet: Devnet):
    """Attested proofs of ``data`` signed with the demo keys, for ``devnet``'s signing domain."""
    keys = [(index, demo_prover_key(index)) for index in range(3)]
    return forged_attestations(data, devnet.proof_pool.provers, keys)


def execute_accepts(devnet: Devnet, data: bytes) -> bool:
    answer = devnet.web3().provider.make_request(
        "eth_call", [{"to": EXECUTE, "data": "0x" + data.hex(), "gas": hex(2_000_000)}, "latest"]
    )
    if "error" in answer:
        return False
    result = StatelessValidationResult.decode_bytes(bytes.fromhex(answer["result"][2:]))
    return bool(result.successful_validation)


def proofs_devnet(execute: dict, **config) -> Devnet:
    return Devnet(DevnetConfig(execute=ExecuteParameters(mode=PROOFS_MODE, **execute), **config))


def test_the_forgery_works_on_demo_keys_without_a_reexecution_proof(invalid_input):
    """Why the demo keys are labelled unsafe: the attack this file defends against."""
    devnet = proofs_devnet(execute=dict(proof_threshold=3), deterministic_provers=True)
    devnet.proof_pool.see(decode(invalid_input, StatelessInput), invalid_input)
    forged = demo_key_forgeries(invalid_input, devnet)
    verdicts = [devnet.submit_proof(proof).verdict for proof in forged]
    assert verdicts == [ACCEPT] * 3
    assert execute_accepts(devnet, invalid_input)


def test_a_devnet_registers_fresh_prover_keys_the_demo_keys_cannot_sign_for(invalid_input):
    devnet = proofs_devnet(execute=dict(proof_threshold=3))
    registered = {bytes(prover.pubkey) for prover in devnet.proof_pool.provers.registry}
    assert demo_prover_key(0).public_key not in registered
    other = proofs_devnet(execute=dict(proof_threshold=3))
    assert registered.isdisjoint(bytes(p.pubkey) for p in other.proof_pool.provers.registry)
    devnet.proof_pool.see(decode(invalid_input, StatelessInput), invalid_input)
    for forged in demo_key_forgeries(invalid_input, devnet):
        result = devnet.submit_proof(forged)
        assert result.verdict == REJECT and "signature" in result.reason
    assert not execute_accepts(devnet, invalid_input)


def test_requiring_a_reexecution_proof_keeps_signatures_alone_from_vouching(
    invalid_input, encoded_input
):
    devnet = proofs_devnet(
        execute=dict(proof_threshold=3, proof_requires_reexecution=True),
        deterministic_provers=True,
    )
    devnet.proof_pool.see(decode(invalid_input, StatelessInput), invalid_input)
    for forged in demo_key_forgeries(invalid_input, devnet):
        assert devnet.submit_proof(forged).verdict == ACCEPT  # the keys are the demo keys
    assert not execute_accepts(devnet, invalid_input)
    web3 = devnet.web3()
    waiting = web3.eth.send_transaction(
        {"from": web3.eth.accounts[0], "to": EXECUTE, "data": invalid_input, "gas": 2_000_000}
    )
    (reason,) = devnet.awaiting_proofs.values()
    assert "none a re-execution proof" in reason
    assert devnet.receipt(bytes(waiting)) is None
