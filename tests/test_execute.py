"""
EXECUTE in the NativeRollups L1 fork: called from a Vyper contract and
directly, on valid and mutated L2 blocks, with its gas rule and block cap.
"""

import pytest
from eth._utils.address import generate_contract_address
from eth.vm.spoof import SpoofTransaction

from contracts import compile_contract
from l1.builder import build_block
from l1.fork import NativeRollupsVM
from nr.testing.mutations import mutated_encodings
from precompile.constants import EXECUTE_PRECOMPILE_ADDRESS, FORK_CANCUN
from precompile.encoding import encode
from precompile.execute import ExecuteParameters, execute_gas
from precompile.genesis import GenesisAccount, new_chain
from precompile.ssz import Withdrawal

from chains import (
    BOB,
    KEY_0,
    L2_CHAIN_ID,
    L2_GAS_LIMIT,
    Sender,
    l2_block_input,
    receipts_of,
    succeeded,
)

L1_CHAIN_ID = 31337


class L1:
    """An L1 NativeRollups chain with the ExecuteProbe contract deployed."""

    def __init__(self, parameters=ExecuteParameters()):
        self.vm_class = NativeRollupsVM.with_parameters(parameters)
        self.account = KEY_0.public_key.to_canonical_address()
        self.chain = new_chain(self.vm_class, L1_CHAIN_ID, {self.account: GenesisAccount(10**24)})
        self.genesis = self.chain.get_canonical_head()
        self.sender = Sender(self.chain, KEY_0, L1_CHAIN_ID)
        self.probe = compile_contract("ExecuteProbe")
        block = self.mine(self.sender.transaction(b"", self.probe.deployment(), gas=3_000_000))
        (receipt,) = receipts_of(self.chain, block)
        assert succeeded(receipt)
        self.probe_address = generate_contract_address(self.account, 0)

    def mine(self, *transactions):
        return build_block(self.chain, transactions)

    def call(self, function, *args):
        """Read the probe at the head, as eth_call would."""
        header = self.chain.create_header_from_parent(self.chain.get_canonical_head())
        vm = self.chain.get_vm(header)
        unsigned = vm.create_unsigned_transaction(
            nonce=0,
            gas_price=0,
            gas=1_000_000,
            to=self.probe_address,
            value=0,
            data=self.probe.encode_call(function, *args),
        )
        output = self.chain.get_transaction_result(
            SpoofTransaction(unsigned, from_=bytes(20)), header
        )
        (value,) = self.probe.decode_result(function, output)
        return value

    def probe_execute(self, data):
        """One block with one probe call; the receipt."""
        block = self.mine(
            self.sender.transaction(
                self.probe_address, self.probe.encode_call("execute", data), gas=3 * L2_GAS_LIMIT
            )
        )
        (receipt,) = receipts_of(self.chain, block)
        return receipt

    def direct_execute(self, data, gas):
        """One block with one transaction straight to the precompile; (receipt, transaction)."""
        transaction = self.sender.transaction(EXECUTE_PRECOMPILE_ADDRESS, data, gas=gas)
        block = self.mine(transaction)
        (receipt,) = receipts_of(self.chain, block)
        return receipt, transaction


@pytest.fixture(scope="module")
def valid_input():
    return l2_block_input()


@pytest.fixture
def l1():
    return L1()


def test_execute_accepts_a_valid_l2_block_from_a_contract(l1, valid_input):
    receipt = l1.probe_execute(encode(valid_input))
    assert succeeded(receipt)
    assert l1.call("last_success") is True
    assert (
        l1.call("last_new_payload_request_root") == valid_input.new_payload_request.hash_tree_root()
    )
    assert l1.call("last_chain_id") == L2_CHAIN_ID
    assert l1.call("verified_count") == 1


def test_execute_fails_closed_on_every_mutation(l1, valid_input):
    for name, data in mutated_encodings(valid_input).items():
        receipt = l1.probe_execute(data)
        assert succeeded(receipt), name  # the probe records; it does not revert
        assert l1.call("last_success") is False, name
        # Straight to the precompile, the call fails and all its gas is gone.
        gas = 3 * L2_GAS_LIMIT
        direct, transaction = l1.direct_execute(data, gas)
        assert not succeeded(direct), name
        assert direct.gas_used == gas, name
    assert l1.call("verified_count") == 0


