"""
What a rollup's sequencing committee signs: a certificate over each L2 block
(t of n members; ``Sequencing.vy`` checks it on L1) and a preconfirmation of
each transaction (one member's promise of where the transaction stands).
Members sign with their secp256k1 keys, so L1 checks certificates with
ECRECOVER.
"""

from dataclasses import dataclass
from typing import Any, Dict, List, Sequence, Tuple

from eth_abi import encode as abi_encode
from eth_hash.auto import keccak
from eth_keys import keys
from eth_keys.exceptions import BadSignature
from eth_utils import to_checksum_address

from l1.accounts import DevAccount

# Certificate kinds (Sequencing.vy).
SEQUENCED = 0
SLOT_ENDING = 1
KIND_NAMES = {SEQUENCED: "sequenced", SLOT_ENDING: "slot-ending"}
CERTIFICATE_TAG = keccak(b"native-rollups L2 block certificate")
PRECONFIRMATION_TAG = keccak(b"native-rollups preconfirmation")
NO_L1_PARENT = bytes(32)


class InvalidCertificate(ValueError):
    """A certificate or preconfirmation whose signatures do not hold."""


@dataclass(frozen=True)
class Committee:
    """The sequencing committee: its members' keys (those this process holds) and threshold."""

    members: Tuple[DevAccount, ...]
    threshold: int

    def __post_init__(self) -> None:
        if not 0 < self.threshold <= len(self.members):
            raise ValueError(
                f"a committee of {len(self.members)} needs a threshold from 1 to"
                f" {len(self.members)}, got {self.threshold}"
            )

    @property
    def addresses(self) -> List[str]:
        """Member addresses in ascending order, as the contract stores them."""
        return sorted(
            (member.checksum_address for member in self.members), key=lambda a: int(a, 16)
        )

    @property
    def signers(self) -> List[DevAccount]:
        """The first ``threshold`` members by address: who signs a certificate."""
        ordered = sorted(self.members, key=lambda member: int.from_bytes(member.address, "big"))
        return ordered[: self.threshold]


@dataclass(frozen=True)
class Certificate:
    kind: int
    block_hash: bytes
    block_number: int
    slot: int
    l1_parent: bytes
    # (v, r, s) per signer, in ascending order of signer address.
    signatures: Tuple[Tuple[int, int, int], ...]

    def as_struct(self) -> tuple:
        """``Sequencing.Certificate`` as web3.py encodes it."""
        return (
            self.kind, self.block_hash, self.block_number, self.slot, self.l1_parent,
            [list(signature) for signature in self.signatures],
        )

    @classmethod
    def from_json(cls, answer: Dict[str, Any]) -> "Certificate":
        """A certificate as ``as_json`` wrote it (an L2 node's answer)."""
        kinds = {name: kind for kind, name in KIND_NAMES.items()}
        return cls(
            kinds[answer["kind"]], bytes.fromhex(answer["blockHash"][2:]),
            int(answer["blockNumber"], 16), int(answer["slot"], 16),
            bytes.fromhex(answer["l1Parent"][2:]),
            tuple((int(s["v"], 16), int(s["r"], 16), int(s["s"], 16))
                  for s in answer["signatures"]),
        )

    def as_json(self) -> Dict[str, Any]:
        return {
            "kind": KIND_NAMES[self.kind],
            "blockHash": "0x" + self.block_hash.hex(),
            "blockNumber": hex(self.block_number),
            "slot": hex(self.slot),
            "l1Parent": "0x" + self.l1_parent.hex(),
            "signatures": [
                {"v": hex(v), "r": hex(r), "s": hex(s)} for v, r, s in self.signatures
            ],
        }


def certificate_digest(
    chain_id: int, sequencing: str, kind: int, block_hash: bytes, block_number: int, slot: int,
    l1_parent: bytes,
) -> bytes:
    """What committee members sign for a certificate (``Sequencing.certificate_digest``)."""
    return keccak(abi_encode(
        ["bytes32", "uint256", "address", "uint8", "bytes32", "uint256", "uint256", "bytes32"],
        [CERTIFICATE_TAG, chain_id, sequencing, kind, block_hash, block_number, slot, l1_parent],
    ))


def sign_digest(digest: bytes, signer: DevAccount) -> Tuple[int, int, int]:
    """(v, r, s) as ECRECOVER takes them (v is 27 or 28)."""
    signature = keys.PrivateKey(signer.private_key).sign_msg_hash(digest)
    return signature.v + 27, signature.r, signature.s


def recover(digest: bytes, signature: Sequence[int]) -> bytes:
    """The address that signed ``digest``; InvalidCertificate if none does."""
    v, r, s = signature
    try:
        public_key = keys.Signature(vrs=(v - 27, r, s)).recover_public_key_from_msg_hash(digest)
    except (BadSignature, ValueError) as invalid:
        raise InvalidCertificate(f"a signature does not recover: {invalid}") from invalid
    return public_key.to_canonical_address()


def certify(
    committee: Committee, chain_id: int, sequencing: str, kind: int, block_hash: bytes,
    block_number: int, slot: int, l1_parent: bytes = NO_L1_PARENT,
) -> Certificate:
    """The committee's certificate of an L2 block (its first ``threshold`` members sign)."""
    digest = certificate_digest(
        chain_id, sequencing, kind, block_hash, block_number, slot, l1_parent
    )
    signatures = tuple(sign_digest(digest, member) for member in committee.signers)
    return Certificate(kind, block_hash, block_number, slot, l1_parent, signatures)


@dataclass(frozen=True)
class Preconfirmation:
    """A member's signed promise: this transaction is at this index of this L2 block."""

    transaction_hash: bytes
    block_number: int
    index: int
    slot: int
    signer: str
    signature: Tuple[int, int, int]

    def as_json(self) -> Dict[str, Any]:
        v, r, s = self.signature
        return {
            "transactionHash": "0x" + self.transaction_hash.hex(),
            "blockNumber": hex(self.block_number),
            "transactionIndex": hex(self.index),
            "slot": hex(self.slot),
            "signer": self.signer,
            "signature": {"v": hex(v), "r": hex(r), "s": hex(s)},
        }


def preconfirmation_digest(
    chain_id: int, transaction_hash: bytes, block_number: int, index: int, slot: int
) -> bytes:
    return keccak(abi_encode(
        ["bytes32", "uint256", "bytes32", "uint256", "uint256", "uint256"],
        [PRECONFIRMATION_TAG, chain_id, transaction_hash, block_number, index, slot],
    ))


def preconfirm(
    signer: DevAccount, chain_id: int, transaction_hash: bytes, block_number: int, index: int,
    slot: int,
) -> Preconfirmation:
    digest = preconfirmation_digest(chain_id, transaction_hash, block_number, index, slot)
    return Preconfirmation(
        transaction_hash, block_number, index, slot, signer.checksum_address,
        sign_digest(digest, signer),
    )


def preconfirmation_signer(chain_id: int, preconfirmation: Preconfirmation) -> str:
    """Who really signed ``preconfirmation`` (a client checks it is the claimed signer)."""
    digest = preconfirmation_digest(
        chain_id, preconfirmation.transaction_hash, preconfirmation.block_number,
        preconfirmation.index, preconfirmation.slot,
    )
    return to_checksum_address(recover(digest, preconfirmation.signature))
