"""
EXECUTE in proofs mode on the devnet: an L2 block is accepted once k of n
proofs of distinct types are in the node's pool, never on fewer, never on
proofs of another block, chain or L1; transactions wait for proofs in the
pool instead of being dropped; a prover outage of n - k still finalises.
"""

import asyncio
import threading
import time

import aiohttp
import pytest
from eth_utils import to_checksum_address
from web3.exceptions import ContractLogicError, Web3RPCError

from l1.builder import build_block
from l1.fork import AwaitingProofs, NativeRollupsVM
from l1.node import Devnet, DevnetConfig
from nr.testing import proving as proving_module
from nr.testing.mutations import mutated_encodings
from nr.testing.proving import Prover, RemoteProver
from nr.testing.strategies import mutate
from precompile.constants import EXECUTE_PRECOMPILE_ADDRESS
from precompile.encoding import decode, encode
from precompile.execute import (
    EXECUTE_BASE_GAS,
    EXECUTE_GAS_PER_INPUT_BYTE,
    EXECUTE_PROOF_VERIFICATION_GAS,
    PROOFS_MODE,
    ExecuteParameters,
)
from precompile.genesis import GenesisAccount, new_chain
from precompile.ssz import StatelessInput, StatelessValidationResult
from prover import pool as prover_pool_module
from prover.constants import (
    DEFAULT_PROOF_TYPES,
    MAX_EXECUTION_PROOFS_PER_PAYLOAD,
    PROOF_TYPE_IDS,
)
from prover.containers import ExecutionProof, public_input_of
from prover.pool import ACCEPT, REJECT, ProofPool
from prover.proof_types import ProofDeclined, ProofRefused
from prover.registry import ProverSet
from prover.service import RpcSocket
from prover.service import publish as publish_from_a_prover
from rollup.l1_contract import RECEIPT_TIMEOUT_SECONDS, ProofsNotComing

from chains import KEY_0, Sender, l2_block_input, receipts_of, serve_in_thread, succeeded
from proving import L1_CHAIN_ID, PROVERS, sign, signed_proofs
from rollups import ALICE, BOB, ETHER
from rollups import deploy as deploy_rollup

PROOFS = ExecuteParameters(mode=PROOFS_MODE, proof_threshold=3)
EXECUTE = to_checksum_address(EXECUTE_PRECOMPILE_ADDRESS)


@pytest.fixture(scope="module")
def all_proofs(encoded_input):
    """The five default proof types' proofs of ``encoded_input``, SSZ-encoded, by type."""
    return dict(
        zip(
            DEFAULT_PROOF_TYPES,
            (s.encode_bytes() for s in signed_proofs(encoded_input, DEFAULT_PROOF_TYPES)),
        )
    )


@pytest.fixture
def devnet():
    # The well-known demo keys: the tests sign proofs as the registered provers.
    with Devnet(DevnetConfig(execute=PROOFS, deterministic_provers=True)) as devnet:
        yield devnet


def send_execute(devnet, encoded):
    """A transaction straight to EXECUTE; its hash (it may wait for proofs)."""
    web3 = devnet.web3()
    return web3.eth.send_transaction(
        {"from": web3.eth.accounts[0], "to": EXECUTE, "data": encoded, "gas": 2_000_000}
    )


def receipt(devnet, tx_hash):
    found = devnet.receipt(bytes(tx_hash))
    return None if found is None else found[2]


def publish(devnet, all_proofs, proof_types):
    return [devnet.submit_proof(all_proofs[name]).verdict for name in proof_types]


def intrinsic_gas(encoded: bytes) -> int:
    return 21_000 + sum(16 if byte else 4 for byte in encoded)


