"""
The based-block drill, in proofs mode: what happens when the proofs of a
based block are missing. The configuration's rollup runs with slot
sequencing on an L1 that accepts L2 blocks on k of n execution proofs. A
based block whose proofs do not come in time must miss its slot and then be
refused (never land late, in another slot), the L2 must stay on the
slot-ending block, and the next slot's based block, proven in time, lands.
"""

from l1.accounts import derive_accounts
from precompile.encoding import decode
from precompile.ssz import StatelessInput
from prover.pool import sign_proof
from prover.proof_types import proof_system

from ..based import BasedBuilder
from ..composable import ComposableRollup, slot_friendly
from .proofs import HONEST_ORDER
from .scenario import ALICE, BOB, Check, Outcome, Scenario

BUILDER_ACCOUNT = 5


def prove(scenario: Scenario, stateless_input: bytes) -> None:
    """
    k honest provers publish proofs of ``stateless_input`` of distinct types
    (a type whose engine cannot run the block, revm on some, is passed over).
    """
    l1 = scenario.l1
    published = 0
    for index, name in enumerate(HONEST_ORDER):
        if published == scenario.configuration.proof_threshold:
            return
        key = l1.prover_keys[index]
        try:
            proof = proof_system(name, l1.provers, (index, key)).prove(stateless_input)
        except Exception:  # this type's engine declines the block: another type proves it
            continue
        l1.submit_proof(sign_proof(proof, index, key, l1.provers).encode_bytes())
        published += 1


def announce(scenario: Scenario, based) -> None:
    """
    The L1 node meets the based block's EXECUTE input in its pending
    transaction, so proofs of it count as they arrive (this devnet otherwise
    meets a payload only when a block build or a call runs it, and a call of
    ``build_based`` ahead of its slot stops at the slot check, before EXECUTE).
    """
    scenario.l1.proof_pool.see(
        decode(based.stateless_input, StatelessInput), based.stateless_input
    )


def why_not(l1, sent: bytes) -> str:
    """Why an L1 transaction is not in, or reverted: waiting for proofs, or its revert reason."""
    if l1.receipt(sent) is None:
        return l1.awaiting_proofs.get(sent, "not in any block")
    trace = l1.trace_transaction(sent, {"tracer": "callTracer"})
    return trace.get("revertReason") or trace.get("error") or "reverted"


def end_slot_proven(scenario: Scenario, rollup: ComposableRollup):
    """The sequencer ends the slot; its unsettled blocks are proven, so they settle."""
    first = rollup.settled_head() + 1
    certificate = rollup.sequencer.end_slot()
    for number in range(first, certificate.block_number + 1):
        prove(scenario, rollup.sequencer.stateless_input(number))
    return certificate


def based_proof_missing(scenario: Scenario) -> Outcome:
    l1 = scenario.l1
    rollup = ComposableRollup.deploy(l1.web3(), slot_friendly(scenario.configuration.stage))
    l1.set_automine(False)  # one block per slot from here on
    rollup.sequencer.follow_l1()
    builder = BasedBuilder(rollup, derive_accounts()[BUILDER_ACCOUNT])
    scenario.note("a composable rollup on an L1 that settles L2 blocks on execution proofs")

    rollup.l2_web3.eth.send_transaction(
        {"from": ALICE.checksum_address, "to": BOB.checksum_address, "value": 1}
    )
    certificate = end_slot_proven(scenario, rollup)
    unproven = builder.build([], slot_ending=certificate)
    sent = builder.land(unproven)
    l1.mine_slot(certificate.slot)
    found = l1.receipt(sent)
    missed = found is None or found[2].state_root != b"\x01"
    scenario.note(f"slot {certificate.slot}: the based block's proofs are missing: "
                  + ("it did not land in the slot's L1 block" if missed else "it LANDED"))
    prove(scenario, unproven.stateless_input)  # too late: its slot is over
    late = l1.mine_slot(certificate.slot + 1)
    receipt = l1.receipt(sent)
    refused_late = receipt is None or receipt[2].state_root != b"\x01"
    kept_on_slot_ending = bytes(rollup.contract.view("head_hash")) == certificate.block_hash
    head = "stays on the slot-ending block" if kept_on_slot_ending else "MOVED"
    scenario.note(f"slot {certificate.slot + 1}: proven late, the based block "
                  + ("was refused (another slot)" if refused_late else "was NOT refused")
                  + f" in L1 block {late.number}; the settled head {head}")
    rollup.sequencer.follow_l1()

    certificate = end_slot_proven(scenario, rollup)
    on_time = builder.build([], slot_ending=certificate)
    sent = builder.land(on_time)
    announce(scenario, on_time)
    prove(scenario, on_time.stateless_input)
    l1.mine_slot(certificate.slot)
    found = l1.receipt(sent)
    landed = found is not None and found[2].state_root == b"\x01"
    rollup.sequencer.follow_l1()
    scenario.note(f"slot {certificate.slot}: the next based block, proven in time, "
                  + ("landed" if landed else f"did NOT land ({why_not(l1, sent)})"))
    sound = missed and refused_late and kept_on_slot_ending and landed
    detail = (
        "a based block without its proofs missed its slot and was refused when proven late; the "
        "next slot built on the same slot-ending block and its based block landed"
        if sound else "; ".join(part for part, bad in (
            ("the unproven based block landed", not missed),
            ("the late based block was not refused", not refused_late),
            ("the settled head left the slot-ending block", not kept_on_slot_ending),
            ("the next proven based block did not land", not landed),
        ) if bad)
    )
    return Outcome(detail, [Check("proof-soundness", sound, detail)], {
        "based_block_without_proofs": "missed its slot" if missed else "landed",
    })
