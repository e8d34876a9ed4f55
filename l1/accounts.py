"""
The devnet's prefunded accounts: derived from a BIP-39 mnemonic along the
standard Ethereum path, as anvil and hardhat derive them, so the default
mnemonic yields the addresses and keys every tool already knows.
"""

from dataclasses import dataclass
from typing import List

from eth_account import Account
from eth_account.messages import encode_defunct

DEFAULT_MNEMONIC = "test test test test test test test test test test test junk"
DEFAULT_ACCOUNTS = 10
DEFAULT_BALANCE_ETHER = 10_000
WEI_PER_ETHER = 10**18
DERIVATION_PATH = "m/44'/60'/0'/0/{index}"

Account.enable_unaudited_hdwallet_features()


@dataclass(frozen=True)
class DevAccount:
    address: bytes
    private_key: bytes

    @property
    def checksum_address(self) -> str:
        return Account.from_key(self.private_key).address

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
    accounts = []
    for index in range(count):
        path = DERIVATION_PATH.format(index=index)
        try:
            local = Account.from_mnemonic(mnemonic, account_path=path)
        except Exception as error:  # eth-account raises several kinds for bad words
            raise InvalidMnemonic(f"invalid mnemonic: {error}") from error
        accounts.append(DevAccount(bytes.fromhex(local.address[2:]), bytes(local.key)))
    return accounts
