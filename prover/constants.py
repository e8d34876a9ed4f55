"""
Named constants of the shared prover, each documented once.

Sizes and the domain type are EIP-8025's (consensus-specs ``eip8025``); the
proof type numbers and the pool bounds are this project's.
"""

# EIP-8025: the largest ``proof_data`` a node accepts (300 KiB).
MAX_PROOF_SIZE = 307_200
# EIP-8025: the most proofs kept for one payload, so the most a threshold may ask.
MAX_EXECUTION_PROOFS_PER_PAYLOAD = 4
# EIP-8025's DomainType for signatures over execution proofs.
DOMAIN_EXECUTION_PROOF = bytes.fromhex("0d000000")
# The fork version this devnet signs under (there is one fork; phase0's layout).
PROOF_FORK_VERSION = bytes(4)

# Proof types (EIP-8025's ``ProofType``, a uint8). Re-execution proofs carry the
# whole input and are checked by running the guest again; attestations carry a
# registered prover's signature that it ran the guest. Neither is zero-knowledge.
PROOF_TYPES = {
    1: "reexec-pyevm",
    2: "reexec-revm",
    3: "attested-pyevm",
    4: "attested-revm",
    5: "attested-eels",
}
PROOF_TYPE_IDS = {name: proof_type for proof_type, name in PROOF_TYPES.items()}
DEFAULT_PROOF_TYPES = tuple(PROOF_TYPES.values())
# The working assumption of the seed design: 3 of 5 independent proofs.
DEFAULT_THRESHOLD = 3

# Registered provers: at most this many (EIP-8025's MAX_WHITELISTED_PROVERS).
MAX_PROVERS = 256
# Proofs held back because their payload has not been seen, at most this many.
MAX_QUEUED_PROOFS = 1024
# Proofs held for payloads not seen yet are kept as their bytes, at most this
# many in all and per prover (a prover flooding unseen payloads evicts its own).
MAX_HELD_BYTES = 64 * 2**20
MAX_HELD_BYTES_PER_PROVER = 16 * 2**20
# Payloads whose proofs and inputs the pool remembers, oldest forgotten first
# (an input is up to a few MB, so this bounds the pool's memory too).
MAX_TRACKED_PAYLOADS = 256
# How many times a prover sends a proof again when the node says a revert overtook its judging.
RESENDS = 3