def test_accepted_after_three_of_five_proofs_not_two(
    devnet, encoded_input, all_proofs, valid_input
):
    tx_hash = send_execute(devnet, encoded_input)
    assert receipt(devnet, tx_hash) is None
    (waiting,) = devnet.awaiting_proofs.values()
    assert "0 of the 3 proofs" in waiting
    head = devnet.head().block_number
    assert publish(devnet, all_proofs, ["reexec-pyevm", "attested-eels"]) == [ACCEPT, ACCEPT]
    # What it waits for is said as of now, not as of when it was first refused.
    (waiting,) = devnet.awaiting_proofs.values()
    assert "2 of the 3 proofs" in waiting and "reexec-pyevm" in waiting
    answer = devnet.web3().provider.make_request("nr_awaitingProofs", [])
    assert "2 of the 3 proofs" in answer["result"][0]["reason"]
    # Proofs short of the threshold do not make the node mine (no empty blocks per proof).
    assert devnet.head().block_number == head
    devnet.mine(2)
    assert receipt(devnet, tx_hash) is None, "two proofs must not be enough"
    with pytest.raises((ContractLogicError, Web3RPCError)):
        devnet.web3().eth.call({"to": EXECUTE, "data": encoded_input, "gas": 2_000_000})
    assert publish(devnet, all_proofs, ["attested-revm"]) == [ACCEPT]
    assert devnet.head().block_number == head + 3
    included = receipt(devnet, tx_hash)
    assert included is not None and succeeded(included)
    assert devnet.awaiting_proofs == {}
    # A flat verification cost, not the L2 gas limit.
    charge = EXECUTE_BASE_GAS + EXECUTE_GAS_PER_INPUT_BYTE * len(encoded_input)
    assert (
        included.gas_used == intrinsic_gas(encoded_input) + charge + EXECUTE_PROOF_VERIFICATION_GAS
    )
    output = devnet.web3().eth.call({"to": EXECUTE, "data": encoded_input, "gas": 2_000_000})
    result = StatelessValidationResult.decode_bytes(bytes(output))
    assert result.successful_validation
    assert result.new_payload_request_root == valid_input.new_payload_request.hash_tree_root()


def test_a_revert_brings_back_the_proofs_and_what_waits_for_them(devnet, encoded_input, all_proofs):
    """
    evm_revert restores the proof pool and which pending transactions wait for
    proofs: proofs gossiped after the snapshot are gone (EXECUTE needs them
    again), and a waiting transaction is still mined once they arrive.
    """
    tx_hash = send_execute(devnet, encoded_input)
    snapshot = devnet.snapshot()
    assert publish(devnet, all_proofs, DEFAULT_PROOF_TYPES[:3]) == [ACCEPT] * 3
    assert succeeded(receipt(devnet, tx_hash))
    assert devnet.revert(snapshot)
    assert receipt(devnet, tx_hash) is None
    (waiting,) = devnet.awaiting_proofs.values()
    assert "0 of the 3 proofs" in waiting
    # The pool forgot them: the same proofs count again, and the transaction is mined.
    assert publish(devnet, all_proofs, DEFAULT_PROOF_TYPES[:3]) == [ACCEPT] * 3
    assert succeeded(receipt(devnet, tx_hash))


def test_proofs_of_another_block_do_not_count(devnet, all_proofs):
    other = encode(l2_block_input(transfer=7))
    publish(devnet, all_proofs, DEFAULT_PROOF_TYPES[:3])
    tx_hash = send_execute(devnet, other)
    devnet.mine()
    assert receipt(devnet, tx_hash) is None
    assert "0 of the 3" in devnet.awaiting_proofs[bytes(tx_hash)]


def test_proofs_for_another_l2_chain_do_not_count(devnet, valid_input, all_proofs):
    publish(devnet, all_proofs, DEFAULT_PROOF_TYPES[:3])
    other_chain = valid_input.copy()
    other_chain.chain_config.chain_id = 902  # the same payload, claimed for another rollup
    tx_hash = send_execute(devnet, encode(other_chain))
    devnet.mine()
    assert receipt(devnet, tx_hash) is None
    with pytest.raises(ProofRefused):
        signed_proofs(encode(other_chain), ["reexec-pyevm"])


def test_proofs_signed_for_another_l1_are_rejected(devnet, encoded_input):
    send_execute(devnet, encoded_input)
    elsewhere = signed_proofs(encoded_input, DEFAULT_PROOF_TYPES[:3], ProverSet.demo(1))
    verdicts = [devnet.submit_proof(signed.encode_bytes()) for signed in elsewhere]
    assert [v.verdict for v in verdicts] == [REJECT] * 3
    assert all("signature" in v.reason for v in verdicts)
    assert len(devnet.awaiting_proofs) == 1


