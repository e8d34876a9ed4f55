"""Test chain helpers: the standard test keys, a nonce-tracking sender, receipts."""

from eth_keys import keys

from l1.builder import build_block
from l1.peers import free_port, node_command, start_node  # noqa: F401 (tests import free_port here)
from precompile.constants import FORK_PRAGUE
from precompile.engines import engines
from precompile.forks import Prague
from precompile.genesis import GenesisAccount, new_chain
from precompile.guest import engine_arguments
from precompile.ssz import ChainConfig
from precompile.witness import prove_block

# Accounts 0 and 1 of the standard test mnemonic (test test ... junk), as anvil funds them.
KEY_0 = keys.PrivateKey(
    bytes.fromhex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
)
KEY_1 = keys.PrivateKey(
    bytes.fromhex("59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d")
)
GAS_PRICE = 2 * 10**9


class Sender:
    """Signs legacy EIP-155 transactions from one key with consecutive nonces."""

    def __init__(self, chain, key, chain_id):
        self.chain, self.key, self.chain_id, self.nonce = chain, key, chain_id, 0
        self.address = key.public_key.to_canonical_address()

    def transaction(self, to, data=b"", value=0, gas=1_000_000):
        vm = self.chain.get_vm()
        unsigned = vm.create_unsigned_transaction(
            nonce=self.nonce, gas_price=GAS_PRICE, gas=gas, to=to, value=value, data=data
        )
        self.nonce += 1
        return unsigned.as_signed_transaction(self.key, chain_id=self.chain_id)


def engine_outcome(engine, stateless_input):
    """What ``engine`` computes for the block in ``stateless_input``, over its witness."""
    return engines()[engine].execute(*engine_arguments(stateless_input))


def receipts_of(chain, block):
    return block.get_receipts(chain.chaindb)


def succeeded(receipt):
    """EIP-658: a receipt's status byte is 1 for success."""
    return receipt.state_root == b"\x01"


L2_CHAIN_ID = 901
L2_GAS_LIMIT = 2_000_000
BOB = b"\xb0" * 20
# Init code that stores 42 in slot 0 of the new contract and deploys no code.
STORE_42 = bytes.fromhex("602a60005500")


def l2_block_input(transfer: int = 10**18):
    """A valid L2 block (a transfer and a contract creation) and its StatelessInput."""
    l2 = new_chain(
        Prague,
        L2_CHAIN_ID,
        {KEY_1.public_key.to_canonical_address(): GenesisAccount(10**21)},
        gas_limit=L2_GAS_LIMIT,
    )
    sender = Sender(l2, KEY_1, L2_CHAIN_ID)
    block = build_block(
        l2,
        [
            sender.transaction(BOB, value=transfer, gas=21_000),
            sender.transaction(b"", STORE_42, gas=100_000),
        ],
    )
    stateless_input, execution = prove_block(
        l2, block, ChainConfig(chain_id=L2_CHAIN_ID, fork=FORK_PRAGUE)
    )
    assert execution.error is None
    return stateless_input


def nr_devnet_command(port: int, *flags: str) -> list:
    return [*node_command("nr devnet", port), *flags]


def start_devnet_process(port: int, *flags: str, **popen):
    """``nr devnet`` in a subprocess, once it answers: (process, web3)."""
    return start_node("nr devnet", port, *flags, **popen)


def serve_in_thread(devnet):
    """Serve ``devnet`` over HTTP and WebSocket from a daemon thread: (port, web3)."""
    import threading

    from web3 import Web3

    from l1.server import serve_forever

    port = free_port()
    ready = threading.Event()
    threading.Thread(
        target=serve_forever, args=(devnet, "127.0.0.1", port, ready), daemon=True
    ).start()
    assert ready.wait(30), "the devnet server did not start"
    return port, Web3(Web3.HTTPProvider(f"http://127.0.0.1:{port}"))
