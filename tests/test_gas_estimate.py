"""
eth_estimateGas: the least gas a request succeeds with, exactly (as anvil
answers), never below what a transaction may be sent with (EIP-7623's
calldata floor), and a failing request answered with its revert.

The reference is py-evm's own exhaustive search (every gas from the
intrinsic up, halving), which the devnet's few-run estimate must match.
"""

import pytest
from eth.estimators.gas import binary_gas_search_exact
from eth.vm.spoof import SpoofTransaction

from l1.interface import ExecutionFailed, TransactionRequest
from l1.node import Devnet
from l1.node.gas import minimum_gas
from nr.testing.artifacts import vyper_abi_and_bytecode

# A caller keeps 1/64 of its gas back from each call (EIP-150), so the gas
# the whole call consumes is not enough to make it: the search's own branch.
SOURCE = """
interface Self:
    def burn(rounds: uint256) -> uint256: nonpayable

total: public(uint256)
notes: HashMap[uint256, uint256]

@external
def burn(rounds: uint256) -> uint256:
    for i: uint256 in range(rounds, bound=200):
        self.notes[i] = i + 1
    return rounds

@external
def forward(rounds: uint256) -> uint256:
    return extcall Self(self).burn(rounds)

@external
def refund(rounds: uint256):
    for i: uint256 in range(rounds, bound=200):
        self.notes[i] = 0

@external
def check(x: uint256) -> uint256:
    assert x < 5, "too big"
    return x

@external
def take(blob: Bytes[4096]) -> uint256:
    return len(blob)
"""


@pytest.fixture(scope="module")
def node():
    with Devnet() as devnet:
        yield devnet


@pytest.fixture(scope="module")
def contract(node):
    w3 = node.web3()
    abi, bytecode = vyper_abi_and_bytecode(SOURCE, "Estimated")
    sender = w3.eth.accounts[0]
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.contract(abi=abi, bytecode=bytecode).constructor().transact({"from": sender})
    )
    deployed = w3.eth.contract(address=receipt.contractAddress, abi=abi)
    # Notes to clear, so that "refund" earns refunds.
    w3.eth.wait_for_transaction_receipt(deployed.functions.burn(40).transact({"from": sender}))
    return deployed


def request(node, contract, function, *args) -> TransactionRequest:
    return TransactionRequest(
        sender=node.accounts[1].address,
        to=bytes.fromhex(contract.address[2:]),
        data=bytes.fromhex(contract.encode_abi(function, list(args))[2:]),
    )


def exhaustive_estimate(node, call: TransactionRequest) -> int:
    """py-evm's search, on the head state, from the intrinsic gas up."""
    transaction = node.requests.call(call)
    with node.backend.vm_at(None).in_costless_state() as state:
        return binary_gas_search_exact(state, transaction)


def succeeds_with(node, call: TransactionRequest, gas: int) -> bool:
    transaction = node.requests.call(call)
    with node.backend.vm_at(None).in_costless_state() as state:
        return not state.apply_transaction(SpoofTransaction(transaction, gas=gas)).is_error


@pytest.mark.parametrize(
    "function, args",
    [("burn", (3,)), ("burn", (30,)), ("forward", (5,)), ("forward", (25,)), ("refund", (40,))],
)
def test_estimate_is_the_least_gas_that_succeeds(node, contract, function, args):
    call = request(node, contract, function, *args)
    estimate = node.estimate_gas(call)
    assert estimate == exhaustive_estimate(node, call)
    assert succeeds_with(node, call, estimate)
    assert not succeeds_with(node, call, estimate - 1)


def test_a_call_that_keeps_gas_back_needs_more_than_it_consumes(node, contract):
    call = request(node, contract, "forward", 25)
    consumed = node.call(call)
    plenty = node.requests.call(call).gas
    used = plenty - consumed.get_gas_remaining()
    assert node.estimate_gas(call) > used


def test_estimate_of_a_transfer_is_the_intrinsic_gas(node):
    call = TransactionRequest(sender=node.accounts[1].address, to=b"\x77" * 20, value=1)
    assert node.estimate_gas(call) == 21_000


def test_estimate_is_never_below_the_calldata_floor(node, contract):
    """EIP-7623: 1 KiB of calldata costs more at the floor than the call executes."""
    call = request(node, contract, "take", b"\x01" * 1024)
    transaction = node.requests.call(call)
    floor = minimum_gas(transaction)
    assert floor > transaction.intrinsic_gas
    estimate = node.estimate_gas(call)
    assert estimate == floor
    assert exhaustive_estimate(node, call) < floor  # what a search from the intrinsic gas says
    w3 = node.web3()
    sent = contract.functions.take(b"\x01" * 1024).transact(
        {"from": w3.eth.accounts[1], "gas": estimate}
    )
    assert w3.eth.wait_for_transaction_receipt(sent).status == 1


def test_estimate_of_a_failing_call_is_its_revert(node, contract):
    w3 = node.web3()
    data = contract.encode_abi("check", [7])
    for method, params in [
        ("eth_estimateGas", [{"from": w3.eth.accounts[1], "to": contract.address, "data": data}]),
        # Sent without gas, a transaction is estimated first: the same answer, nothing queued.
        (
            "eth_sendTransaction",
            [{"from": w3.eth.accounts[1], "to": contract.address, "data": data}],
        ),
    ]:
        answer = w3.provider.make_request(method, params)
        assert answer["error"]["code"] == 3
        assert answer["error"]["message"] == "execution reverted: too big"
        assert answer["error"]["data"].startswith("0x08c379a0")
    assert node.pool.pending == []


def test_estimate_below_what_the_call_needs_says_out_of_gas(node, contract):
    w3 = node.web3()
    data = contract.encode_abi("burn", [30])
    answer = w3.provider.make_request(
        "eth_estimateGas",
        [{"from": w3.eth.accounts[1], "to": contract.address, "data": data, "gas": "0x7530"}],
    )
    assert answer["error"] == {"code": 3, "message": "execution reverted: out of gas"}


def test_only_a_transfer_that_runs_no_code_is_answered_without_running(node, contract):
    sender = node.accounts[1].address
    ecrecover = bytes(19) + b"\x01"  # a precompile: no code, but it runs and costs
    assert node.estimate_gas(TransactionRequest(sender=sender, to=ecrecover, value=1)) > 21_000
    # A contract without a default function: the transfer reverts.
    to_contract = TransactionRequest(sender=sender, to=bytes.fromhex(contract.address[2:]), value=1)
    with pytest.raises(ExecutionFailed):
        node.estimate_gas(to_contract)


def test_a_transfer_the_sender_cannot_pay_is_refused_in_plain_words(node):
    w3 = node.web3()
    poor = "0x" + "00" * 19 + "42"
    for method in ("eth_estimateGas", "eth_call"):
        answer = w3.provider.make_request(
            method, [{"from": poor, "to": "0x" + "77" * 20, "value": hex(10**18)}, "latest"]
        )
        assert answer["error"]["message"] == (
            f"insufficient funds for transfer: address {poor} has 0 wei, the call sends 10**18"
            .replace("10**18", str(10**18))
        )