def test_an_invalid_block_cannot_gather_proofs(devnet, valid_input, all_proofs):
    invalid = mutated_encodings(valid_input)["post_state_root"]
    tx_hash = send_execute(devnet, invalid)
    # Honest proofs of the valid block are for another payload, and a re-execution
    # proof carrying the invalid input is rejected at gossip.
    publish(devnet, all_proofs, DEFAULT_PROOF_TYPES)
    claimed = decode(invalid, StatelessInput)
    forged = ExecutionProof(
        proof_data=invalid,
        proof_type=PROOF_TYPE_IDS["reexec-pyevm"],
        public_input=public_input_of(
            claimed.new_payload_request.hash_tree_root(), claimed.chain_config
        ),
    )
    verdict = devnet.submit_proof(sign(forged, 0).encode_bytes())
    assert verdict.verdict == REJECT and "does not verify" in verdict.reason
    devnet.mine()
    assert receipt(devnet, tx_hash) is None


def test_a_waiting_transaction_keeps_its_place_and_others_go_by(devnet, encoded_input, all_proofs):
    web3 = devnet.web3()
    sender = web3.eth.accounts[0]
    waiting = send_execute(devnet, encoded_input)
    # The same sender's next transaction queues behind it (not "nonce too high")...
    behind = web3.eth.send_transaction({"from": sender, "to": sender, "value": 1})
    # ...while other senders' transactions are mined meanwhile.
    other = web3.eth.send_transaction(
        {"from": web3.eth.accounts[1], "to": web3.eth.accounts[2], "value": 1}
    )
    assert receipt(devnet, other) is not None
    assert receipt(devnet, waiting) is None and receipt(devnet, behind) is None
    publish(devnet, all_proofs, DEFAULT_PROOF_TYPES[2:])
    first, second = receipt(devnet, waiting), receipt(devnet, behind)
    assert first is not None and second is not None
    assert devnet.receipt(bytes(waiting))[0].number <= devnet.receipt(bytes(behind))[0].number


def test_two_provers_offline_still_finalises(devnet, encoded_input, all_proofs):
    tx_hash = send_execute(devnet, encoded_input)
    # reexec-revm and attested-eels provers are down.
    publish(devnet, all_proofs, ["reexec-pyevm", "attested-pyevm", "attested-revm"])
    assert succeeded(receipt(devnet, tx_hash))


def test_three_provers_offline_stalls_safely_and_resumes(
    devnet, encoded_input, valid_input, all_proofs
):
    tx_hash = send_execute(devnet, encoded_input)
    invalid_hash = send_execute(devnet, mutated_encodings(valid_input)["gas_used"])
    publish(devnet, all_proofs, ["attested-pyevm", "reexec-revm"])
    head = devnet.head().block_number
    devnet.mine(3)
    assert devnet.head().block_number == head + 3
    assert receipt(devnet, tx_hash) is None and receipt(devnet, invalid_hash) is None
    # A third prover comes back: the valid block goes in, the invalid one still waits.
    publish(devnet, all_proofs, ["attested-eels"])
    assert succeeded(receipt(devnet, tx_hash))
    assert receipt(devnet, invalid_hash) is None


def test_proofs_published_before_the_payload_is_seen_count_once_it_is(
    devnet, encoded_input, all_proofs
):
    verdicts = [devnet.submit_proof(all_proofs[name]) for name in DEFAULT_PROOF_TYPES[:3]]
    assert all(v.queued for v in verdicts)
    tx_hash = send_execute(devnet, encoded_input)
    assert succeeded(receipt(devnet, tx_hash))


@pytest.mark.parametrize("meeting", ["eth_call", "eth_createAccessList", "debug_traceCall"])
def test_proofs_held_until_a_call_meets_the_payload_are_judged_after_it(
    devnet, encoded_input, all_proofs, meeting
):
    publish(devnet, all_proofs, DEFAULT_PROOF_TYPES[:3])  # held: the payload is not seen yet
    web3 = devnet.web3()
    call = {"to": EXECUTE, "data": "0x" + encoded_input.hex()}
    first = web3.provider.make_request(meeting, [call, "latest"])
    if meeting == "debug_traceCall":  # a trace of the refused call, without its words
        assert first["result"]["failed"] is True
    else:
        refused = first["error"]["message"]
        assert "0 of the 3 proofs" in refused
        assert "3 proof(s) published before it was seen are judged next" in refused
    # Judged right after that request: the next call is accepted.
    assert "result" in web3.provider.make_request("eth_call", [call, "latest"])


