"""What a devnet is configured with: chain id, accounts, gas, mining, EXECUTE and the provers."""

from dataclasses import dataclass, field
from typing import Mapping, Optional, Tuple

from precompile.execute import ExecuteParameters
from precompile.genesis import DEFAULT_BASE_FEE_PER_GAS, GenesisAccount
from prover.constants import DEFAULT_PROOF_TYPES
from prover.registry import DEFAULT_PROVERS

from ..accounts import DEFAULT_ACCOUNTS, DEFAULT_BALANCE_ETHER, DEFAULT_MNEMONIC
from ..interface import InvalidArgument
from .slots import DEFAULT_SLOT_TIME

DEFAULT_CHAIN_ID = 31337
# EIP-2294: the largest chain id whose EIP-155 signature value fits in 64 bits.
MAX_CHAIN_ID = 2**63 - 37
DEFAULT_GAS_LIMIT = 30_000_000
# Seconds an eth_call or a gas estimate may run (geth's --rpc.evmtimeout).
DEFAULT_CALL_TIMEOUT = 5.0


@dataclass(frozen=True)
class DevnetConfig:
    chain_id: int = DEFAULT_CHAIN_ID
    accounts: int = DEFAULT_ACCOUNTS
    balance_ether: int = DEFAULT_BALANCE_ETHER
    mnemonic: str = DEFAULT_MNEMONIC
    gas_limit: int = DEFAULT_GAS_LIMIT
    base_fee_per_gas: int = DEFAULT_BASE_FEE_PER_GAS
    # Most gas an eth_call or a gas estimate may use (geth's --rpc.gascap);
    # None: the block gas limit, 0: no cap.
    rpc_gas_cap: Optional[int] = None
    # Seconds an eth_call or a gas estimate may run; 0: no limit.
    call_timeout: float = DEFAULT_CALL_TIMEOUT
    # Seconds between blocks; None mines a block for every transaction (automine).
    block_time: Optional[float] = None
    # Seconds per L1 slot (the slot clock counts from the genesis block's timestamp).
    slot_time: int = DEFAULT_SLOT_TIME
    # One block per slot, at the slot's start (the server's timer, or mine_slot by hand).
    slot_mode: bool = False
    # The genesis block's timestamp (None: now); a node rebuilding a chain names its genesis.
    genesis_timestamp: Optional[int] = None
    execute: ExecuteParameters = field(default_factory=ExecuteParameters)
    # The chain's rules; None is the NativeRollups fork with ``execute``. An
    # L2 node runs plain Prague, as its blocks must pass EXECUTE's guest.
    vm_class: Optional[type] = None
    # Genesis accounts besides the funded test accounts (an L2's predeploys).
    predeploys: Mapping[bytes, GenesisAccount] = field(default_factory=dict)
    # anvil's methods that edit state or history outside of transactions. A
    # rollup's L2 node turns them off: its blocks must stay provable on L1.
    state_edits: bool = True
    # Accept transactions signed without a chain id (pre-EIP-155), as anvil
    # does. A rollup's L2 refuses them: the same keys sign on L1 and every L2,
    # so such a transaction could be replayed on each.
    unprotected_transactions: bool = True
    # The prover registry (demo keys 0..provers-1, all active) and the proof
    # types this node's pool accepts; proofs mode counts them (config.execute).
    provers: int = DEFAULT_PROVERS
    # The provers' BLS keys: fresh for each devnet unless asked for the
    # well-known demo keys, which anyone can derive (and so forge proofs with).
    deterministic_provers: bool = False
    inactive_provers: Tuple[int, ...] = ()
    proof_types: Tuple[str, ...] = DEFAULT_PROOF_TYPES
    # Run on the speed-ups' fork classes (``l1.accel``); None: when they are
    # switched on in this process (``nr devnet`` does; a plain import does not).
    accelerated: Optional[bool] = None

    @property
    def call_gas_cap(self) -> Optional[int]:
        """The most gas a call may use (None: any)."""
        if self.rpc_gas_cap is None:
            return self.gas_limit
        return self.rpc_gas_cap or None


def check_chain_id(chain_id: int) -> None:
    """A chain id transactions can be signed for (EIP-155, bounded by EIP-2294)."""
    if not 1 <= chain_id <= MAX_CHAIN_ID:
        raise InvalidArgument(f"a chain id must be from 1 to {MAX_CHAIN_ID}, got {chain_id}")
