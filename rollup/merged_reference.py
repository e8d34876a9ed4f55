"""
What a based block's atomicity is checked against: the same composed
program run in one EVM state holding the L1 and the L2 contracts together,
where a cross-domain call is a plain call and "all or nothing" is one
snapshot. A based block must leave the same outcome.

Two programs: the cross-domain swap (the taker pays the maker on the ledger,
then takes the maker's offer, which holds only if the payment is what the
offer asked; compared by each party's ether, L1 and L2 summed, gas left
out, and the contracts' storage), and any ``Program`` of L1 and L2
contracts using synchronous calls (``CrossCalls`` / ``L2CrossCalls``; in the
merged state ``MergedCrossCalls`` stands at the L2 end's address and serves
both), compared by what its views read afterwards.
"""

from dataclasses import dataclass, field
from typing import Any, Dict, List, Sequence, Tuple

from web3 import Web3

from contracts import compile_contract
from l1.accounts import DevAccount
from l1.node import Devnet

from .based import Action, BasedBuilder
from .cross_domain import SwapDesk, deploy_on_l2
from .execution_table import ExecutionTableBuilder
from .l1_contract import L1Contract
from .l2 import L2_CROSS_CALLS

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


# -- any program of synchronous calls --

# An argument naming the cross-call contract L1 contracts call into L2 through.
CROSS_CALLS = "<cross calls>"


@dataclass(frozen=True)
class Deployment:
    """Contract ``contract`` deployed as ``name`` on ``chain`` ("l1" or "l2")."""

    name: str
    contract: str
    chain: str
    # Another deployment's name, or CROSS_CALLS, stands for its address.
    arguments: Tuple[Any, ...] = ()


@dataclass(frozen=True)
class Calldata:
    """An argument: the calldata of ``contract``'s ``function`` (names resolved as above)."""

    contract: str
    function: str
    arguments: Tuple[Any, ...] = ()


@dataclass(frozen=True)
class Program:
    """
    Contracts, the L1 calls that run them (a based block's actions after its
    L2 block; in the merged state, one block), and the views whose answers
    are the outcome (addresses answered are given as deployment names).
    """

    deployments: Tuple[Deployment, ...]
    # (deployment, function, arguments): run in order, all or nothing.
    calls: Tuple[Tuple[str, str, Tuple[Any, ...]], ...]
    # (deployment, view, arguments).
    reads: Tuple[Tuple[str, str, Tuple[Any, ...]], ...]


@dataclass(frozen=True)
class ProgramOutcome:
    committed: bool
    reads: Dict[str, Any] = field(default_factory=dict)


def merged_program(program: Program, sender: DevAccount) -> ProgramOutcome:
    """``program`` in one EVM state, MergedCrossCalls at the L2 end's address."""
    chain = Devnet()
    web3 = chain.web3()
    cross = Web3.to_checksum_address(L2_CROSS_CALLS)
    web3.provider.make_request(
        "anvil_setCode", [cross, "0x" + compile_contract("MergedCrossCalls").runtime.hex()]
    )
    addresses = {CROSS_CALLS: cross}
    contracts = {}
    for deployment in program.deployments:
        arguments = _resolved(deployment.arguments, addresses)
        contract = deployed(web3, deployment.contract, sender.checksum_address, *arguments)
        contracts[deployment.name] = contract
        addresses[deployment.name] = contract.address
    snapshot = chain.snapshot()
    with chain.automine_paused():
        sent = [
            getattr(contracts[name].functions, function)(*_resolved(arguments, addresses)).transact(
                {"from": sender.checksum_address, "gas": STEP_GAS * 4}
            )
            for name, function, arguments in program.calls
        ]
    chain.mine()
    committed = all(web3.eth.get_transaction_receipt(h).status == 1 for h in sent)
    if not committed:
        chain.revert(snapshot)
    return ProgramOutcome(committed, _read(program, contracts, addresses))


def based_program(
    program: Program, rollup, builder: BasedBuilder, deployers: Tuple[DevAccount, DevAccount],
    land, deployed=lambda: None,
) -> ProgramOutcome:
    """
    ``program`` on ``rollup`` (a ComposableRollup): L1 contracts deployed on
    L1 by the first of ``deployers``, L2 ones in sequenced blocks by the
    second (two accounts, so that no L1 and L2 contract share an address
    and every address read names one contract; then ``deployed()`` is called), then its
    calls as the actions of one based block with the execution table they
    need; ``land(tables, based)`` lands it and returns the L1 receipt.
    """
    l1_deployer, l2_deployer = deployers
    addresses = {CROSS_CALLS: rollup.cross_calls.address}
    contracts: Dict[str, Any] = {}
    for deployment in program.deployments:
        arguments = _resolved(deployment.arguments, addresses)
        if deployment.chain == "l2":
            address = deploy_on_l2(rollup, l2_deployer, deployment.contract, *arguments)
            contracts[deployment.name] = rollup.l2_web3.eth.contract(
                address, abi=compile_contract(deployment.contract).abi
            )
        else:
            contract = L1Contract.deploy(
                rollup.l1, deployment.contract, l1_deployer.checksum_address, *arguments
            )
            contracts[deployment.name] = contract.contract
            address = contract.address
        addresses[deployment.name] = address
    deployed()
    actions = [
        Action(
            addresses[name],
            compile_contract(_contract_of(program, name)).encode_call(
                function, *_resolved(arguments, addresses)
            ),
        )
        for name, function, arguments in program.calls
    ]
    tables = ExecutionTableBuilder(builder)
    based = tables.build(after=actions, slot_ending=rollup.sequencer.end_slot())
    committed = land(tables, based).status == 1
    return ProgramOutcome(committed, _read(program, contracts, addresses))


def _contract_of(program: Program, name: str) -> str:
    return next(d.contract for d in program.deployments if d.name == name)


def _resolved(arguments: Sequence[Any], addresses: Dict[str, str]) -> List[Any]:
    """``arguments`` with deployment names (and CROSS_CALLS) as addresses, Calldata encoded."""
    return [_resolved_one(argument, addresses) for argument in arguments]


def _resolved_one(argument: Any, addresses: Dict[str, str]) -> Any:
    if isinstance(argument, Calldata):
        return compile_contract(argument.contract).encode_call(
            argument.function, *_resolved(argument.arguments, addresses)
        )
    if isinstance(argument, str):
        return addresses.get(argument, argument)
    return argument


def _read(program: Program, contracts, addresses: Dict[str, str]) -> Dict[str, Any]:
    """Each read's answer (web3 contracts), an address answered given as the deployment's name."""
    names = {address.lower(): name for name, address in addresses.items()}
    answers = {}
    for name, view, arguments in program.reads:
        function = getattr(contracts[name].functions, view)
        answer = function(*_resolved(arguments, addresses)).call()
        if isinstance(answer, str) and answer.lower() in names:
            answer = names[answer.lower()]
        answers[f"{name}.{view}"] = answer
    return answers
