"""
The ``prover`` fixture: the shared prover's job, with the L1's registered
provers' keys: in-process with the embedded devnet's, or over JSON-RPC with a
node started with ``--deterministic-provers`` (whose provers hold the public
demo keys).
"""

from contextlib import contextmanager
from typing import Any, Iterator, List, Optional, Sequence, Tuple, Union

from l1.interface import TransactionRequest
from precompile.constants import EXECUTE_PRECOMPILE_ADDRESS, PROOFS_MODE
from prover.constants import MAX_EXECUTION_PROOFS_PER_PAYLOAD, PROOF_TYPES, RESENDS
from prover.pool import sign_proof
from prover.proof_types import ProofRefused, proof_system
from prover.registry import ProverSet
from prover.signing import SecretKey, demo_prover_key

from .arguments import InvalidArgument, byte_string, described, hidden_when_refusing

# A helper refusing what a test gave it points at the test's line, not its own.
__tracebackhide__ = hidden_when_refusing(InvalidArgument)

EXECUTE = "0x" + EXECUTE_PRECOMPILE_ADDRESS.hex()


class ProverUnavailable(Exception):
    """The node's provers' keys are not this session's to sign with."""


def signed_proofs(
    encoded_input: bytes, proof_types: Sequence[str], keys: Sequence[SecretKey],
    provers: ProverSet,
) -> Iterator[bytes]:
    """One signed proof per proof type, prover ``i`` signing type ``i``, encoded."""
    for index, name in enumerate(proof_types):
        signer = index % len(keys)
        key = keys[signer]
        proof = proof_system(name, provers, (signer, key)).prove(encoded_input)
        yield sign_proof(proof, signer, key, provers).encode_bytes()


def chosen_types(proof_types: Optional[Sequence[str]], accepted: Sequence[str]) -> List[str]:
    """The proof types to prove: those asked for, or (None) every type the L1 accepts."""
    if proof_types is None:
        return list(accepted)
    if isinstance(proof_types, str) or not proof_types:
        raise InvalidArgument(
            f"prover.prove: proof_types={described(proof_types)}: give a list of one or more"
            f" of {', '.join(accepted)}, or leave it out for every one"
        )
    return list(proof_types)


class ProvesWhatTheL1Met:
    """
    What both provers share: proving every input the L1 has met that lacks
    proofs, and doing so whenever one of the session's rollups waits for them.
    """

    rollups: Sequence[Any] = ()

    def prove(
        self, encoded_input: Union[bytes, str], proof_types: Optional[Sequence[str]] = None
    ) -> List:
        """
        One signed proof per proof type (by default every type the L1 accepts),
        each submitted to the L1's proof pool; the pool's verdicts, in order (it
        ignores proofs past its per-payload bound). The input as bytes or hex.
        In proofs mode the L1 meets the input first (a call to EXECUTE), so the
        proofs are judged as they come, not held until a block meets it.
        """
        encoded_input = byte_string(encoded_input, "prover.prove: encoded_input")
        if self.execute_mode == PROOFS_MODE:
            self.show(encoded_input)
        return self.publish(encoded_input, chosen_types(proof_types, self.accepted_types))

    def prove_what_the_l1_met(self) -> int:
        """
        Proofs of each type the L1 accepts and holds none of yet, for every
        input it has met, type by type (a type whose engine cannot run the
        block, or an input no type proves, such as an invalid block, is left);
        how many proofs were published.
        """
        published = 0
        for encoded_input, held in self.inputs_met():
            if len(held) >= MAX_EXECUTION_PROOFS_PER_PAYLOAD:  # the pool takes no more
                continue
            for name in (name for name in self.accepted_types if name not in held):
                try:
                    published += len(self.publish(encoded_input, [name]))
                except ProofRefused:  # ProofDeclined too: another type may run it
                    continue
        return published

    @contextmanager
    def proving_settlements(self) -> Iterator[None]:
        """
        Within, a rollup's transaction that waits for proofs (a settlement in
        proofs mode) gets them: every input the L1 has met is proven then, as
        nr up's prover does.
        """
        contracts = [rollup.contract for rollup in self.rollups]
        before = [contract.when_awaiting_proofs for contract in contracts]
        for contract in contracts:
            contract.when_awaiting_proofs = self.prove_what_the_l1_met
        try:
            yield
        finally:  # as they were: an enclosing block's prover, or none
            for contract, hook in zip(contracts, before):
                contract.when_awaiting_proofs = hook


