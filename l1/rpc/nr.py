"""
The ``nr_`` namespace: this node's ``execution_proof`` topic and the proof
pool EXECUTE consults in proofs mode.
"""

from typing import Any, Dict, List

from ..formatting import format_proof_request, format_signed_proof, quantity
from .params import BYTES32, DATA, Param, method


class NrNamespace:
    def __init__(self, devnet) -> None:
        self.devnet = devnet

    @method(Param("signedProof", DATA))
    def nr_submitExecutionProof(self, signed_proof: bytes) -> Dict[str, Any]:
        """
        Publish a SSZ ``SignedExecutionProof`` on this node's ``execution_proof``
        topic: the gossip verdict (accept, ignore, reject) and why; ``resend``
        when a revert overtook its judging, so that sending it again is judged.
        """
        result = self.devnet.submit_proof(signed_proof)
        return {
            "verdict": result.verdict, "reason": result.reason, "queued": result.queued,
            "resend": result.resend,
        }

    @method()
    def nr_getProofRequests(self) -> List[Dict[str, Any]]:
        """The EXECUTE inputs this node has seen, with the proof types it already holds."""
        return [format_proof_request(payload) for payload in self.devnet.proof_pool.requests()]

    @method(Param("newPayloadRequestRoot", BYTES32))
    def nr_getExecutionProofs(self, root: bytes) -> List[Dict[str, Any]]:
        """The valid proofs held for a payload, one per proof type."""
        pool = self.devnet.proof_pool
        return [
            format_signed_proof(signed)
            for payload in pool.requests()
            if bytes(payload.public_input.new_payload_request_root) == root
            for signed in pool.proofs(payload.public_input)
        ]

    @method()
    def nr_proverRegistry(self) -> Dict[str, Any]:
        """Who may publish proofs, what they sign under, and what EXECUTE asks of them."""
        devnet = self.devnet
        execute = devnet.config.execute
        return {
            "l1ChainId": quantity(devnet.chain_id),
            "domain": "0x" + bytes(devnet.provers.domain).hex(),
            "provers": [
                {"index": index, "pubkey": "0x" + bytes(p.pubkey).hex(), "active": bool(p.active)}
                for index, p in enumerate(devnet.provers.registry)
            ],
            "proofTypes": list(devnet.proof_pool.accepted_types),
            "executeMode": execute.mode,
            "threshold": execute.proof_threshold,
        }

    @method()
    def nr_proofPoolDigest(self) -> str:
        """
        A hash of what the proof pool's verdicts depend on (payloads seen,
        proofs held and queued): a test harness compares it before and after
        a step to tell whether the step changed the pool.
        """
        return "0x" + self.devnet.proof_pool.digest().hex()

    @method()
    def nr_awaitingProofs(self) -> List[Dict[str, str]]:
        """
        Pending transactions whose EXECUTE calls wait for proofs: what they
        lack, and whether the proofs are in (then it goes into the next block).
        """
        proven = self.devnet.proven_awaiting
        return [
            {"hash": "0x" + tx_hash.hex(), "reason": reason, "proven": tx_hash in proven}
            for tx_hash, reason in self.devnet.awaiting_proofs.items()
        ]
