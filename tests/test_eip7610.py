"""
EIP-7610: creating a contract where an account already has storage is a
collision (as code or a nonce there is); a balance alone is not. py-evm lacks
the rule; the fork adds it, for both creation paths, in Cancun and Prague,
with and without the speed-ups, and every engine judges such blocks alike.
"""

import pytest
import rlp
from eth.vm.forks import PragueVM
from eth_hash.auto import keccak

from l1 import accel
from l1.builder import build_block
from precompile.constants import FORK_PRAGUE
from precompile.forks import Cancun, Prague
from precompile.genesis import GenesisAccount, new_chain
from precompile.guest import verify_stateless_new_payload
from precompile.ssz import ChainConfig
from precompile.witness import prove_block

from chains import KEY_0, Sender

CHAIN_ID = 1
SENDER = KEY_0.public_key.to_canonical_address()
FACTORY = b"\xfa" * 20
# CREATE(0, 0, 0), then store what it returned (the address, or 0 on failure) in slot 0.
CREATE_AND_RECORD = bytes.fromhex("5f5f5ff05f5500")
# CREATE2(0, 0, 0, salt 0), then the same.
CREATE2_AND_RECORD = bytes.fromhex("5f5f5f5ff55f5500")
# Init code deploying one byte of runtime (STOP).
DEPLOY_STOP = bytes.fromhex("600160005360016000f3")


def created_address(creator: bytes, nonce: int) -> bytes:
    return keccak(rlp.encode([creator, nonce]))[12:]


def create2_address(creator: bytes, salt: int, init_code: bytes) -> bytes:
    return keccak(b"\xff" + creator + salt.to_bytes(32, "big") + keccak(init_code))[12:]


# What the factory runs, and where that puts the contract it creates.
CREATE_AT = created_address(FACTORY, 1)
CREATE2_AT = create2_address(FACTORY, 0, b"")
CREATIONS = [(CREATE_AND_RECORD, CREATE_AT), (CREATE2_AND_RECORD, CREATE2_AT)]


def chain_where(
    address: bytes, account: GenesisAccount, vm_class=Prague, factory=CREATE_AND_RECORD
):
    accounts = {
        SENDER: GenesisAccount(balance=10**18),
        FACTORY: GenesisAccount(code=factory, nonce=1),
        address: account,
    }
    return new_chain(vm_class, CHAIN_ID, accounts)


def transaction(chain, to: bytes, data: bytes = b""):
    return Sender(chain, KEY_0, CHAIN_ID).transaction(to, data, gas=200_000)


def factory_creates_at(
    vm_class, target_account: GenesisAccount, factory=CREATE_AND_RECORD, target=CREATE_AT
) -> bytes:
    """What the factory's CREATE or CREATE2 returned, onto ``target`` holding ``target_account``."""
    chain = chain_where(target, target_account, vm_class, factory)
    build_block(chain, [transaction(chain, FACTORY)])
    return chain.get_vm().state.get_storage(FACTORY, 0).to_bytes(20, "big")


@pytest.mark.parametrize("factory, target", CREATIONS, ids=["CREATE", "CREATE2"])
def test_create_onto_an_address_with_storage_collides(factory, target):
    assert factory_creates_at(Prague, GenesisAccount(storage={1: 1}), factory, target) == bytes(20)
    # A balance alone is no collision; an empty account neither.
    assert factory_creates_at(Prague, GenesisAccount(balance=5), factory, target) == target
    assert factory_creates_at(Prague, GenesisAccount(), factory, target) == target
    # Cancun's rules carry the same check (EIP-7610 applies to every fork).
    assert Cancun.get_state_class().has_code_or_nonce is Prague.get_state_class().has_code_or_nonce


class WithoutEIP7610(Prague):
    """Our Prague on py-evm's own state class."""

    _state_class = PragueVM._state_class


def test_stock_py_evm_lacks_the_rule():
    """The gap this fork closes is still there in py-evm (else this fix is dead code)."""
    assert factory_creates_at(WithoutEIP7610, GenesisAccount(storage={1: 1})) != bytes(20)


def test_a_creation_transaction_onto_storage_fails_and_keeps_the_storage():
    target = created_address(SENDER, 0)
    chain = chain_where(target, GenesisAccount(storage={7: 9}))
    block = build_block(chain, [transaction(chain, b"", DEPLOY_STOP)])
    state = chain.get_vm().state
    assert state.get_code(target) == b"" and state.get_storage(target, 7) == 9
    assert block.header.gas_used == 200_000  # a collision consumes all the gas
    assert state.get_nonce(SENDER) == 1


@pytest.mark.parametrize("factory, target", CREATIONS, ids=["CREATE", "CREATE2"])
def test_the_speed_ups_keep_the_rule(factory, target):
    accelerated = accel.accelerated_rules()[FORK_PRAGUE] if accel.enabled() else None
    if accelerated is None:
        pytest.skip("the speed-ups are not verified for the installed libraries")
    collided = factory_creates_at(accelerated, GenesisAccount(storage={1: 1}), factory, target)
    assert collided == bytes(20)
    assert factory_creates_at(accelerated, GenesisAccount(balance=5), factory, target) == target


def test_every_engine_judges_a_storage_collision_alike():
    """A creation transaction onto storage: pyevm and EELS agree; revm cannot see it, declines."""
    target = created_address(SENDER, 0)
    genesis = GenesisAccount(storage={7: 9})
    chain = chain_where(target, genesis)
    block = build_block(chain, [transaction(chain, b"", DEPLOY_STOP)])
    stateless_input, execution = prove_block(
        chain_where(target, genesis), block, ChainConfig(chain_id=CHAIN_ID, fork=FORK_PRAGUE)
    )
    assert execution.error is None
    for engine in ("pyevm", "eels"):
        report = verify_stateless_new_payload(stateless_input, engine)
        assert (report.engine, report.declined) == (engine, None)
        assert report.result.successful_validation, (engine, report.error)
    report = verify_stateless_new_payload(stateless_input, "revm")
    assert report.declined_reason.endswith("(EIP-7610)") and report.engine == "pyevm"
    assert report.result.successful_validation


def test_the_l1_devnet_keeps_the_rule():
    """The NativeRollups fork is Prague plus EXECUTE: EIP-7610 included."""
    from l1.node import Devnet

    devnet = Devnet()
    w3 = devnet.web3()
    sender = w3.eth.accounts[5]
    target = created_address(bytes.fromhex(sender[2:]), 0)
    devnet.set_account(target, storage={1: 1})
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_transaction({"from": sender, "data": DEPLOY_STOP, "gas": 100_000})
    )
    assert receipt.status == 0 and receipt.gasUsed == 100_000
    assert w3.eth.get_code(w3.to_checksum_address(target)) == b""
