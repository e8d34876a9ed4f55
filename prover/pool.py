"""
A node's proof pool: the ``execution_proof`` gossip rules of EIP-8025,
applied in the spec's order, and the proofs that passed them.

Each submitted ``SignedExecutionProof`` is ACCEPTed (kept and passed on),
IGNOREd (dropped, the sender not at fault; proofs for a payload this node has
not seen are held and judged once it has) or REJECTed (the sender is at
fault). The pool also remembers the EXECUTE inputs it has seen, so provers
can ask what to prove, and answers EXECUTE in proofs mode: how many distinct
proof types vouch for an input.
"""

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable, Dict, List, Optional, Sequence, Set, Tuple

from eth_hash.auto import keccak

from precompile.execute import ProofRequirement, ProofsMissing
from precompile.ssz import StatelessInput

from .constants import (
    DEFAULT_PROOF_TYPES,
    MAX_EXECUTION_PROOFS_PER_PAYLOAD,
    MAX_HELD_BYTES,
    MAX_HELD_BYTES_PER_PROVER,
    MAX_PROOF_SIZE,
    MAX_QUEUED_PROOFS,
    MAX_TRACKED_PAYLOADS,
    PROOF_TYPES,
)
from .containers import ExecutionProof, PublicInput, SignedExecutionProof, public_input_of
from .proof_types import verify_execution_proof
from .registry import ProverSet
from .signing import SecretKey, compute_signing_root, verify

ACCEPT, IGNORE, REJECT = "accept", "ignore", "reject"
# The name prefix of the proof types checked by re-running the block.
REEXECUTION = "reexec-"


@dataclass(frozen=True)
class GossipResult:
    verdict: str
    reason: str = ""
    # An IGNOREd proof the pool holds until its payload is seen.
    queued: bool = False
    # The public input an ACCEPTed proof is for.
    public_input: Optional[PublicInput] = None
    # An IGNOREd proof a restore overtook: the restored pool never judged it, so sending
    # it again is judged afresh.
    resend: bool = False


@dataclass
class Payload:
    """One payload the pool knows: its EXECUTE input (if seen) and valid proofs by type."""

    public_input: PublicInput
    data: Optional[bytes] = None
    proofs: Dict[int, SignedExecutionProof] = field(default_factory=dict)

    def copy(self) -> "Payload":
        return Payload(self.public_input, self.data, dict(self.proofs))


@dataclass(frozen=True)
class HeldProof:
    """A signed proof for a payload not seen yet, kept as its bytes until it is."""

    payload: bytes
    validator: int
    data: bytes

    @cached_property
    def data_hash(self) -> bytes:
        """Its bytes' hash, once (they may be a few hundred KB; a digest of the pool reads it)."""
        return keccak(self.data)


def payload_key(public_input: PublicInput) -> bytes:
    return bytes(public_input.hash_tree_root())


def proof_signing_root(proof: ExecutionProof, provers: ProverSet) -> bytes:
    return compute_signing_root(proof, provers.domain)


def sign_proof(
    proof: ExecutionProof, index: int, key: SecretKey, provers: ProverSet
) -> SignedExecutionProof:
    """``proof`` as prover ``index`` (holding ``key``) publishes it on the execution_proof topic."""
    return SignedExecutionProof(
        message=proof, validator_index=index, signature=key.sign(proof_signing_root(proof, provers))
    )


