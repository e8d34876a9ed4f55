"""
What attackers use against a rollup, for drills and tests: recipients that
burn the gas a deposit gives them, a smart-contract wallet, EIP-7702 senders
whose code bumps their nonce, transactions forced past the sequencer that can
never run, and the L1 cost each side bears.
"""

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import rlp
from eth.rlp.accounts import Account as StateAccount
from eth_account import Account
from eth_hash.auto import keccak
from trie import HexaryTrie
from web3 import Web3

from contracts import compile_contract
from l1.accounts import DevAccount
from l1.node import Devnet
from l1.state_proofs import prove_account
from precompile.encoding import decode, encode
from precompile.ssz import StatelessInput
from prover.constants import PROOF_TYPE_IDS
from prover.containers import (
    Attestation,
    AttestedExecution,
    ExecutionProof,
    public_input_of,
)
from prover.pool import sign_proof
from prover.registry import ProverSet
from prover.signing import SecretKey, compute_signing_root

from .l2 import L2_MESSAGE_PASSER
from .rollup import Rollup, Withdrawal, sent_message_slot

# Init code deploying one byte of runtime: 0xFE (INVALID, burns all gas it is given).
INVALID_CODE = bytes.fromhex("60fe5f5360015ff3")
# Init code deploying JUMPDEST PUSH0 JUMP (loops until its gas is gone).
ENDLESS_LOOP = bytes.fromhex("625b5f565f526003601df3")
# The point-evaluation precompile: a call with empty input fails and keeps the gas.
POINT_EVALUATION = "0x000000000000000000000000000000000000000A"
# Init code deploying runtime that creates an empty contract (CREATE(0, 0, 0)):
# run in a delegated account's context, it bumps that account's nonce.
NONCE_BUMPER = bytes.fromhex("645f5f5ff0005f526005601bf3")
# Gas and fee cap of the transactions built here (L2 base fees stay far below).
CALL_GAS = 200_000
FEE_CAP = 10**10


ATTESTED_TYPES = ("attested-pyevm", "attested-revm", "attested-eels")


class AttackFailed(Exception):
    """An attacker's own transaction did not go through (the drill cannot go on)."""


def deploy_code(w3: Web3, init_code: bytes, sender: str) -> str:
    """Deploy ``init_code`` from ``sender``; the new contract's address."""
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_transaction({"from": sender, "data": init_code, "gas": 3_000_000})
    )
    if receipt.status != 1:
        raise AttackFailed("deploying the attacker's code failed")
    return receipt.contractAddress


def deploy_wallet(w3: Web3, accepting: bool, sender: str):
    """A ``ReceivingWallet`` on ``w3``'s chain, as a web3.py contract."""
    compiled = compile_contract("ReceivingWallet")
    address = deploy_code(w3, compiled.deployment(accepting), sender)
    return w3.eth.contract(address, abi=compiled.abi)


def gas_burners(w3: Web3, sender: str) -> tuple:
    """
    Recipients that take a deposit's call and keep its gas or refuse it (code
    that burns it, the point-evaluation precompile, a wallet refusing
    payment); and that wallet, which can later accept and claim.
    """
    wallet = deploy_wallet(w3, accepting=False, sender=sender)
    burners = [
        deploy_code(w3, INVALID_CODE, sender),
        deploy_code(w3, ENDLESS_LOOP, sender),
        POINT_EVALUATION,
        wallet.address,
    ]
    return burners, wallet


def delegate(rollup: Rollup, account, code_address: str) -> None:
    """EIP-7702 on L2: ``account`` (eth-account) delegates to ``code_address``."""
    l2 = rollup.l2_web3
    nonce = l2.eth.get_transaction_count(account.address)
    authorization = account.sign_authorization(
        {"chainId": rollup.config.l2_chain_id, "address": code_address, "nonce": nonce + 1}
    )
    signed = account.sign_transaction({
        "chainId": rollup.config.l2_chain_id, "nonce": nonce, "to": account.address,
        "gas": 100_000, "maxFeePerGas": FEE_CAP, "maxPriorityFeePerGas": 0,
        "authorizationList": [authorization],
    })
    sent = l2.eth.send_raw_transaction(signed.raw_transaction)
    receipt = l2.eth.wait_for_transaction_receipt(sent)
    if receipt.status != 1:
        raise AttackFailed("the EIP-7702 delegation failed")


def forced_call(rollup: Rollup, account, to: str) -> bytes:
    """A signed L2 transaction from ``account`` calling ``to``, to be forced through L1."""
    return bytes(account.sign_transaction({
        "type": 2, "chainId": rollup.config.l2_chain_id,
        "nonce": rollup.l2_web3.eth.get_transaction_count(account.address),
        "to": to, "value": 0, "gas": CALL_GAS, "maxFeePerGas": FEE_CAP,
        "maxPriorityFeePerGas": 0,
    }).raw_transaction)


def unrunnable_transaction(rollup: Rollup, attacker: DevAccount, index: int) -> bytes:
    """A signed L2 transfer whose nonce is far ahead: valid to queue, never to run."""
    return bytes(Account.from_key(attacker.private_key).sign_transaction({
        "type": 2, "chainId": rollup.config.l2_chain_id, "nonce": 1000 + index,
        "to": attacker.checksum_address, "value": 0, "gas": 21_000,
        "maxFeePerGas": FEE_CAP, "maxPriorityFeePerGas": 0,
    }).raw_transaction)


