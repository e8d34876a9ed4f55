"""
A client's transaction request made a transaction: a call as an unsigned
stand-in from its sender, or a send filled in (nonce after the sender's
pending ones, default fees, estimated gas) and signed by the sender's key or
as an impersonated sender.
"""

from typing import List, Optional

from eth.abc import SignedTransactionAPI
from eth.vm.spoof import SpoofTransaction
from eth_keys import keys

from ..accounts import DevAccount
from ..interface import TransactionRejected, TransactionRequest
from .backend import ChainBackend
from .impersonation import Impersonation
from .pool import TransactionPool

# The tip a transaction pays when its request names none (anvil's default).
DEFAULT_PRIORITY_FEE = 10**9


def default_max_fee(base_fee: int, priority_fee: Optional[int] = None) -> int:
    """
    The fee cap a transaction gets when its request names none: room for two
    base fees and its tip (the default tip if it names none), as web3.py and
    anvil fill it in.
    """
    return 2 * base_fee + (DEFAULT_PRIORITY_FEE if priority_fee is None else priority_fee)


class RequestFiller:
    def __init__(
        self,
        backend: ChainBackend,
        pool: TransactionPool,
        accounts: List[DevAccount],
        impersonation: Impersonation,
    ) -> None:
        self.backend, self.pool, self.impersonation = backend, pool, impersonation
        # The prefunded accounts' keys, made once (deriving a public key costs a signature).
        self.keys = {account.address: keys.PrivateKey(account.private_key) for account in accounts}

    def call(self, request: TransactionRequest, state=None) -> SpoofTransaction:
        """
        The request as a transaction from its sender (the zero address if it
        names none) at the sender's nonce in ``state`` (the head's by
        default), for a call.
        """
        self.refuse_another_chain(request)
        sender = request.sender or bytes(20)
        state = state if state is not None else self.backend.state_at(None)
        fields = dict(
            nonce=state.get_nonce(sender),
            gas_price=request.gas_price or 0,
            gas=self.call_gas(request.gas),
            to=request.to or b"",
            value=request.value,
            data=request.data,
        )
        builder = self.backend.vm_class.get_transaction_builder()
        if request.access_list:  # warmed and paid for as a transaction listing it would be
            unsigned = builder.new_unsigned_access_list_transaction(
                chain_id=self.backend.chain_id, access_list=request.access_list, **fields
            )
        else:
            unsigned = builder.create_unsigned_transaction(**fields)
        return SpoofTransaction(unsigned, from_=sender)

    def refuse_another_chain(self, request: TransactionRequest) -> None:
        """TransactionRejected if the request names a chain id that is not this chain's."""
        if request.chain_id is not None and request.chain_id != self.backend.chain_id:
            raise TransactionRejected(
                f"chainId {request.chain_id} is not this chain's ({self.backend.chain_id}):"
                " the request is meant for another chain"
            )

    def call_gas(self, asked: Optional[int]) -> int:
        """The gas a call runs with: what it asks, within the RPC gas cap (as geth lowers it)."""
        config = self.backend.config
        cap = config.call_gas_cap
        if asked is None:
            return cap or config.gas_limit
        return asked if cap is None else min(asked, cap)

    def sign(self, request: TransactionRequest) -> SignedTransactionAPI:
        """
        An EIP-1559 transaction from the request's sender, with what the
        request leaves out filled in, signed by the sender's key (a
        prefunded account) or as an impersonated sender.
        """
        self.refuse_another_chain(request)
        sender = request.sender
        if sender is None:
            raise TransactionRejected("a transaction to send needs a sender")
        nonce = self.pool.next_nonce(sender) if request.nonce is None else request.nonce
        gas = self.backend.estimate_gas(self.call(request)) if request.gas is None else request.gas
        max_fee = next(
            (fee for fee in (request.max_fee_per_gas, request.gas_price) if fee is not None),
            default_max_fee(self.backend.next_base_fee(), request.max_priority_fee_per_gas),
        )
        priority = request.max_priority_fee_per_gas
        if priority is None:
            priority = min(DEFAULT_PRIORITY_FEE, max_fee)
        builder = self.backend.vm_class.get_transaction_builder()
        unsigned = builder.new_unsigned_dynamic_fee_transaction(
            chain_id=self.backend.chain_id,
            nonce=nonce,
            max_priority_fee_per_gas=priority,
            max_fee_per_gas=max_fee,
            gas=gas,
            to=request.to or b"",
            value=request.value,
            data=request.data,
            access_list=request.access_list or (),
        )
        key = self.keys.get(sender)
        if key is None:
            return self.impersonation.sign(unsigned, sender)
        return unsigned.as_signed_transaction(key)