class ProofPool:
    def __init__(
        self, provers: ProverSet, accepted_types: Sequence[str] = DEFAULT_PROOF_TYPES
    ) -> None:
        self.provers = provers
        self.accepted_types = tuple(accepted_types)
        self.lock = threading.RLock()
        # Counts restores: a submission judged (unlocked) across one belongs to the pool
        # as it was before it, and leaves the restored pool as it is.
        self.epoch = 0
        self.payloads: "OrderedDict[bytes, Payload]" = OrderedDict()
        # (payload, proof type, validator) of every proof whose signature held.
        self.first_seen: Set[Tuple[bytes, int, int]] = set()
        # Proofs waiting for their payload to be seen, oldest first (bounded in
        # bytes, in all and per prover); and the bytes of those whose payload
        # has since been seen, to be judged by ``judge_held``.
        self.queued: List[HeldProof] = []
        self.ready: List[bytes] = []
        # Called with each accepted proof, and with each newly seen EXECUTE input.
        self.proof_listeners: List[Callable[[SignedExecutionProof], None]] = []
        self.request_listeners: List[Callable[[Payload], None]] = []

    # -- snapshots --

    def saved(self) -> tuple:
        """What this pool holds (payloads seen, proofs accepted and queued), to restore later."""
        with self.lock:
            return (
                OrderedDict((key, payload.copy()) for key, payload in self.payloads.items()),
                set(self.first_seen), list(self.queued), list(self.ready),
            )

    @staticmethod
    def comparable(saved: tuple) -> tuple:
        """
        What ``saved()`` held that a verdict can depend on, as a value equal to
        another's exactly when they judge alike: the payloads seen (a proof for
        one is judged, not held) and the proof types each holds, the proofs
        held and ready (by their bytes' hashes); not the order payloads were
        last seen in.
        """
        payloads, first_seen, queued, ready = saved
        return (
            tuple(sorted(
                (key, tuple(sorted(payload.proofs)), payload.data is not None)
                for key, payload in payloads.items()
            )),
            tuple(sorted(first_seen)),
            tuple((held.payload, held.validator, held.data_hash) for held in queued),
            tuple(keccak(data) for data in ready),
        )

    def digest(self) -> bytes:
        """
        A hash of what ``comparable`` compares, taken without copying the pool
        (for a client that sees it only over RPC, and for a node's marks):
        pools with the same digest judge alike.
        """
        with self.lock:
            canonical = self.comparable((self.payloads, self.first_seen, self.queued, self.ready))
        return keccak(repr(canonical).encode())

    def restore(self, saved: tuple) -> None:
        """Back to what ``saved()`` held: newer payloads, proofs and queued bytes are gone."""
        payloads, first_seen, queued, ready = saved
        with self.lock:
            self.payloads = OrderedDict((key, payload.copy()) for key, payload in payloads.items())
            self.first_seen, self.queued, self.ready = set(first_seen), list(queued), list(ready)
            self.epoch += 1

    def clear(self) -> None:
        """Forget every payload and proof (a node back at genesis, or another chain loaded);
        submissions being judged meanwhile are voided, as across a restore."""
        with self.lock:
            self.payloads, self.first_seen, self.queued, self.ready = OrderedDict(), set(), [], []
            self.epoch += 1

    # -- payloads --

    def see(self, stateless_input: StatelessInput, data: bytes) -> PublicInput:
        """
        Note an EXECUTE input this node met (in a transaction, a call or a
        block): its payload counts as seen for gossip, provers may ask for it,
        and proofs held for it become ready for ``judge_held`` (not judged
        here: this runs inside EXECUTE). Its public input.
        """
        public_input = public_input_of(
            stateless_input.new_payload_request.hash_tree_root(), stateless_input.chain_config
        )
        key = payload_key(public_input)
        with self.lock:
            payload = self.payloads.get(key)
            new = payload is None or payload.data is None
            if payload is None:
                payload = self._track(key, Payload(public_input))
            payload.data = bytes(data)
            self.payloads.move_to_end(key)
            self.ready += [held.data for held in self.queued if held.payload == key]
            self.queued = [held for held in self.queued if held.payload != key]
        if new:
            for listener in list(self.request_listeners):
                listener(payload)
        return public_input

    def _track(self, key: bytes, payload: Payload) -> Payload:
        self.payloads[key] = payload
        while len(self.payloads) > MAX_TRACKED_PAYLOADS:
            forgotten, _ = self.payloads.popitem(last=False)
            self.first_seen = {entry for entry in self.first_seen if entry[0] != forgotten}
        return payload

    def proof_types_for(self, public_input: PublicInput) -> Tuple[str, ...]:
        """The proof types with a valid proof for this public input."""
        with self.lock:
            payload = self.payloads.get(payload_key(public_input))
            return tuple(PROOF_TYPES[t] for t in sorted(payload.proofs)) if payload else ()

    def check(
        self, stateless_input: StatelessInput, data: bytes, requirement: ProofRequirement
    ) -> PublicInput:
        """
        EXECUTE in proofs mode: the input's public input if proofs meeting
        ``requirement`` vouch for it, else ``ProofsMissing``
        (the ``precompile.execute.ProofSource`` a node in proofs mode asks).
        """
        ready_before = len(self.ready)
        public_input = self.see(stateless_input, data)
        reason = self.shortfall(public_input, requirement)
        if reason is not None:
            released = len(self.ready) - ready_before
            if released > 0:  # judged right after this call or block, outside EXECUTE
                reason += f"; {released} proof(s) published before it was seen are judged next"
            raise ProofsMissing(reason, public_input, requirement)
        return public_input

    def shortfall(self, public_input: PublicInput, requirement: ProofRequirement) -> Optional[str]:
        """What the pool lacks now to meet ``requirement`` for this input; None if nothing."""
        have = self.proof_types_for(public_input)
        payload = f"for payload 0x{bytes(public_input.new_payload_request_root).hex()}"
        if len(have) < requirement.threshold:
            return (
                f"{len(have)} of the {requirement.threshold} proofs of distinct types needed"
                f" ({', '.join(have) or 'none yet'}) {payload}"
            )
        if requirement.reexecution and not any(name.startswith(REEXECUTION) for name in have):
            return (
                f"{len(have)} proofs ({', '.join(have)}) but none a re-execution proof,"
                f" which this node requires {payload}"
            )
        return None

    def meets(self, public_input: PublicInput, requirement: ProofRequirement) -> bool:
        return self.shortfall(public_input, requirement) is None

    def why_waiting(self, missing: ProofsMissing) -> str:
        """Why a transaction that met ``missing`` waits, as of now (proofs arrive meanwhile)."""
        if missing.public_input is None:
            return str(missing)
        return self.shortfall(missing.public_input, missing.requirement) or (
            "the proofs are in; it goes into the next block"
        )

    def proven(self, missing: ProofsMissing) -> bool:
        """Whether the proofs a transaction that met ``missing`` waits for are in now."""
        return missing.public_input is not None and self.meets(
            missing.public_input, missing.requirement
        )

    def requests(self) -> List[Payload]:
        """Seen inputs, newest last: what provers are asked to prove."""
        with self.lock:
            return [payload for payload in self.payloads.values() if payload.data is not None]

    def proofs(self, public_input: PublicInput) -> List[SignedExecutionProof]:
        with self.lock:
            payload = self.payloads.get(payload_key(public_input))
            return [payload.proofs[t] for t in sorted(payload.proofs)] if payload else []

    # -- gossip --

    def submit_bytes(self, data: bytes, epoch: Optional[int] = None) -> GossipResult:
        """A gossiped message as SSZ bytes; undecodable or oversized bytes are REJECTed."""
        try:
            signed = SignedExecutionProof.decode_bytes(bytes(data))
        except Exception as error:  # the SSZ library raises many kinds of error
            oversized = oversized_proof_data(bytes(data))
            if oversized is not None:
                return GossipResult(REJECT, _too_large(oversized))
            return GossipResult(REJECT, f"not a SignedExecutionProof: {error}")
        return self.submit(signed, bytes(data), epoch)

    def submit(
        self, signed: SignedExecutionProof, data: Optional[bytes] = None,
        epoch: Optional[int] = None,
    ) -> GossipResult:
        """
        EIP-8025 ``execution_proof`` validation, rule by rule in the spec's
        order; a proof for a payload not seen yet is held (as ``data``, its
        bytes) once its signer and signature check out. ``epoch``: the pool's
        when the proof was taken up (held proofs judged later), else now; a
        restore since (``evm_revert``) voids the submission.
        """
        proof = signed.message
        key = payload_key(proof.public_input)
        proof_type, validator = int(proof.proof_type), int(signed.validator_index)
        with self.lock:
            epoch = self.epoch if epoch is None else epoch
            if self.epoch != epoch:
                return RESTORED_MEANWHILE
            payload = self.payloads.get(key)
            unseen = payload is None or payload.data is None
        if unseen:
            forged = self._signer_fault(signed)
            if forged is not None:
                return forged
            return self._hold(HeldProof(key, validator, data or signed.encode_bytes()), epoch)
        with self.lock:
            if self.epoch != epoch:
                return RESTORED_MEANWHILE
            if proof_type in payload.proofs:
                return GossipResult(IGNORE, "a valid proof of this type is already held")
            if (key, proof_type, validator) in self.first_seen:
                return GossipResult(IGNORE, "not the first proof of this type from this prover")
        forged = self._signer_fault(signed)
        if forged is not None:
            return forged
        with self.lock:
            if self.epoch != epoch:
                return RESTORED_MEANWHILE
            # Counted only once the signature holds, so forged messages cannot use up a slot.
            self.first_seen.add((key, proof_type, validator))
        if len(proof.proof_data) == 0:
            return GossipResult(REJECT, "proof_data is empty")
        if len(proof.proof_data) > MAX_PROOF_SIZE:
            return GossipResult(REJECT, _too_large(len(proof.proof_data)))
        valid, why = verify_execution_proof(proof, self.provers, self.accepted_types)
        if not valid:
            return GossipResult(REJECT, why)
        with self.lock:
            if self.epoch != epoch:  # its slot and this proof went with the pool it came to
                return RESTORED_MEANWHILE
            # Verification ran unlocked; another proof of this type may have won meanwhile.
            if proof_type in payload.proofs:
                return GossipResult(IGNORE, "a valid proof of this type is already held")
            if len(payload.proofs) >= MAX_EXECUTION_PROOFS_PER_PAYLOAD:
                return GossipResult(IGNORE, "MAX_EXECUTION_PROOFS_PER_PAYLOAD proofs already held")
            payload.proofs[proof_type] = signed
        for listener in list(self.proof_listeners):
            listener(signed)
        return GossipResult(ACCEPT, public_input=proof.public_input)

    def _signer_fault(self, signed: SignedExecutionProof) -> Optional[GossipResult]:
        """REJECT if the signer is no active prover or the signature does not hold; else None."""
        validator = int(signed.validator_index)
        public_key = self.provers.active_key(validator)
        if public_key is None:
            return GossipResult(REJECT, f"prover {validator} is not an active registered prover")
        root = proof_signing_root(signed.message, self.provers)
        if not verify(public_key, root, bytes(signed.signature)):
            return GossipResult(REJECT, "signature does not verify with the prover's key")
        return None

    def judge_held(self) -> int:
        """
        Run the gossip rules on held proofs whose payload is now seen, one at a
        time; how many were accepted. Each stays in ``ready`` until judged, so
        a snapshot taken meanwhile holds it; after a restore the restored pool's
        own ready proofs wait for its next call or block.
        """
        accepted = 0
        while True:
            with self.lock:
                if not self.ready:
                    return accepted
                data, epoch = self.ready[0], self.epoch
            verdict = self.submit_bytes(data, epoch)
            with self.lock:
                if self.epoch != epoch:
                    return accepted
                if self.ready and self.ready[0] is data:
                    self.ready.pop(0)
            accepted += verdict.verdict == ACCEPT

    def _hold(self, held: HeldProof, epoch: int) -> GossipResult:
        """Keep ``held``; past a bound (in all, or for its prover) the oldest go first."""
        with self.lock:
            if self.epoch != epoch:
                return RESTORED_MEANWHILE
            self.queued.append(held)
            self.queued = within_bounds(self.queued)
        if held not in self.queued:
            return GossipResult(IGNORE, "payload not seen yet; this prover holds too many already")
        return GossipResult(IGNORE, "payload not seen yet; held until it is", queued=True)


