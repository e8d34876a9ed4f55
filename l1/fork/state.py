"""NativeRollups state: Prague's, plus the block's EXECUTE gas budget and proof source."""

from typing import List, Optional

from precompile.execute import ExecuteParameters, ExecuteRefused, ProofsMissing, ProofSource
from precompile.forks import FORK_RULES, ForkRules, PragueState

from .computation import NativeRollupsComputation


class NativeRollupsState(PragueState):
    computation_class = NativeRollupsComputation
    execute_parameters = ExecuteParameters()
    # A node's proof source (``prover.pool.ProofPool``): the proofs that proofs
    # mode counts, and the EXECUTE inputs met, which provers following the node ask for.
    proof_source: Optional[ProofSource] = None
    # The fork rules EXECUTE's guest runs L2 blocks with.
    guest_rules: ForkRules = FORK_RULES

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # A state lives for one block, so this sums the block's EXECUTE calls.
        # It is not journaled: a reverted call still cost its verification.
        self.execute_gas_in_block = 0
        # Why EXECUTE calls failed for want of proofs (not journaled either).
        self.awaiting_proofs: List[ProofsMissing] = []

    def reserve_execute_gas(self, l2_gas_limit: int) -> None:
        """Count an EXECUTE call's L2 gas limit against the block's cap."""
        cap = self.execute_parameters.cumulative_gas_limit
        if self.execute_gas_in_block + l2_gas_limit > cap:
            raise ExecuteRefused(
                f"block's EXECUTE gas would reach {self.execute_gas_in_block + l2_gas_limit}, "
                f"over EXECUTE_CUMULATIVE_GAS_LIMIT {cap}"
            )
        self.execute_gas_in_block += l2_gas_limit

    def note_awaiting_proofs(self, missing: ProofsMissing) -> None:
        self.awaiting_proofs.append(missing)