def proof_mode_chain(pool):
    vm_class = NativeRollupsVM.with_parameters(PROOFS, pool)
    account = KEY_0.public_key.to_canonical_address()
    return new_chain(vm_class, L1_CHAIN_ID, {account: GenesisAccount(10**24)})


def test_a_block_imports_on_a_second_node_once_it_holds_the_proofs(encoded_input, all_proofs):
    builder_pool = ProofPool(PROVERS)
    builder = proof_mode_chain(builder_pool)
    sender = Sender(builder, KEY_0, L1_CHAIN_ID)
    transaction = sender.transaction(EXECUTE_PRECOMPILE_ADDRESS, encoded_input, gas=2_000_000)
    with pytest.raises(AwaitingProofs):
        build_block(builder, [transaction])
    for name in DEFAULT_PROOF_TYPES[:3]:
        assert builder_pool.submit_bytes(all_proofs[name]).verdict == ACCEPT
    block = build_block(builder, [transaction])
    (included,) = receipts_of(builder, block)
    assert succeeded(included)

    follower_pool = ProofPool(PROVERS)
    follower = proof_mode_chain(follower_pool)
    with pytest.raises(AwaitingProofs):
        follower.import_block(block)
    for name in DEFAULT_PROOF_TYPES[1:4]:
        follower_pool.submit_bytes(all_proofs[name])
    follower_pool.judge_held()
    assert follower.import_block(block).imported_block.hash == block.hash


def test_a_settlement_nobody_proves_fails_saying_so_and_goes_through_once_proven(devnet):
    rollup = deploy_rollup(devnet, 1)
    rollup.contract.proof_patience = 0.5
    rollup.deposit(ALICE, ETHER, BOB)
    started = time.monotonic()
    with pytest.raises(
        ProofsNotComing,
        match=r"advance: the transaction 0x[0-9a-f]{64} waits for execution proofs \(0 of the 3"
        r" proofs .*\) and none came in [0-9.]+ s: run a prover beside the node",
    ):
        rollup.sequencer.step()
    assert time.monotonic() - started < RECEIPT_TIMEOUT_SECONDS / 4
    assert rollup.settled_head() == 0
    # The transaction still waits in the pool: once proven, it settles the block.
    Prover(devnet).prove(rollup.sequencer.stateless_input(1))
    assert rollup.settled_head() == 1


def settles_block_1_meanwhile(rollup, meanwhile) -> None:
    """The sequencer's round settles L2 block 1 while ``meanwhile`` runs beside it."""
    beside = threading.Thread(target=meanwhile)
    beside.start()
    try:
        assert rollup.sequencer.step() == [1]
    finally:
        beside.join()
    assert rollup.settled_head() == 1


def test_a_settlement_keeps_waiting_while_proofs_keep_coming(devnet):
    rollup = deploy_rollup(devnet, 1)
    rollup.contract.proof_patience = 2.0
    rollup.deposit(ALICE, ETHER, BOB)
    prover = Prover(devnet)
    # Three proofs a second apart: longer in all than the patience, never idle that long.
    settles_block_1_meanwhile(rollup, lambda: [
        (time.sleep(1.0), prover.prove(rollup.sequencer.stateless_input(1), [proof_type]))
        for proof_type in DEFAULT_PROOF_TYPES[:3]
    ])


def test_a_settlement_whose_proofs_are_in_waits_for_its_block_without_complaint(devnet):
    rollup = deploy_rollup(devnet, 1)
    rollup.contract.proof_patience = 1.0
    rollup.deposit(ALICE, ETHER, BOB)

    def proven_then_mined_late():
        time.sleep(0.3)
        devnet.set_automine(False)  # the block comes only when mined
        Prover(devnet).prove(rollup.sequencer.stateless_input(1))
        time.sleep(2.5)  # well past the patience, with nothing lacking
        devnet.mine()

    settles_block_1_meanwhile(rollup, proven_then_mined_late)
    assert devnet.web3().provider.make_request("nr_awaitingProofs", [])["result"] == []