class Prover(ProvesWhatTheL1Met):
    """Proves EXECUTE inputs with the L1 devnet's registered provers and gossips the proofs."""

    def __init__(self, devnet, rollups: Sequence[Any] = ()) -> None:
        self.devnet, self.rollups = devnet, list(rollups)
        self.execute_mode = devnet.config.execute.mode

    @property
    def pool(self):
        return self.devnet.proof_pool

    @property
    def accepted_types(self) -> Sequence[str]:
        return self.pool.accepted_types

    def show(self, encoded_input: bytes) -> None:
        self.devnet.call(TransactionRequest(to=EXECUTE_PRECOMPILE_ADDRESS, data=encoded_input))

    def publish(self, encoded_input: bytes, proof_types: Sequence[str]) -> List:
        proofs = signed_proofs(
            encoded_input, proof_types, self.devnet.prover_keys, self.devnet.provers
        )
        return [self.devnet.submit_proof(proof) for proof in proofs]

    def inputs_met(self) -> List[Tuple[bytes, List[str]]]:
        return [
            (payload.data, [PROOF_TYPES[proof_type] for proof_type in payload.proofs])
            for payload in self.pool.requests()
        ]


class RemoteProver(ProvesWhatTheL1Met):
    """
    The same over JSON-RPC, for ``--native-rollups-l1``: the node must list
    its provers (``nr_proverRegistry``) and they must hold the demo keys.
    """

    def __init__(self, web3, rollups: Sequence[Any] = ()) -> None:
        answer = web3.provider.make_request("nr_proverRegistry", [])
        if "result" not in answer:
            raise ProverUnavailable(
                "the node lists no provers (nr_proverRegistry: nr devnet and nr up serve it)"
            )
        registry = answer["result"]
        self.web3, self.provers, self.rollups = web3, ProverSet.of_registry(registry), list(rollups)
        self.accepted_types: List[str] = list(registry["proofTypes"])
        self.execute_mode = registry.get("executeMode")
        self.keys = [demo_prover_key(index) for index in range(len(self.provers.registry))]
        registered = [bytes(entry.pubkey) for entry in self.provers.registry]
        if registered != [key.public_key for key in self.keys]:
            raise ProverUnavailable(
                "its provers' keys are its own; start it with --deterministic-provers (public"
                " demo keys) to prove from the tests"
            )

    @property
    def pool(self):
        raise AttributeError("prover.pool: the proof pool is the node's, behind its RPC")

    def show(self, encoded_input: bytes) -> None:
        self.web3.provider.make_request(
            "eth_call", [{"to": EXECUTE, "data": "0x" + encoded_input.hex()}, "latest"]
        )

    def publish(self, encoded_input: bytes, proof_types: Sequence[str]) -> List:
        """Each proof sent with ``nr_submitExecutionProof``; the answers."""
        proofs = signed_proofs(encoded_input, proof_types, self.keys, self.provers)
        return [self._submit(proof) for proof in proofs]

    def inputs_met(self) -> List[Tuple[bytes, List[str]]]:
        answer = self.web3.provider.make_request("nr_getProofRequests", [])
        return [
            (bytes.fromhex(request["input"][2:]), list(request["proofTypes"]))
            for request in answer.get("result") or []
        ]

    def _submit(self, proof: bytes) -> Any:
        """The node's verdict, sent again while it says a revert overtook its judging."""
        for _ in range(1 + RESENDS):
            answer = self.web3.provider.make_request(
                "nr_submitExecutionProof", ["0x" + proof.hex()]
            )
            if "error" in answer:
                raise ProverUnavailable(f"the node refused a proof: {answer['error']['message']}")
            if not answer["result"].get("resend"):
                break
        return answer["result"]
