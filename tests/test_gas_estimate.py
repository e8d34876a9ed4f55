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
from l1.node.gas import can_read_gas, least_gas, minimum_gas, state_runs
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

# Code that cannot read its gas (no call, no GAS): estimated in two runs.
PLAIN = """
total: public(uint256)

@external
def bump(by: uint256):
    self.total += by

@external
def rewrite():
    # The second write costs 100 gas (EIP-2200: the slot is already dirty), and
    # no SSTORE runs with 2,300 gas or less left: it needs more than it consumes.
    self.total = 1
    self.total = 2
"""

# Code that reads its gas and writes only when it has plenty: with less, it
# succeeds on less than it consumes with plenty.
THRIFTY = """
notes: HashMap[uint256, uint256]

@external
def thrifty():
    if msg.gas > 100000:
        self.notes[7] = 7
"""


@pytest.fixture(scope="module")
def node():
    with Devnet() as devnet:
        yield devnet


def deployed(node, source: str, name: str):
    w3 = node.web3()
    abi, bytecode = vyper_abi_and_bytecode(source, name)
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.contract(abi=abi, bytecode=bytecode)
        .constructor()
        .transact({"from": w3.eth.accounts[0]})
    )
    return w3.eth.contract(address=receipt.contractAddress, abi=abi)


@pytest.fixture(scope="module")
def contract(node):
    estimated = deployed(node, SOURCE, "Estimated")
    # Notes to clear, so that "refund" earns refunds.
    node.web3().eth.wait_for_transaction_receipt(
        estimated.functions.burn(40).transact({"from": node.accounts[0].checksum_address})
    )
    return estimated


def deployed_code(node, runtime: bytes) -> bytes:
    """``runtime`` deployed as it is: the new contract's address."""
    # PUSH2 len, DUP1, PUSH1 12, PUSH1 0, CODECOPY, PUSH1 0, RETURN, then the code.
    initcode = bytes.fromhex(f"61{len(runtime):04x}80600c6000396000f3") + runtime
    w3 = node.web3()
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_transaction({"from": w3.eth.accounts[0], "data": initcode})
    )
    return bytes.fromhex(receipt.contractAddress[2:])


@pytest.fixture(scope="module")
def keeper(node) -> bytes:
    """
    Code without GAS that calls, with a fixed 100,000 gas, code burning all
    it is given, and ignores the failure: with less gas the callee gets less
    (EIP-150 keeps 1/64 back) and the caller still succeeds.
    """
    burner = deployed_code(node, bytes.fromhex("fe"))  # INVALID
    call = "6000" * 5 + "73" + burner.hex() + "620186a0" + "f1" + "50" + "00"  # CALL, POP, STOP
    return deployed_code(node, bytes.fromhex(call))


@pytest.fixture(scope="module")
def plain(node):
    return deployed(node, PLAIN, "Plain")


@pytest.fixture(scope="module")
def thrifty(node):
    return deployed(node, THRIFTY, "Thrifty")


def request_to(node, contract, function, *args) -> TransactionRequest:
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
    "name, function, args",
    [
        ("contract", "burn", (3,)),
        ("contract", "burn", (30,)),
        ("contract", "forward", (5,)),
        ("contract", "forward", (25,)),
        ("contract", "refund", (40,)),
        ("plain", "bump", (2,)),
        ("plain", "rewrite", ()),
        ("thrifty", "thrifty", ()),
    ],
)
def test_estimate_is_the_least_gas_that_succeeds(request, node, name, function, args):
    call = request_to(node, request.getfixturevalue(name), function, *args)
    estimate = node.estimate_gas(call)
    # Below the calldata floor (EIP-7623) no transaction is valid, whatever it runs.
    floor = minimum_gas(node.requests.call(call))
    assert estimate == max(exhaustive_estimate(node, call), floor)
    assert succeeds_with(node, call, estimate)
    assert estimate == floor or not succeeds_with(node, call, estimate - 1)


def test_a_call_with_fixed_gas_is_searched(node, keeper):
    call = TransactionRequest(sender=node.accounts[1].address, to=keeper)
    gases = runs_of_an_estimate(node, call)
    assert len(gases) >= 3
    assert node.estimate_gas(call) == exhaustive_estimate(node, call) < gases[1]


def test_a_call_that_keeps_gas_back_needs_more_than_it_consumes(node, contract):
    call = request_to(node, contract, "forward", 25)
    consumed = node.call(call)
    plenty = node.requests.call(call).gas
    used = plenty - consumed.get_gas_remaining()
    assert node.estimate_gas(call) > used


def test_estimate_of_a_transfer_is_the_intrinsic_gas(node):
    call = TransactionRequest(sender=node.accounts[1].address, to=b"\x77" * 20, value=1)
    assert node.estimate_gas(call) == 21_000


def test_estimate_is_never_below_the_calldata_floor(node, contract):
    """EIP-7623: 1 KiB of calldata costs more at the floor than the call executes."""
    call = request_to(node, contract, "take", b"\x01" * 1024)
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


def runs_of_an_estimate(node, call: TransactionRequest, gauged: bool = True) -> list:
    """
    The gas of each run the estimate of ``call`` made, in order: on the
    node's calling VM (its SSTOREs gauged), or on py-evm's own (not gauged).
    """
    transaction = node.requests.call(call)
    vm = node.backend.vm_at(None) if gauged else node.backend.chain.get_vm()
    gases = []
    with vm.in_costless_state() as state:
        run = state_runs(state, transaction)

        def counted(gas: int):
            gases.append(gas)
            return run(gas)

        estimate = least_gas(transaction, min(transaction.gas, state.gas_limit), counted)
    assert estimate == max(exhaustive_estimate(node, call), minimum_gas(transaction))
    return gases


@pytest.mark.parametrize("function, args", [("bump", (2,)), ("rewrite", ())])
def test_a_run_that_cannot_see_its_gas_is_estimated_in_one_run(node, plain, function, args):
    """
    No call, no GAS: any gas runs it the same way, so it needs what it
    consumes and, at each SSTORE, more than 2,300 gas left (``rewrite``'s
    last write needs more than it consumes): the node's VM notes both.
    """
    call = request_to(node, plain, function, *args)
    assert len(runs_of_an_estimate(node, call)) == 1
    # Without the notes: the run at what it consumes, then (rewrite fails there) a search.
    ungauged = len(runs_of_an_estimate(node, call, gauged=False))
    assert ungauged == 2 if function == "bump" else ungauged > 3


@pytest.mark.parametrize(
    "name, function, args", [("contract", "forward", (5,)), ("thrifty", "thrifty", ())]
)
def test_a_run_that_can_see_its_gas_is_searched(request, node, name, function, args):
    """A call (63/64 of the gas passed on) or GAS read: one less is tried at least."""
    contract = request.getfixturevalue(name)
    assert len(runs_of_an_estimate(node, request_to(node, contract, function, *args))) >= 3


def test_gas_read_only_as_an_instruction_counts():
    gas, push1, push2, stop = "5a", "60", "61", "00"
    assert can_read_gas(bytes.fromhex(push1 + "01" + gas + stop))
    assert not can_read_gas(bytes.fromhex(push1 + gas + stop))  # 0x5a as PUSH1's data
    assert not can_read_gas(bytes.fromhex(push2 + "01" + gas + stop))
    assert can_read_gas(bytes.fromhex(push2 + "01" + gas + gas))
    assert not can_read_gas(bytes.fromhex(push1 + "01" + stop))
