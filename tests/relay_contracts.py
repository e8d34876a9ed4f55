"""
Two contracts whose calls make every kind of frame a call tracer shows: a
Callee that stores, logs and refuses, and a Caller whose ``relay`` calls it
each way (STATICCALL, CALL with value, a CALL that reverts with a reason, a
CALL that runs out of gas, DELEGATECALL, CREATE, CREATE2, a precompile, a
plain transfer) and logs after its calls; its ``extras`` makes a callee
panic (Solidity's Panic(uint256)) and a proxy of it SELFDESTRUCT.
"""

import warnings
from functools import lru_cache
from typing import Tuple

import vyper

CALLEE = """
# pragma version ~=0.4.3
stored: public(uint256)

event Noted:
    amount: indexed(uint256)

@external
@payable
def note(amount: uint256) -> uint256:
    self.stored = amount
    log Noted(amount=amount)
    return amount + 1

@external
@payable
def stamp() -> uint256:
    return self.stored + 100

@external
def refuse():
    log Noted(amount=0)
    raise "refused"

@external
def panic(code: uint256):
    raw_revert(concat(method_id("Panic(uint256)"), convert(code, bytes32)))

@external
@payable
def vanish(beneficiary: address):
    selfdestruct(beneficiary)
"""

CALLER = """
# pragma version ~=0.4.3
interface Callee:
    def note(amount: uint256) -> uint256: payable
    def refuse(): nonpayable
    def stored() -> uint256: view
    def vanish(beneficiary: address): payable

callee: public(address)

event Relayed:
    amount: uint256

@deploy
def __init__(callee: address):
    self.callee = callee

@external
@payable
def relay(amount: uint256) -> uint256:
    seen: uint256 = staticcall Callee(self.callee).stored()
    result: uint256 = extcall Callee(self.callee).note(amount, value=msg.value)
    refused: bool = raw_call(self.callee, method_id("refuse()"), revert_on_failure=False)
    size: uint256 = self.callee.codesize
    copy: address = create_minimal_proxy_to(self.callee)
    digest: bytes32 = sha256(convert(amount, bytes32))
    starved: bool = raw_call(
        self.callee, method_id("refuse()"), gas=100, revert_on_failure=False
    )
    stamped: Bytes[32] = raw_call(
        self.callee, method_id("stamp()"), max_outsize=32, is_delegate_call=True
    )
    twin: address = create_minimal_proxy_to(self.callee, salt=digest)
    send(msg.sender, 0)
    log Relayed(amount=amount)
    return result + seen + size

@external
def fail():
    extcall Callee(self.callee).refuse()

@external
@payable
def extras() -> bool:
    panicked: bool = raw_call(
        self.callee,
        abi_encode(convert(17, uint256), method_id=method_id("panic(uint256)")),
        revert_on_failure=False,
    )
    copy: address = create_minimal_proxy_to(self.callee)
    extcall Callee(copy).vanish(msg.sender, value=msg.value)
    return panicked
"""


@lru_cache(maxsize=None)
def compiled(source: str) -> Tuple[list, bytes]:
    """A contract's ABI and init code."""
    with warnings.catch_warnings():  # the Callee self-destructs on purpose: a tracer shows it
        warnings.filterwarnings("ignore", message="`selfdestruct` is deprecated")
        output = vyper.compile_code(source, output_formats=["abi", "bytecode"])
    return output["abi"], bytes.fromhex(output["bytecode"][2:])


def deploy(w3, sender: str, source: str, *arguments):
    """Deploy ``source`` from an account the node signs for; the contract."""
    abi, bytecode = compiled(source)
    init_code = w3.eth.contract(abi=abi, bytecode=bytecode).constructor(*arguments)
    transaction = {"from": sender, "data": init_code.data_in_transaction, "gas": 3_000_000}
    receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_transaction(transaction))
    assert receipt.status == 1
    return w3.eth.contract(receipt.contractAddress, abi=abi)


def deploy_relay(w3, sender: str):
    """The Callee, then a Caller over it: both contracts."""
    callee = deploy(w3, sender, CALLEE)
    return callee, deploy(w3, sender, CALLER, callee.address)


def caller_init_code(w3, callee: str) -> str:
    """The Caller's init code over ``callee``, as a call's data (a creation traced)."""
    abi, bytecode = compiled(CALLER)
    return w3.eth.contract(abi=abi, bytecode=bytecode).constructor(callee).data_in_transaction
