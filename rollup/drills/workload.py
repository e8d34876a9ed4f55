"""
The workload every configuration runs, and what it measures: deposits, L2
transfers and a withdrawal claimed on L1 (L1 gas per settled L2 block and
per L2 transaction, EXECUTE included; withdrawal latency); then a fresh node
rebuilding every settled state from the EXECUTE inputs in L1 calldata alone.
"""

from precompile.encoding import decode
from precompile.payload import new_payload_request_to_block
from precompile.ssz import StatelessInput

from ..adversaries import spent_by
from ..l2 import l2_node
from .scenario import ALICE, BOB, CAROL, ETHER, Check, Outcome, Scenario

TRANSFERS = 3


def workload(scenario: Scenario) -> Outcome:
    rollup, l1 = scenario.rollup, scenario.l1
    start = l1.head().block_number
    scenario.fund_users(ALICE, BOB)
    for _ in range(TRANSFERS):
        rollup.l2_web3.eth.send_transaction(
            {"from": BOB.checksum_address, "to": CAROL.checksum_address, "value": ETHER // 10}
        )
    withdrawal = rollup.withdraw(BOB.checksum_address, ETHER)
    asked = scenario.now()
    settled = rollup.sequencer.settle()
    scenario.note(f"{TRANSFERS} transfers and a withdrawal settled in L2 blocks {settled}")
    gas, _ = spent_by(l1, rollup.sequencer.address, start)
    blocks = rollup.settled_head()
    transactions = 2 + TRANSFERS + 1  # two deposits, the transfers, the withdrawal
    roots_match = all(
        rollup.contract.view("state_root_at", number) == rollup.l2.block(number).header.state_root
        for number in range(1, blocks + 1)
    )
    scenario.wait(rollup.config.finality_delay)
    before = scenario.l1_balance(BOB)
    receipt = scenario.attempt("Bob claims his withdrawal", lambda: scenario.claim(withdrawal, BOB))
    paid = receipt is not None and scenario.l1_balance(BOB) == (
        before + ETHER - receipt["gasUsed"] * receipt["effectiveGasPrice"]
    )
    ok = roots_match and paid
    detail = (f"{blocks} L2 blocks settled with their state roots; the withdrawal was paid"
              if ok else "settled roots differ from the L2's, or the withdrawal was not paid")
    return Outcome(detail, [Check("state-roots-on-l1", ok, detail)], {
        "l1_gas_per_settled_block": gas // max(blocks, 1),
        "l1_gas_per_l2_transaction": gas // transactions,
        "withdrawal_latency_s": scenario.now() - asked if paid else None,
        "claim_gas": receipt["gasUsed"] if receipt is not None else None,
    })


def data_on_l1(scenario: Scenario) -> Outcome:
    """
    After some traffic, a fresh L2 node from the same genesis imports every
    block found in L1 calldata (the inputs of the advance() calls that
    succeeded) and must reach each state root L1 settled.
    """
    rollup, l1 = scenario.rollup, scenario.l1
    scenario.fund_users(ALICE, BOB)
    rollup.l2_web3.eth.send_transaction(
        {"from": BOB.checksum_address, "to": CAROL.checksum_address, "value": ETHER}
    )
    rollup.sequencer.settle()
    rebuilt = l2_node(rollup.config, rollup.l2.block(0).header.timestamp)
    inputs = _settled_inputs(scenario)
    for encoded in inputs:
        request = decode(encoded, StatelessInput).new_payload_request
        rebuilt.import_block(new_payload_request_to_block(request, rebuilt.vm_class))
    heads = rollup.settled_head()
    matches = rebuilt.head().block_number == heads and all(
        rebuilt.block(number).header.state_root == rollup.contract.view("state_root_at", number)
        for number in range(1, heads + 1)
    )
    scenario.note(f"a fresh node imported {len(inputs)} blocks from L1 calldata",
                  l1_blocks_read=l1.head().block_number)
    detail = (f"all {heads} settled state roots rebuilt from L1 calldata" if matches
              else "the L2 state could not be rebuilt from L1 data")
    return Outcome(detail, [Check("data-on-l1", matches, detail)], {})


def _settled_inputs(scenario: Scenario) -> list:
    """The EXECUTE inputs of every advance() call L1 took, in order."""
    rollup, l1 = scenario.rollup, scenario.l1
    address = bytes.fromhex(rollup.address[2:])
    inputs = []
    for number in range(1, l1.head().block_number + 1):
        block = l1.block(number)
        for transaction in block.transactions:
            if transaction.to != address:
                continue
            function, arguments = rollup.contract.contract.decode_function_input(transaction.data)
            if function.fn_name != "advance":
                continue
            if l1.web3().eth.get_transaction_receipt(transaction.hash).status == 1:
                inputs.append(bytes(arguments["stateless_input"]))
    return inputs
