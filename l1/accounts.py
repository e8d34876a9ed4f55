"""
The devnet's prefunded accounts: derived from a BIP-39 mnemonic along the
standard Ethereum path, as anvil and hardhat derive them, so the default
mnemonic yields the addresses and keys every tool already knows.
"""

from dataclasses import dataclass
from typing import List

from eth_account import Account
from eth_account.hdaccount import key_from_seed, seed_from_mnemonic
from eth_account.messages import encode_defunct
from eth_utils import to_checksum_address

DEFAULT_MNEMONIC = "test test test test test test test test test test test junk"
DEFAULT_ACCOUNTS = 10
DEFAULT_BALANCE_ETHER = 10_000
WEI_PER_ETHER = 10**18
DERIVATION_PATH = "m/44'/60'/0'/0/{index}"


@dataclass(frozen=True)
class DevAccount:
    address: bytes
    private_key: bytes

    @property
    def checksum_address(self) -> str:
        return to_checksum_address(self.address)

    def __repr__(self) -> str:
        # The address as users write it, never the key: a failing test's traceback and
        # hypothesis's failing example show the accounts they used.
        return f"DevAccount({self.checksum_address})"

    def _repr_pretty_(self, printer, cycle) -> None:
        """What hypothesis (and IPython) print for it: the same as repr."""
        printer.text(repr(self))

    def sign_message(self, message: bytes) -> bytes:
        """
        EIP-191 version 0x45 (``eth_sign``, ``personal_sign``): the 65-byte
        signature r || s || v, v 27 or 28, of the prefixed message's hash.
        """
        return bytes(Account.sign_message(encode_defunct(message), self.private_key).signature)


class InvalidMnemonic(ValueError):
    """Words that are not a BIP-39 mnemonic."""


def derive_accounts(
    mnemonic: str = DEFAULT_MNEMONIC, count: int = DEFAULT_ACCOUNTS
) -> List[DevAccount]:
    """The first ``count`` accounts of ``mnemonic``."""
    try:
        # eth-account's own functions: Account.from_mnemonic would need its global
        # "unaudited HD wallet" switch turned on for every user of the library.
        seed = seed_from_mnemonic(mnemonic, passphrase="")
    except Exception as error:  # eth-account raises several kinds for bad words
        raise InvalidMnemonic(f"invalid mnemonic: {error}") from error
    accounts = []
    for index in range(count):
        key = key_from_seed(seed, DERIVATION_PATH.format(index=index))
        address = Account.from_key(key).address
        accounts.append(DevAccount(bytes.fromhex(address[2:]), bytes(key)))
    return accounts