def test_the_node_says_which_waiting_transactions_are_proven(devnet, encoded_input, all_proofs):
    sent = send_execute(devnet, encoded_input)
    web3 = devnet.web3()
    (waiting,) = web3.provider.make_request("nr_awaitingProofs", [])["result"]
    assert waiting["hash"] == "0x" + bytes(sent).hex() and waiting["proven"] is False
    devnet.set_automine(False)
    publish(devnet, all_proofs, DEFAULT_PROOF_TYPES[:3])
    (waiting,) = web3.provider.make_request("nr_awaitingProofs", [])["result"]
    assert waiting["proven"] is True and "the proofs are in" in waiting["reason"]


def test_a_prover_at_hand_proves_what_a_settlement_waits_for(devnet, encoded_input):
    rollup = deploy_rollup(devnet, 1)
    rollup.contract.proof_patience = 1.0
    prover = Prover(devnet, [rollup])
    rollup.deposit(ALICE, ETHER, BOB)
    with prover.proving_settlements():
        with prover.proving_settlements():  # nested: the outer one's stays after
            pass
        assert rollup.contract.when_awaiting_proofs is not None
        assert rollup.sequencer.step() == [1]
    assert rollup.settled_head() == 1
    assert rollup.contract.when_awaiting_proofs is None  # only within
    # An input no proof system proves (a tampered block) is left as it is.
    tampered = mutate(encoded_input, "state_root", 7)
    call = {"to": EXECUTE, "data": "0x" + tampered.hex()}
    devnet.web3().provider.make_request("eth_call", [call, "latest"])
    assert tampered in [encoded for encoded, _ in prover.inputs_met()]
    assert prover.prove_what_the_l1_met() == 0


def test_a_prover_at_hand_makes_the_types_it_can_when_one_engine_declines(
    devnet, encoded_input, monkeypatch
):
    """A type whose engine cannot run the block does not stop the types after it."""
    prover = Prover(devnet)
    call = {"to": EXECUTE, "data": "0x" + encoded_input.hex()}
    devnet.web3().provider.make_request("eth_call", [call, "latest"])  # the L1 meets it
    first = DEFAULT_PROOF_TYPES[0]
    original = proving_module.proof_system

    def declining_the_first(name, *args):
        if name == first:
            raise ProofDeclined(f"{name} cannot run this block")
        return original(name, *args)

    monkeypatch.setattr(proving_module, "proof_system", declining_the_first)
    assert prover.prove_what_the_l1_met() == len(DEFAULT_PROOF_TYPES) - 1
    held = dict(prover.inputs_met())[encoded_input]
    assert first not in held and len(held) == MAX_EXECUTION_PROOFS_PER_PAYLOAD
    assert "result" in devnet.web3().provider.make_request("eth_call", [call, "latest"])


@pytest.mark.parametrize("step", ["_signer_fault", "verify_execution_proof"])
def test_a_proof_judged_across_a_revert_leaves_the_restored_pool_as_it_was(
    devnet, encoded_input, all_proofs, monkeypatch, step
):
    """
    evm_revert while a proof is judged (its signature checked, then the proof
    verified, both unlocked): the restored pool neither holds the proof nor
    counts its prover's slot as used, so the same proof counts when sent again.
    """
    web3, pool = devnet.web3(), devnet.proof_pool
    call = {"to": EXECUTE, "data": "0x" + encoded_input.hex()}
    web3.provider.make_request("eth_call", [call, "latest"])  # the L1 meets the payload
    snapshot, digest = devnet.snapshot(), pool.digest()
    owner = pool if step == "_signer_fault" else prover_pool_module
    original = getattr(owner, step)

    def reverting_meanwhile(*args):
        monkeypatch.setattr(owner, step, original)
        assert devnet.revert(snapshot)
        return original(*args)

    monkeypatch.setattr(owner, step, reverting_meanwhile)
    overtaken = devnet.submit_proof(all_proofs[DEFAULT_PROOF_TYPES[0]])
    assert overtaken.verdict == "ignore" and "evm_revert" in overtaken.reason
    assert pool.digest() == digest
    verdicts = [devnet.submit_proof(all_proofs[name]).verdict for name in DEFAULT_PROOF_TYPES[:3]]
    assert verdicts == [ACCEPT] * 3
    assert "result" in web3.provider.make_request("eth_call", [call, "latest"])