def test_execute_charges_base_plus_gas_limit_plus_input_bytes(l1, valid_input):
    data = encode(valid_input)
    receipt, transaction = l1.direct_execute(data, gas=3 * L2_GAS_LIMIT)
    assert succeeded(receipt)
    intrinsic = transaction.intrinsic_gas
    l2_gas_limit = int(valid_input.new_payload_request.execution_payload.gas_limit)
    assert l2_gas_limit == L2_GAS_LIMIT
    expected = execute_gas(len(data), l2_gas_limit, ExecuteParameters())
    assert receipt.gas_used == intrinsic + expected


def test_l1_blocks_with_execute_import_on_a_second_node(valid_input):
    first = L1()
    first.probe_execute(encode(valid_input))
    first.probe_execute(mutated_encodings(valid_input)["post_state_root"])
    second = new_chain(first.vm_class, L1_CHAIN_ID, {first.account: GenesisAccount(10**24)})
    assert second.get_canonical_head() == first.genesis
    head = first.chain.get_canonical_head()
    for number in range(1, head.block_number + 1):
        second.import_block(first.chain.get_canonical_block_by_number(number))
    assert second.get_canonical_head() == head


def test_cumulative_limit_rejects_the_call_that_crosses_it(valid_input):
    l1 = L1(ExecuteParameters(cumulative_gas_limit=2 * L2_GAS_LIMIT + L2_GAS_LIMIT // 2))
    data = l1.probe.encode_call("execute", encode(valid_input))
    calls = [l1.sender.transaction(l1.probe_address, data, gas=3 * L2_GAS_LIMIT) for _ in range(3)]
    block = l1.mine(*calls)
    executed = [log for receipt in receipts_of(l1.chain, block) for log in receipt.logs]
    successes = [log.data[-32:] == (1).to_bytes(32, "big") for log in executed]
    assert successes == [True, True, False]
    assert l1.call("verified_count") == 2
    # The next block has a fresh budget.
    assert succeeded(l1.probe_execute(encode(valid_input)))
    assert l1.call("last_success") is True


@pytest.mark.parametrize(
    "field, value, reason",
    [
        ("withdrawals", "one", "withdrawals"),
        ("versioned_hashes", "one", "blob"),
        ("requests", "one", "execution requests"),
        ("fork", FORK_CANCUN, "not Prague"),
    ],
)
def test_execute_refuses_what_l2_payloads_cannot_carry(l1, valid_input, field, value, reason):
    mutated = valid_input.copy()
    request = mutated.new_payload_request
    if field == "withdrawals":
        request.execution_payload.withdrawals.append(
            Withdrawal(index=0, validator_index=0, address=BOB, amount=1)
        )
    elif field == "versioned_hashes":
        request.versioned_hashes.append(b"\x01" + bytes(31))
    elif field == "requests":
        request.execution_requests.withdrawals = b"\x01" * 76
    else:
        mutated.chain_config.fork = value
    receipt, _ = l1.direct_execute(encode(mutated), gas=3 * L2_GAS_LIMIT)
    assert not succeeded(receipt)


def test_garbage_input_fails_the_call_not_the_node(l1):
    for data in (b"", b"\x00", b"\x00\x01", b"\xff" * 1000):
        receipt, _ = l1.direct_execute(data, gas=500_000)
        assert not succeeded(receipt) and receipt.gas_used == 500_000
    assert l1.chain.get_canonical_head().block_number == 5


def test_execute_refuses_on_an_internal_error_and_says_so(l1, valid_input, monkeypatch, caplog):
    """A bug under the guest fails the call closed, named an internal error, never 'invalid'."""
    from precompile import execute as execute_module
    from precompile import guest

    def renamed(*args):
        raise AttributeError("'PragueVM' object has no attribute 'validate_header'")

    monkeypatch.setattr(guest, "validate_header_against_parent", renamed)
    data = encode(valid_input)
    with pytest.raises(execute_module.ExecuteRefused, match=r"internal error\): AttributeError"):
        execute_module.verify_l2_block(valid_input)
    assert any(record.levelname == "ERROR" for record in caplog.records)
    receipt = l1.probe_execute(data)
    assert succeeded(receipt) and l1.call("last_success") is False
    assert l1.call("verified_count") == 0
