"""
The L1 fork ``NativeRollups``: Prague plus the EXECUTE precompile.

Composed the py-evm way, VM -> State -> Computation, each a small subclass of
the Prague class (with this project's Prague fixes), so the fork is its diff.
"""

from typing import Optional, Type

from eth.abc import BlockHeaderAPI, SignedTransactionAPI

from precompile.execute import ExecuteParameters, ProofsMissing, ProofSource
from precompile.forks import FORK_RULES, ForkRules, Prague

from .computation import NativeRollupsComputation
from .state import NativeRollupsState


class AwaitingProofs(Exception):
    """
    A transaction's EXECUTE call found too few proofs in proofs mode. The
    block cannot hold it yet: a builder leaves it pending and retries when
    proofs arrive; an importing node cannot validate the block until then.
    """

    def __init__(self, transaction: SignedTransactionAPI, missing: ProofsMissing) -> None:
        super().__init__(f"transaction 0x{transaction.hash.hex()} awaits proofs: {missing}")
        self.transaction, self.missing = transaction, missing


class NativeRollupsVM(Prague):
    fork = "native-rollups"
    _state_class = NativeRollupsState

    @classmethod
    def with_parameters(
        cls,
        parameters: ExecuteParameters,
        proof_source: Optional[ProofSource] = None,
        guest_rules: ForkRules = FORK_RULES,
    ) -> Type["NativeRollupsVM"]:
        """
        This fork with a chain's own EXECUTE constants, a node's proof source,
        and the fork rules EXECUTE's guest runs.
        """
        namespace = {
            "execute_parameters": parameters,
            "proof_source": proof_source,
            "guest_rules": guest_rules,
        }
        state_class = type("NativeRollupsState", (NativeRollupsState,), namespace)
        return type("NativeRollupsVM", (cls,), {"_state_class": state_class})

    def apply_transaction(self, header: BlockHeaderAPI, transaction: SignedTransactionAPI):
        """A transaction of a block (calls and estimates do not come through here)."""
        awaiting_before = len(self.state.awaiting_proofs)
        receipt, computation = super().apply_transaction(header, transaction)
        if len(self.state.awaiting_proofs) > awaiting_before:
            raise AwaitingProofs(transaction, self.state.awaiting_proofs[-1])
        return receipt, computation


__all__ = [
    "AwaitingProofs",
    "NativeRollupsComputation",
    "NativeRollupsState",
    "NativeRollupsVM",
]
