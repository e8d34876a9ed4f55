"""
anvil_impersonateAccount: addresses that may send transactions without their
key (every address under anvil_autoImpersonateAccount), and signing for them.
"""

from typing import Set

from eth.abc import SignedTransactionAPI, UnsignedTransactionAPI
from eth_hash.auto import keccak
from eth_keys import keys

from ..interface import InvalidArgument
from .backend import ChainBackend, set_sender

# Signs transactions sent from impersonated addresses; its own address never sends.
IMPERSONATION_KEY = keys.PrivateKey(keccak(b"native-rollups devnet impersonation"))


class Impersonation:
    def __init__(self, backend: ChainBackend) -> None:
        self.backend = backend
        self.addresses: Set[bytes] = set()
        # anvil_autoImpersonateAccount: every address is impersonated.
        self.auto = False

    def start(self, address: bytes) -> None:
        self.addresses.add(address)

    def stop(self, address: bytes) -> None:
        self.addresses.discard(address)

    def clear(self) -> None:
        self.addresses, self.auto = set(), False

    def sign(self, unsigned: UnsignedTransactionAPI, sender: bytes) -> SignedTransactionAPI:
        """
        A transaction from an impersonated address: signed by a throwaway key
        (so it encodes like any other) and told its sender, which the chain
        records, as anvil does. Such blocks do not replay on another node;
        that is what impersonation is.
        """
        if sender not in self.addresses and not self.auto:
            # A bad parameter rather than a bad transaction, as anvil answers.
            raise InvalidArgument(
                f"no key for sender 0x{sender.hex()} and it is not impersonated"
            )
        signed = unsigned.as_signed_transaction(IMPERSONATION_KEY)
        set_sender(signed, sender)
        self.backend.senders[signed.hash] = sender
        return signed
