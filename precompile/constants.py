"""
Named constants of the stateless interface, each documented once.

Payload limits are the consensus-specs Deneb/Electra presets (mainnet); witness
limits bound the ``ExecutionWitness`` lists so their Merkle depth is fixed.
"""

# consensus-specs Bellatrix/Deneb: ExecutionPayload bounds.
MAX_BYTES_PER_TRANSACTION = 2**30
MAX_TRANSACTIONS_PER_PAYLOAD = 2**20
BYTES_PER_LOGS_BLOOM = 256
MAX_EXTRA_DATA_BYTES = 32
# The CL caps withdrawals at 16 per payload; EL blocks are not so bound (the
# EL's own tests carry hundreds), and the guest verifies EL blocks.
MAX_WITHDRAWALS_PER_PAYLOAD = 2**16
MAX_BLOB_COMMITMENTS_PER_BLOCK = 4096

# ExecutionRequests bounds, in bytes of request data: Electra's item caps
# (8192 deposits of 192 bytes; 16 withdrawals of 76; 2 consolidations of 116)
# rounded up to a power of two with room for what a system contract can return.
MAX_DEPOSIT_REQUESTS_BYTES = 2**21
MAX_WITHDRAWAL_REQUESTS_BYTES = 2**16
MAX_CONSOLIDATION_REQUESTS_BYTES = 2**16

# EIP-7685 request type bytes, in the order the requests hash commits to them.
DEPOSIT_REQUEST_TYPE = b"\x00"
WITHDRAWAL_REQUEST_TYPE = b"\x01"
CONSOLIDATION_REQUEST_TYPE = b"\x02"

# ExecutionWitness bounds. A trie node is at most a full branch (17 x 33-byte
# items plus its list prefix) or a leaf holding an account; 4 KiB covers both.
MAX_WITNESS_NODE_BYTES = 2**12
MAX_WITNESS_NODES = 2**20
# Pre-state code may predate EIP-170 in test fixtures, so the bound is loose.
MAX_CODE_BYTES = 2**24
MAX_WITNESS_CODES = 2**16
MAX_HEADER_BYTES = 2**11
# BLOCKHASH reaches back 256 blocks, so no witness needs more ancestors.
MAX_WITNESS_HEADERS = 256

# Two-byte big-endian schema ids that prefix encoded messages, so a reader can
# refuse bytes meant for another message type or version before decoding.
STATELESS_INPUT_SCHEMA_ID = 0x0001
STATELESS_VALIDATION_RESULT_SCHEMA_ID = 0x0002
SCHEMA_ID_BYTES = 2

# ChainConfig.fork: the execution rules a chain runs under.
FORK_CANCUN = 1
FORK_PRAGUE = 2
FORK_NAMES = {FORK_CANCUN: "cancun", FORK_PRAGUE: "prague"}

# Where EXECUTE lives on L1 (a precompile address, as the EIP places it).
EXECUTE_PRECOMPILE_ADDRESS = bytes.fromhex("0000000000000000000000000000000000000101")

# How a node verifies EXECUTE calls: run the guest inline, or count the
# execution proofs in its pool (k of n distinct proof types).
REEXECUTE_MODE, PROOFS_MODE = "reexecute", "proofs"
EXECUTE_MODES = (REEXECUTE_MODE, PROOFS_MODE)
