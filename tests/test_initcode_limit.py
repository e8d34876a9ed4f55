"""
EIP-3860: a creation transaction whose initcode is over MAX_INITCODE_SIZE is
an invalid transaction, so a block holding one is invalid, in Cancun and
Prague; py-evm raised OutOfGas from inside execution instead (an internal
error to the guest). A creation at the limit goes through.
"""

import pytest
from eth.vm.forks.shanghai.constants import MAX_INITCODE_SIZE
from eth_utils import ValidationError

from l1.builder import build_block
from precompile.forks import Cancun, InitcodeLimit, Prague
from precompile.genesis import GenesisAccount, new_chain

from chains import KEY_0

SENDER = KEY_0.public_key.to_canonical_address()


def creation(chain, size: int):
    builder = chain.get_vm().get_transaction_builder()
    unsigned = builder.new_unsigned_dynamic_fee_transaction(
        chain_id=1, nonce=0, max_priority_fee_per_gas=0, max_fee_per_gas=10**10,
        gas=15_000_000, to=b"", value=0, data=b"\x00" * size, access_list=(),
    )
    return unsigned.as_signed_transaction(KEY_0)


def test_initcode_over_the_limit_makes_the_transaction_invalid():
    chain = new_chain(Prague, 1, {SENDER: GenesisAccount(balance=10**18)})
    with pytest.raises(ValidationError, match="EIP-3860: initcode of 49153 bytes"):
        build_block(chain, [creation(chain, MAX_INITCODE_SIZE + 1)])
    block = build_block(chain, [creation(chain, MAX_INITCODE_SIZE)])
    assert len(block.transactions) == 1
    # Cancun's rules carry the same check.
    assert issubclass(Cancun.get_state_class(), InitcodeLimit)