# A submission a restore overtook: the restored pool never had it.
RESTORED_MEANWHILE = GossipResult(
    IGNORE, "the node went back to a snapshot while judging it (evm_revert); send it again",
    resend=True,
)


def within_bounds(queued: List[HeldProof]) -> List[HeldProof]:
    """
    ``queued`` without its oldest entries past MAX_HELD_BYTES in all,
    MAX_HELD_BYTES_PER_PROVER for any one prover, or MAX_QUEUED_PROOFS in number.
    """
    kept: List[HeldProof] = []
    total, by_prover = 0, {}
    for held in reversed(queued):  # newest first: the oldest are the ones let go
        size = len(held.data)
        mine = by_prover.get(held.validator, 0)
        if (
            len(kept) < MAX_QUEUED_PROOFS
            and total + size <= MAX_HELD_BYTES
            and mine + size <= MAX_HELD_BYTES_PER_PROVER
        ):
            kept.append(held)
            total, by_prover[held.validator] = total + size, mine + size
    return kept[::-1]


def _too_large(size: int) -> str:
    return f"proof_data is {size} bytes, larger than MAX_PROOF_SIZE {MAX_PROOF_SIZE}"


# SignedExecutionProof's fixed part: message offset (4) + validator_index (8) + signature (96).
# ExecutionProof's fixed part: proof_data offset (4) + proof_type (1) + public_input (64).
_SIGNED_FIXED, _MESSAGE_FIXED = 4 + 8 + 96, 4 + 1 + 64


def oversized_proof_data(data: bytes) -> Optional[int]:
    """
    The length of ``proof_data`` in a message the strict decoder refused, if
    the message is otherwise well laid out and that length is over
    ``MAX_PROOF_SIZE``: so an oversized proof is named as such.
    """
    if len(data) < _SIGNED_FIXED + _MESSAGE_FIXED:
        return None
    message_offset = int.from_bytes(data[:4], "little")
    if message_offset != _SIGNED_FIXED:
        return None
    message = data[message_offset:]
    if int.from_bytes(message[:4], "little") != _MESSAGE_FIXED:
        return None
    size = len(message) - _MESSAGE_FIXED
    return size if size > MAX_PROOF_SIZE else None