def test_a_snapshot_taken_while_held_proofs_are_judged_keeps_them(
    devnet, encoded_input, all_proofs, monkeypatch
):
    publish(devnet, all_proofs, DEFAULT_PROOF_TYPES[:3])  # held: the payload is not seen yet
    pool, web3 = devnet.proof_pool, devnet.web3()
    taken = []
    judge = pool.submit_bytes

    def snapshot_as_judging_begins(data, epoch=None):
        if not taken:
            taken.append(devnet.snapshot())
        return judge(data, epoch)

    monkeypatch.setattr(pool, "submit_bytes", snapshot_as_judging_begins)
    call = {"to": EXECUTE, "data": "0x" + encoded_input.hex()}
    web3.provider.make_request("eth_call", [call, "latest"])  # meets it: judged after
    assert "result" in web3.provider.make_request("eth_call", [call, "latest"])
    assert devnet.revert(taken[0])  # back to when the judging began: the proofs with it
    web3.provider.make_request("eth_call", [call, "latest"])  # judged again after this one
    assert "result" in web3.provider.make_request("eth_call", [call, "latest"])


def test_a_reset_forgets_the_proof_pool(devnet, all_proofs):
    publish(devnet, all_proofs, DEFAULT_PROOF_TYPES[:3])  # held for a payload not seen yet
    fresh = ProofPool(devnet.provers, devnet.proof_pool.accepted_types).digest()
    assert devnet.proof_pool.digest() != fresh
    devnet.web3().provider.make_request("anvil_reset", [])
    assert devnet.proof_pool.digest() == fresh


def revert_while_the_next_signature_is_checked(devnet, monkeypatch) -> None:
    """
    The next proof's signature check first takes the node back to a snapshot
    taken now, as an evm_revert arriving while it is judged would.
    """
    snapshot, pool = devnet.snapshot(), devnet.proof_pool
    judge_signer = pool._signer_fault

    def reverting_once(signed):
        monkeypatch.setattr(pool, "_signer_fault", judge_signer)
        assert devnet.revert(snapshot)
        return judge_signer(signed)

    monkeypatch.setattr(pool, "_signer_fault", reverting_once)


def test_a_proof_a_revert_overtook_is_sent_again(devnet, encoded_input, monkeypatch):
    """The node says so (resend); the provers over RPC send it again, judged afresh."""
    _, web3 = serve_in_thread(devnet)
    prover = RemoteProver(web3)
    prover.show(encoded_input)  # the L1 meets it before the snapshot
    revert_while_the_next_signature_is_checked(devnet, monkeypatch)
    verdicts = prover.prove(encoded_input, DEFAULT_PROOF_TYPES[:3])
    assert [verdict["verdict"] for verdict in verdicts] == [ACCEPT] * 3


def test_the_prover_service_sends_again_a_proof_a_revert_overtook(
    devnet, encoded_input, all_proofs, monkeypatch
):
    port, web3 = serve_in_thread(devnet)
    call = {"to": EXECUTE, "data": "0x" + encoded_input.hex()}
    web3.provider.make_request("eth_call", [call, "latest"])  # the L1 meets it
    revert_while_the_next_signature_is_checked(devnet, monkeypatch)

    async def publish_over_the_nodes_socket():
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(f"ws://127.0.0.1:{port}") as socket:
                rpc = RpcSocket(socket)
                reading = asyncio.ensure_future(rpc.read())
                try:
                    return await publish_from_a_prover(rpc, all_proofs[DEFAULT_PROOF_TYPES[0]])
                finally:
                    reading.cancel()

    assert asyncio.run(publish_over_the_nodes_socket())["verdict"] == ACCEPT