@dataclass
class ForcingCosts:
    forced: int
    attacker_gas: int
    attacker_wei: int
    sequencer_gas: int
    sequencer_wei: int
    bonds_earned: int

    @property
    def gas_amplification(self) -> float:
        return self.sequencer_gas / self.attacker_gas

    @property
    def net_wei_amplification(self) -> float:
        """The sequencer's cost net of bonds, per wei the attacker spent (bonds lost included)."""
        return (self.sequencer_wei - self.bonds_earned) / self.attacker_wei


def spent_by(l1: Devnet, address: str, since: int) -> tuple:
    """(gas, wei) the transactions ``address`` sent after block ``since`` used on L1."""
    sender = bytes.fromhex(address[2:])
    gas = wei = 0
    for number in range(since + 1, l1.head().block_number + 1):
        block = l1.block(number)
        cumulative = 0  # receipts count gas from the block's start
        for transaction, receipt in zip(block.transactions, l1.block_receipts(block)):
            used, cumulative = receipt.gas_used - cumulative, receipt.gas_used
            if transaction.sender == sender:
                price = min(
                    transaction.max_fee_per_gas,
                    block.header.base_fee_per_gas + transaction.max_priority_fee_per_gas,
                )
                gas, wei = gas + used, wei + used * price
    return gas, wei


def force_unrunnable(
    l1: Devnet, rollup: Rollup, attacker: DevAccount, forced: int,
    max_rounds: Optional[int] = None,
) -> ForcingCosts:
    """
    ``attacker`` forces ``forced`` transactions that can never run; the
    sequencer takes each in, skips it with a proof on L1 and settles, then
    takes the bonds it earned. Both sides' L1 costs, from their receipts.
    """
    start = l1.head().block_number
    for index in range(forced):
        transaction = unrunnable_transaction(rollup, attacker, index)
        rollup.force_include(attacker.checksum_address, transaction)
    l1.increase_time(rollup.config.inclusion_delay + 1)
    rounds = max_rounds if max_rounds is not None else 2 * forced + 2
    for _ in range(rounds):
        if rollup.contract.view("messages_anchored") == rollup.contract.view("message_count"):
            break
        rollup.sequencer.step()
    sequencer = rollup.sequencer.address
    bonds = rollup.contract.view("bonds_owed", sequencer)
    if bonds:
        rollup.contract.transact("withdraw_bonds", sender=sequencer)
    attacker_gas, attacker_fees = spent_by(l1, attacker.checksum_address, start)
    sequencer_gas, sequencer_wei = spent_by(l1, sequencer, start)
    # The attacker's margins over the bond stay owed to it; the bonds are lost to the sequencer.
    return ForcingCosts(
        forced, attacker_gas, attacker_fees + bonds, sequencer_gas, sequencer_wei, bonds
    )


# -- forged state and forged proofs --

def with_payload_fields(encoded: bytes, **fields) -> bytes:
    """An encoded EXECUTE input with execution payload fields replaced."""
    stateless_input = decode(encoded, StatelessInput)
    payload = stateless_input.new_payload_request.execution_payload
    for name, value in fields.items():
        setattr(payload, name, value)
    return encode(stateless_input)


def with_state_root(encoded: bytes, state_root: bytes) -> bytes:
    """The input claiming another post-state root: an invalid block."""
    return with_payload_fields(encoded, state_root=state_root)


def forged_withdrawal_state(withdrawal: Withdrawal) -> Tuple[bytes, List[bytes], List[bytes]]:
    """
    A made-up L2 state in which the message passer recorded ``withdrawal``:
    its root, and the account and storage proofs a claim against it needs.
    Whoever can settle that root can take ``withdrawal.amount`` from the escrow.
    """
    db: dict = {}
    storage = HexaryTrie(db)
    slot = sent_message_slot(withdrawal.message_hash)
    storage[keccak(slot)] = rlp.encode(1)
    state = HexaryTrie(db)
    account = StateAccount(0, 0, storage.root_hash, keccak(b""))
    state[keccak(L2_MESSAGE_PASSER)] = rlp.encode(account)
    proven = prove_account(db, state.root_hash, L2_MESSAGE_PASSER, [int.from_bytes(slot, "big")])
    return state.root_hash, list(proven.proof), list(proven.storage[0].proof)


def forged_attestations(
    data: bytes, provers: ProverSet, keys: Sequence[Tuple[int, SecretKey]]
) -> List[bytes]:
    """
    Attested proofs that the EXECUTE input ``data`` is valid, whatever it
    is, signed with ``keys`` (prover index, secret key) for ``provers``'
    signing domain: what holders of those keys can publish. One per attested
    proof type, as many as keys (at most three); SSZ-encoded.
    """
    stateless_input = decode(data, StatelessInput)
    public_input = public_input_of(
        stateless_input.new_payload_request.hash_tree_root(), stateless_input.chain_config
    )
    forged = []
    for (index, key), name in zip(keys, ATTESTED_TYPES):
        claim = AttestedExecution(proof_type=PROOF_TYPE_IDS[name], public_input=public_input)
        attestation = Attestation(
            prover_index=index, signature=key.sign(compute_signing_root(claim, provers.domain))
        )
        proof = ExecutionProof(
            proof_data=attestation.encode_bytes(),
            proof_type=PROOF_TYPE_IDS[name],
            public_input=public_input,
        )
        forged.append(sign_proof(proof, index, key, provers).encode_bytes())
    return forged

