"""
The proofs-mode drill: an L1 whose EXECUTE accepts a block on k of n
execution proofs. With k - 1 proofs settlement must wait (stall, not drop);
with k it goes on; and compromised provers (k - 1 of them, at least one)
plus anyone holding the public demo keys must not get an invalid block in.
"""

from l1.node import DevnetConfig
from precompile.execute import PROOFS_MODE, ExecuteParameters
from prover.pool import sign_proof
from prover.proof_types import proof_system
from prover.signing import demo_prover_key

from ..adversaries import forged_attestations, with_state_root
from .configuration import Configuration
from .scenario import ALICE, BOB, Check, Outcome, Scenario

# Gas for advance() in proofs mode: EXECUTE charges a flat verification cost,
# so the L2 gas limit (10M) and the overhead are an ample bound.
ADVANCE_GAS = 15_000_000
# Honest proof types, in the order provers publish them: a re-execution
# proof first (some nodes require one), the slow EELS attestation last.
HONEST_ORDER = ("reexec-pyevm", "attested-pyevm", "attested-revm", "reexec-revm", "attested-eels")


def proofs_l1(configuration: Configuration) -> DevnetConfig:
    """The L1 of the proofs drill: proofs mode with the configuration's k of n."""
    execute = ExecuteParameters(
        mode=PROOFS_MODE,
        proof_threshold=configuration.proof_threshold,
        proof_requires_reexecution=configuration.proof_requires_reexecution,
    )
    return DevnetConfig(execute=execute, provers=configuration.provers)


def proofs_mode(scenario: Scenario) -> Outcome:
    configuration, l1, rollup = scenario.configuration, scenario.l1, scenario.rollup
    k, n = configuration.proof_threshold, configuration.provers
    mode = f"{k} of {n}" + (", one a re-execution" if configuration.proof_requires_reexecution
                            else "")
    scenario.note(f"L1 verifies L2 blocks with execution proofs: {mode}")

    honest = _next_block(scenario)
    sent = _send_advance(scenario, honest)
    for index, name in enumerate(HONEST_ORDER[:k]):
        if index == k - 1:
            l1.mine(2)
            waiting = list(l1.awaiting_proofs.values())
            stalled = l1.receipt(sent) is None and rollup.settled_head() == 0
            scenario.note(f"with {k - 1} proofs settlement waits"
                          + (f" ({waiting[0]})" if waiting else ""), stalled=stalled)
        proof = proof_system(name, l1.provers, (index, l1.prover_keys[index])).prove(honest)
        verdict = l1.submit_proof(sign_proof(proof, index, l1.prover_keys[index], l1.provers)
                                  .encode_bytes())
        scenario.note(f"prover {index} published a {name} proof: {verdict.verdict}")
    accepted_honest = l1.receipt(sent) is not None and rollup.settled_head() == 1
    gas = l1.web3().eth.get_transaction_receipt(sent).gasUsed if accepted_honest else None
    scenario.note(f"with {k} proofs the block " + ("settled" if accepted_honest else
                                                   "still waits"))

    invalid = with_state_root(_next_block(scenario), b"\x42" * 32)
    forged_sent = _send_advance(scenario, invalid)
    compromised = max(1, k - 1)
    keys = [(index, l1.prover_keys[index]) for index in range(min(compromised, 3))]
    demo = [(index, demo_prover_key(index)) for index in range(3)]
    for who, forged in (("compromised provers", forged_attestations(invalid, l1.provers, keys)),
                        ("the public demo keys", forged_attestations(invalid, l1.provers, demo))):
        verdicts = [l1.submit_proof(proof).verdict for proof in forged]
        scenario.note(f"{who} signed {len(forged)} attestations of an invalid block: {verdicts}")
    l1.mine(2)
    forged_in = l1.receipt(forged_sent) is not None and rollup.settled_head() > 1
    scenario.note("the invalid block " + ("SETTLED" if forged_in else "was not accepted"))
    sound = stalled and accepted_honest and not forged_in
    detail = (f"{mode}: k - 1 proofs stalled, k settled, {len(keys)} compromised provers and"
              " the demo keys could not settle an invalid block" if sound else
              f"{mode}: " + "; ".join(part for part, bad in (
                  ("k - 1 proofs did not stall settlement", not stalled),
                  ("k proofs did not settle the block", not accepted_honest),
                  (f"{len(keys)} compromised provers settled an invalid block", forged_in),
              ) if bad))
    return Outcome(detail, [Check("proof-soundness", sound, detail)], {
        "proofs_mode": mode,
        "invalid_accepted": forged_in,
        "l1_gas_per_settled_block_proofs_mode": gas,
    })


def _next_block(scenario: Scenario) -> bytes:
    """An L2 transfer in a new block; that block's EXECUTE input."""
    rollup = scenario.rollup
    rollup.l2_web3.eth.send_transaction(
        {"from": ALICE.checksum_address, "to": BOB.checksum_address, "value": 1}
    )
    return scenario.sequencer.stateless_input(rollup.l2.head().block_number)


def _send_advance(scenario: Scenario, data: bytes) -> bytes:
    """The sequencer sends advance(data) without waiting: it waits in the pool for proofs."""
    function = scenario.rollup.contract.contract.functions.advance(data)
    return bytes(function.transact({"from": scenario.sequencer.address, "gas": ADVANCE_GAS}))

