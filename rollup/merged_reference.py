"""
What a based block's atomicity is checked against: the same composed
program run in one EVM state holding the L1 and the L2 contracts together,
where the cross-domain read is a plain call and "all or nothing" is one
snapshot. A based block must leave the same outcome: each party's ether
(L1 and L2 summed, gas left out) and the contracts' storage.

The program here is the cross-domain swap: the taker pays the maker on the
ledger, then takes the maker's offer, which holds only if the payment is
what the offer asked.
"""

from dataclasses import dataclass
from typing import Dict, Sequence

from web3 import Web3

from contracts import compile_contract
from l1.accounts import DevAccount
from l1.node import Devnet

from .based import BasedBuilder
from .cross_domain import SwapDesk

# Gas for each step, given so that nothing is estimated against a state the
# step before has not reached yet.
STEP_GAS = 500_000
NOBODY = "0x" + "00" * 20


@dataclass(frozen=True)
class SwapOutcome:
    committed: bool
    # Change in wei per party, L1 and L2 summed, gas paid left out.
    ether: Dict[str, int]
    # SwapLedger.paid(id) and CrossSwap.closed(id) afterwards.
    paid: bytes
    closed: bool


def ether_of(chains: Sequence[Web3], parties: Sequence[str]) -> Dict[str, int]:
    return {party: sum(chain.eth.get_balance(party) for chain in chains) for party in parties}


def deployed(web3: Web3, name: str, sender: str, *arguments):
    compiled = compile_contract(name)
    factory = web3.eth.contract(abi=compiled.abi, bytecode=compiled.bytecode)
    receipt = web3.eth.wait_for_transaction_receipt(
        factory.constructor(*arguments).transact({"from": sender})
    )
    return web3.eth.contract(receipt.contractAddress, abi=compiled.abi)


def merged_swap(
    maker: DevAccount, taker: DevAccount, swap_id: bytes, offered: int, asked: int, paying: int
) -> SwapOutcome:
    """The swap in one EVM state: offer, then pay and take in one block, kept only if both hold."""
    chain = Devnet()
    web3 = chain.web3()
    ledger = deployed(web3, "SwapLedger", maker.checksum_address)
    # Read directly: the ledger is in this same state.
    swaps = deployed(
        web3, "CrossSwap", maker.checksum_address, NOBODY, NOBODY, ledger.address, True
    )
    swaps.functions.offer(
        swap_id, taker.checksum_address, maker.checksum_address, asked, 2**64
    ).transact({"from": maker.checksum_address, "value": offered})
    parties = [maker.checksum_address, taker.checksum_address]
    before = ether_of([web3], parties)
    snapshot = chain.snapshot()
    with chain.automine_paused():
        sent = [
            ledger.functions.pay(swap_id, maker.checksum_address).transact(
                {"from": taker.checksum_address, "value": paying, "gas": STEP_GAS}
            ),
            swaps.functions.take(swap_id, 0, [], []).transact(
                {"from": taker.checksum_address, "gas": STEP_GAS}
            ),
        ]
    chain.mine()
    receipts = [web3.eth.get_transaction_receipt(h) for h in sent]
    committed = all(receipt.status == 1 for receipt in receipts)
    gas = 0
    if committed:
        gas = sum(r.gasUsed * r.effectiveGasPrice for r in receipts)
    else:  # all or nothing: the program's block is undone
        chain.revert(snapshot)
    after = ether_of([web3], parties)
    after[taker.checksum_address] += gas
    return SwapOutcome(
        committed,
        {party: after[party] - before[party] for party in parties},
        bytes(ledger.functions.paid(swap_id).call()),
        swaps.functions.closed(swap_id).call(),
    )


def based_swap(
    desk: SwapDesk, builder: BasedBuilder, maker: DevAccount, taker: DevAccount,
    swap_id: bytes, paying: int, land,
) -> SwapOutcome:
    """
    The swap as one based block on a composable rollup (the offer already
    made on L1): ``land(based)`` puts it on L1 and returns the L1 receipt.
    """
    rollup = desk.rollup
    chains = [rollup.l1, rollup.l2_web3]
    parties = [maker.checksum_address, taker.checksum_address]
    before = ether_of(chains, parties)
    certificate = rollup.sequencer.end_slot()
    based = builder.build(
        [desk.pay(taker, swap_id, maker.checksum_address, paying)], slot_ending=certificate
    )
    based.after.append(desk.take(builder, based, swap_id))
    committed = land(based).status == 1
    after = ether_of(chains, parties)
    if committed:  # the taker's L2 gas (the block's last transaction), at the base fee: no tip
        used = based.receipts[-1].gas_used - (
            based.receipts[-2].gas_used if len(based.receipts) > 1 else 0
        )
        after[taker.checksum_address] += used * based.block.header.base_fee_per_gas
    ledger = rollup.l2_web3.eth.contract(desk.ledger, abi=compile_contract("SwapLedger").abi)
    return SwapOutcome(
        committed,
        {party: after[party] - before[party] for party in parties},
        bytes(ledger.functions.paid(swap_id).call()),
        desk.swaps.view("closed", swap_id),
    )
