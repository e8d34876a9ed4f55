"""``nr``: the native-rollups command line."""

import argparse
import os
import sys
import time
from pathlib import Path
from typing import List, Optional

from precompile.constants import EXECUTE_MODES, REEXECUTE_MODE

# Engine names, as precompile.engines registers them; "all" runs each and compares.
ENGINES = ("pyevm", "revm", "eels")


# anvil's flags a user may reach for that these commands answer differently.
ANVIL_FLAGS_ANSWERED_ELSEWHERE = {
    "--fork-url": "forking a live chain is not supported: the devnet starts from its own genesis",
    "--fork-block-number": "forking a live chain is not supported",
    "--dump-state": "use --state PATH: the chain is loaded from PATH at start and saved there"
    " on exit and every --state-interval seconds",
    "--load-state": "use --state PATH: the chain is loaded from PATH at start and saved there"
    " on exit and every --state-interval seconds",
    "--no-mining": "send evm_setAutomine false after start (or use --block-time N)",
}


def anvil_flag_hint(argv: List[str]) -> Optional[str]:
    """What to use instead of an anvil flag ``nr devnet``/``nr up`` do not take, if one is given."""
    if not argv or argv[0] not in ("devnet", "up"):
        return None
    for argument in argv[1:]:
        flag = argument.split("=", 1)[0]
        if flag in ANVIL_FLAGS_ANSWERED_ELSEWHERE:
            return f"nr {argv[0]}: {flag} is anvil's; {ANVIL_FLAGS_ANSWERED_ELSEWHERE[flag]}"
    return None


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    hint = anvil_flag_hint(argv)
    if hint is not None:
        print(hint, file=sys.stderr)
        return 2
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    return args.run(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nr",
        description="Native rollups: the EXECUTE precompile, stateless validation and tools.",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    conformance = commands.add_parser(
        "conformance",
        help="run blockchain-test fixtures through witness generation and the stateless guest",
        description=(
            "Walk blockchain-test JSON fixtures (ethereum/tests BlockchainTests format). For "
            "every block: rebuild the parent state, generate the execution witness, run the "
            "stateless guest on the encoded StatelessInput and compare with the fixture."
        ),
    )
    conformance.add_argument(
        "directory", type=Path, metavar="DIR", help="fixture file or directory"
    )
    conformance.add_argument(
        "--engine",
        choices=(*ENGINES, "all"),
        default="pyevm",
        help="execution engine; 'all' runs every engine and fails on any disagreement "
        "(default: pyevm)",
    )
    conformance.add_argument(
        "--jobs", "-j", type=int, default=0, help="worker processes (default: one per core)"
    )
    conformance.add_argument(
        "--verbose", "-v", action="store_true", help="list every case, not only failures"
    )
    conformance.add_argument(
        "--accelerate",
        action="store_true",
        help="run under the devnet's speed-ups (guest and witness host), to check they change "
        "no verdict (default: the rules as written, without them)",
    )
    conformance.add_argument(
        "--fork",
        metavar="FORKS",
        help="comma-separated forks to check, e.g. Prague,Cancun (default: every fork this "
        "project implements); cases of other forks are skipped with the reason",
    )
    conformance.add_argument(
        "--report",
        type=Path,
        metavar="FILE",
        help="write every case (verdict, engines, seconds, reason) to FILE as JSON, as the run "
        "goes",
    )
    conformance.add_argument(
        "--resume",
        type=Path,
        metavar="FILE",
        help="continue an interrupted run from its report: files done there are not run again, "
        "their cases count in the totals, and FILE is kept up to date (unless --report)",
    )
    conformance.set_defaults(run=run_conformance_command)

    compare = commands.add_parser(
        "compare",
        help="trust-stage comparison by drills: derived stages, rosettes, JSON, Markdown, charts",
        description=(
            "Deploy each configuration on fresh embedded devnets, run the same drills on each "
            "(an invalid state root, an upgrade taking the escrow, the upgrade race, censorship, "
            "a silent sequencer, the Security Council below, at and above 75%, the walkaway "
            "test, a pause, a freeze, proofs mode, the rollup-security attacks), and derive each "
            "one's "
            "L2BEAT stage and risk rosette from what the drills showed. Writes report.json, "
            "report.md and PNG charts to --out."
        ),
    )
    compare.add_argument(
        "--stages", metavar="0,1,2",
        help="demo presets to compare (default 0,1,2 when no --config is given)",
    )
    compare.add_argument(
        "--config", type=Path, action="append", default=[], metavar="FILE",
        help="a configuration file: {\"base\": 1, \"upgrade_delay\": 176400, ...}, or a bundled"
        " one: regulated, council-freeze (repeatable; compared after --stages, each against the"
        " first configuration)",
    )
    compare.add_argument(
        "--drills", metavar="NAME,...", help="run only these drills (default: all)"
    )
    compare.add_argument(
        "--out", type=Path, default=Path("nr-compare"), metavar="DIR",
        help="where report.json, report.md and the charts go (default ./nr-compare)",
    )
    compare.add_argument(
        "--member-failure", type=probability, default=0.1, metavar="P",
        help="failure model: each council member's (and the operator's) failure probability"
        " (default 0.1)",
    )
    compare.add_argument(
        "--proof-failure", type=probability, default=0.01, metavar="P",
        help="failure model: the proof system's failure probability (default 0.01)",
    )
    add_accelerate_option(compare)
    compare.set_defaults(run=run_compare_command)

    devnet = commands.add_parser(
        "devnet",
        help="L1 devnet: anvil-compatible JSON-RPC running the NativeRollups fork",
        description=(
            "An L1 devnet running the NativeRollups fork (Prague + EXECUTE), serving JSON-RPC "
            "over HTTP and WebSocket on one port. Flags follow anvil's names."
        ),
    )
    devnet.add_argument("--host", default="127.0.0.1", help="address to listen on")
    devnet.add_argument("--port", "-p", type=port_number, default=8545, help="port (default 8545)")
    devnet.add_argument(
        "--chain-id", type=chain_id_argument, default=31337, help="chain id (default 31337)"
    )
    devnet.add_argument(
        "--accounts", "-a", type=positive_int, default=10, help="prefunded accounts to derive"
    )
    devnet.add_argument(
        "--balance", type=positive_int, default=10_000, help="ether per prefunded account"
    )
    devnet.add_argument(
        "--mnemonic", "-m", default=None, help="BIP-39 mnemonic (default: the standard test one)"
    )
    devnet.add_argument(
        "--block-time",
        "-b",
        type=block_interval,
        default=None,
        help="mine every N seconds (default: a block per transaction)",
    )
    devnet.add_argument(
        "--gas-limit",
        type=block_gas_limit,
        default=30_000_000,
        help="block gas limit (default 30000000; at least 21000, one transfer)",
    )
    devnet.add_argument(
        "--rpc-gas-cap",
        type=non_negative_int,
        default=None,
        help="most gas an eth_call or estimate may use (default: the block gas limit; 0: none)",
    )
    devnet.add_argument(
        "--call-timeout",
        type=non_negative_float,
        default=5.0,
        help="seconds an eth_call or estimate may run (default 5; 0: no limit)",
    )
    add_execute_options(devnet)
    devnet.add_argument(
        "--state",
        metavar="PATH",
        default=None,
        help="load the chain from PATH at start (if it exists); save it there on exit and "
        "every --state-interval seconds, atomically",
    )
    devnet.add_argument(
        "--state-interval",
        type=positive_float,
        default=30.0,
        help="seconds between state saves (default 30)",
    )
    devnet.add_argument("--silent", action="store_true", help="print nothing at start")
    add_accelerate_option(devnet)
    devnet.set_defaults(run=run_devnet_command)

    up = commands.add_parser(
        "up",
        help="L1 devnet + shared prover + one demo rollup per stage, served and settling",
        description=(
            "Start the L1 devnet and one demo rollup per trust stage (presets 0, 1, 2), each "
            "with its own L2 JSON-RPC endpoint and a sequencer that takes in L1 messages and "
            "settles every L2 block on L1 through EXECUTE, and the shared prover, which proves "
            "every EXECUTE input the L1 meets and publishes the proofs to it (in proofs mode the "
            "L1 settles on them). Prints every endpoint, chain id and contract address. Ctrl-C "
            "stops everything."
        ),
    )
    up.add_argument("--host", default="127.0.0.1", help="address to listen on")
    up.add_argument(
        "--port", "-p", type=port_number, default=8545,
        help="L1 port (default 8545); the rollups take the ports after it",
    )
    up.add_argument(
        "--stages", type=stage_list, default="0,1,2",
        help="comma-separated stages to run, or preset files (default 0,1,2)",
    )
    add_execute_options(up)
    up.add_argument(
        "--prover-workers", type=positive_int, default=2,
        help="worker processes of the shared prover nr up runs (default 2)",
    )
    add_rollup_options(up)
    up.add_argument(
        "--slot-time", type=positive_int, default=12,
        help="seconds per L1 slot, the clock of the rollups' slot sequencing (default 12)",
    )
    up.add_argument(
        "--slot-ending-at", type=fraction, default=2 / 3,
        help="point of each slot at which the sequencers release their slot-ending blocks"
        " (default 0.67)",
    )
    up.add_argument(
        "--plain-sequencing", action="store_true",
        help="rollups without slot sequencing: no certificates, preconfirmations or based"
        " blocks; the sequencer key settles each L2 block directly",
    )
    add_accelerate_option(up)
    up.set_defaults(run=run_up_command, reexecution_by_default=True)

    deploy = commands.add_parser(
        "deploy",
        help="deploy a demo rollup of a stage to a running L1 and run its L2 node",
        description=(
            "Deploy a stage preset's contracts (NativeRollup, Governance, BugRecord) to the L1 "
            "at --l1 (an nr devnet: it needs EXECUTE), then serve the rollup's L2 node on "
            "--port and run its sequencer."
        ),
    )
    deploy.add_argument(
        "--stage", required=True, help="0, 1 or 2, or the path of a preset JSON file"
    )
    deploy.add_argument("--l1", default="http://127.0.0.1:8545", help="L1 JSON-RPC URL")
    deploy.add_argument("--host", default="127.0.0.1", help="address the L2 node listens on")
    deploy.add_argument(
        "--port", "-p", type=port_number, default=8546, help="L2 port (default 8546)"
    )
    deploy.add_argument(
        "--reuse-chain-id",
        action="store_true",
        help="deploy even if a rollup on this L1 already uses the preset's L2 chain id "
        "(each would accept L2 transactions signed for the other)",
    )
    add_rollup_options(deploy)
    deploy.set_defaults(run=run_deploy_command)

    withdraw = commands.add_parser(
        "withdraw",
        help="start an L2 -> L1 withdrawal on a rollup's L2 (then nr claim it on L1)",
        description=(
            "Send initiate_withdrawal to the L2 message passer of the rollup at --l2, signed "
            "with --key (default: account 0 of the standard test mnemonic, funded on every chain). "
            "Prints the L2 transaction hash that nr claim takes."
        ),
    )
    add_signer_options(withdraw)
    withdraw.add_argument(
        "--amount", type=wei_amount, required=True, help="wei, or with a unit: 0.5ether, 10gwei"
    )
    withdraw.add_argument("--to", default=None, help="L1 recipient (default: the sender)")
    withdraw.set_defaults(run=run_withdraw_command)

    claim = commands.add_parser(
        "claim",
        help="claim a settled, final withdrawal on L1 with proofs from the L2 endpoint",
        description=(
            "Prove the withdrawal L2 transaction --tx started against the latest L2 block "
            "settled on L1 (eth_getProof on the L2 endpoint) and claim it on the rollup's L1 "
            "contract, which pays the recipient once the finality delay has passed."
        ),
    )
    claim.add_argument("--l1", default="http://127.0.0.1:8545", help="L1 JSON-RPC URL")
    add_signer_options(claim)
    claim.add_argument("--tx", required=True, help="the L2 transaction hash nr withdraw printed")
    claim.set_defaults(run=run_claim_command)

    build_based = commands.add_parser(
        "build-based",
        help="build a based block of signed L2 transactions and land it on L1",
        description=(
            "Ask a composable rollup's L2 endpoint to build a based block of the --tx "
            "transactions on its latest slot-ending block (nr_buildBasedBlock), then land it "
            "on L1 through Sequencing.build_based, paid by --key. L1 takes it only in the "
            "slot-ending certificate's slot and on its L1 parent; in based mode (the sequencer "
            "silent for over 10 slots) anyone's based block goes on the settled head."
        ),
    )
    build_based.add_argument("--l1", default="http://127.0.0.1:8545", help="L1 JSON-RPC URL")
    add_signer_options(build_based)
    build_based.add_argument(
        "--tx", action="append", default=[], metavar="RAW",
        help="a signed L2 transaction, 0x-hex (repeatable; none: an empty based block)",
    )
    build_based.set_defaults(run=run_build_based_command)

    status = commands.add_parser(
        "status",
        help="where a rollup stands: its L2 head, the last L2 block settled on L1, the queue",
        description=(
            "Ask a rollup's L2 endpoint (nr up or nr deploy serve one per rollup) for "
            "nr_settlementStatus and print it: the L2 head, the last L2 block settled on L1 "
            "(number, hash, state root, when), how many blocks wait, and the L1 message queue."
        ),
    )
    status.add_argument(
        "--l2", default="http://127.0.0.1:8546", help="the rollup's L2 JSON-RPC URL"
    )
    status.add_argument("--json", action="store_true", help="print the raw JSON answer")
    status.set_defaults(run=run_status_command)

    prover = commands.add_parser(
        "prover",
        help="run the shared prover against an L1: prove EXECUTE inputs, publish the proofs",
        description=(
            "Follow an L1 node (nr devnet) over WebSocket, prove every EXECUTE input it has met "
            "with each chosen proof type, sign the proofs with this prover's registered BLS key "
            "and publish them on the node's execution_proof topic. reexec-* proofs carry the "
            "input and are checked by re-running it; attested-* proofs are signatures of a "
            "registered prover (trust in the signer set), not zero-knowledge proofs."
        ),
    )
    prover.add_argument("--l1", default="http://127.0.0.1:8545", help="L1 JSON-RPC URL")
    prover.add_argument(
        "--proof-types",
        default="all",
        help="comma-separated proof types to produce (default: all five)",
    )
    prover.add_argument(
        "--prover-index",
        type=int,
        default=0,
        help="this prover's index in the L1's registry (default 0)",
    )
    prover.add_argument(
        "--prover-key",
        metavar="HEX",
        default=None,
        help="the BLS secret key registered at --prover-index (nr devnet prints them); "
        "default: the demo key, which only a devnet started with --deterministic-provers takes",
    )
    prover.add_argument(
        "--workers", type=positive_int, default=None,
        help="local worker processes (default: one per core)",
    )
    prover.add_argument(
        "--ray",
        metavar="ADDRESS",
        default=None,
        help="run proving jobs on a Ray cluster at ADDRESS instead ('local' starts one here)",
    )
    prover.set_defaults(run=run_prover_command)

    fuzz = commands.add_parser(
        "fuzz",
        help="differential fuzzing of EXECUTE across pyevm, revm and EELS",
        description=(
            "Draw random L2 blocks (contracts from an opcode grammar, transactions of every "
            "type an L2 takes, random pre-states), run each through every engine, which must "
            "agree, then every single mutation of its EXECUTE input, which every engine must "
            "refuse. Each disagreement or accepted mutation is saved as a blockchain-test "
            "fixture that nr conformance replays. Exits 1 if anything was found."
        ),
    )
    fuzz.add_argument(
        "--seed", type=int, default=None,
        help="where the draw starts (default: a random one, printed; the same seed draws the "
        "same blocks)",
    )
    fuzz.add_argument(
        "--seconds", type=positive_float, default=60.0, help="how long to run (default 60)"
    )
    fuzz.add_argument(
        "--rounds", type=positive_int, default=None, help="stop after this many blocks instead"
    )
    fuzz.add_argument(
        "--engine", default="all", choices=[*ENGINES, "all"],
        help="engines to compare (default all; one engine checks only mutations)",
    )
    fuzz.add_argument(
        "--out", type=Path, default=Path("nr-fuzz"),
        help="where findings are saved as fixtures (default ./nr-fuzz)",
    )
    fuzz.set_defaults(run=run_fuzz_command)

    bench = commands.add_parser("bench", help="benchmarks")
    benches = bench.add_subparsers(title="benchmarks", metavar="BENCHMARK")
    execute = benches.add_parser(
        "execute",
        help="stateless verification throughput (Mgas/s) per engine",
        description=(
            "Build a compute-heavy and a storage-heavy L2 block of about --gas gas, then verify "
            "each end to end from its encoded StatelessInput with every engine. The raw pyrevm "
            "interpreter running the same call is measured in the same run as the baseline."
        ),
    )
    execute.add_argument(
        "--gas", type=positive_int, default=30_000_000, help="gas per block (default: 30000000)"
    )
    execute.add_argument(
        "--engine",
        choices=(*ENGINES, "all"),
        default="all",
        help="engine to measure (default: all)",
    )
    execute.add_argument(
        "--profile",
        choices=ENGINES,
        action="append",
        default=[],
        help="also print where that engine spends its time (repeatable)",
    )
    add_accelerate_option(execute)
    execute.set_defaults(run=run_bench_execute_command)
    forcing = benches.add_parser(
        "forcing",
        help="what forcing transactions costs an attacker and the sequencer (L1 gas, ether)",
        description=(
            "Force transactions that can never run on a Stage 1 demo rollup and let the "
            "sequencer skip and settle them; prints both sides' L1 gas and ether and the "
            "amplification, net of the bonds forcing posts."
        ),
    )
    forcing.add_argument(
        "--forced", type=positive_int, default=4, help="forced transactions (default 4)"
    )
    add_accelerate_option(forcing)
    forcing.set_defaults(run=run_bench_forcing_command)
    prove = benches.add_parser(
        "prove",
        help="prove and verify time per proof type against L2 gas, proof size, provers needed",
        description=(
            "Prove compute-heavy L2 blocks of each --gas size with every proof type and verify "
            "the proofs again, printing prove and verify time, proof size and how many parallel "
            "provers a 1-2 s (no ePBS) or 6-9 s (ePBS) proving window needs; plus BLS sign, "
            "verify and batched-verify cost."
        ),
    )
    prove.add_argument(
        "--gas",
        type=gas_points,
        default=(1_000_000, 10_000_000, 30_000_000),
        help="comma-separated L2 block sizes in Mgas (default 1,10,30)",
    )
    prove.add_argument(
        "--proof-types", default="all", help="comma-separated proof types (default: all five)"
    )
    add_accelerate_option(prove)
    prove.set_defaults(run=run_bench_prove_command)
    rpc = benches.add_parser(
        "rpc",
        help="transfers with automine: nr devnet vs anvil vs ganache",
        description=(
            "Send transfers to nr devnet, anvil and ganache (the npm peers bootstrap.sh "
            "installs), running side by side and taking turns, in two workloads (client-signed, "
            "one at a time; node-signed, up to 100 sent then their receipts); prints tx/s, the "
            "spread over rounds and the ratios between nodes, a table per workload."
        ),
    )
    rpc.add_argument(
        "--transactions", "-n", type=positive_int, default=200, help="transfers per node"
    )
    rpc.add_argument(
        "--rounds",
        type=positive_int,
        default=5,
        help="turns the nodes take, each sending its share of the transfers (default: 5)",
    )
    rpc.add_argument(
        "--node",
        action="append",
        choices=("nr devnet", "anvil", "ganache"),
        default=None,
        help="node to measure (repeatable; default: all three)",
    )
    rpc.add_argument(
        "--workload",
        choices=("client-signed", "node-signed", "both"),
        default="both",
        help="client-signed: web3.py signs, sends, waits for each receipt; node-signed:"
        " eth_sendTransaction from an unlocked account, up to 100 sent then their receipts"
        " (default: both)",
    )
    add_accelerate_option(rpc)
    rpc.set_defaults(run=run_bench_rpc_command)
    plugin_bench = benches.add_parser(
        "plugin",
        help="the pytest plugin's cost per test, beside titanoboa and ape",
        description=(
            "Run the example project's 50 tests (examples/test_overhead.py: 25 touching only "
            "L1, 25 a rollup's L2) under the pytest plugin and, given their environments' "
            "interpreters, the same tests on titanoboa and on ape, taking turns; prints each "
            "harness's time per test (setup + call + teardown as pytest reports it) and how it "
            "compares with the plugin's."
        ),
    )
    plugin_bench.add_argument(
        "--rounds",
        type=positive_int,
        default=2,
        help="turns the harnesses take, each running the 50 tests (default: 2)",
    )
    plugin_bench.add_argument(
        "--titanoboa",
        metavar="PYTHON",
        default=None,
        help="the interpreter of an environment with titanoboa and pytest installed",
    )
    plugin_bench.add_argument(
        "--ape",
        metavar="PYTHON",
        default=None,
        help="the interpreter of an environment with eth-ape, ape-vyper and vyper installed"
        " (its ape beside it)",
    )
    plugin_bench.set_defaults(run=run_bench_plugin_command)
    composability_bench = benches.add_parser(
        "composability",
        help="preconfirmation and settlement latency, based blocks landing in their slot",
        description=(
            "A composable rollup on an in-process L1 in slot mode, on the wall clock: a client "
            "sends L2 transfers over JSON-RPC and polls nr_getPreconfirmation; each slot the "
            "sequencer ends the slot and a builder lands a based block (every tenth a "
            "cross-domain round trip). Prints preconfirmation latency p50/p99, latency to L1 "
            "settlement, the share of based blocks in their slot, L1 gas per based block."
        ),
    )
    composability_bench.add_argument(
        "--slots", type=positive_int, default=100, help="slots to run (default 100)"
    )
    composability_bench.add_argument(
        "--slot-time", type=positive_int, default=1, help="seconds per L1 slot (default 1)"
    )
    composability_bench.add_argument(
        "--rate", type=positive_float, default=2.0, help="L2 transactions per second (default 2)"
    )
    composability_bench.add_argument(
        "--slot-ending-at", type=fraction, default=0.85,
        help="point of the slot at which the sequencer releases the slot-ending block"
        " (default 0.85)",
    )
    composability_bench.add_argument(
        "--block-interval", type=non_negative_float, default=None,
        help="seconds between sequencing blocks; transactions are preconfirmed as they arrive"
        " into the open block (default: the slot over the blocks its L1 block can settle, at"
        " least 0.25; 0: a block per arriving transaction, preconfirmed once mined)",
    )
    add_accelerate_option(composability_bench)
    composability_bench.set_defaults(run=run_bench_composability_command)
    bench.set_defaults(run=lambda args: bench.print_help() or 2)

    composability = commands.add_parser(
        "composability",
        help="synchronous composability: a few slots drawn as a timeline (--demo)",
        description=(
            "--demo runs a composable rollup through a few slots on an in-process L1 in slot "
            "mode: sequenced blocks, slot-ending and based blocks, an atomic cross-domain swap, "
            "a deposit spent and withdrawn in one L1 transaction, an L1 contract calling L2 "
            "which calls L1 back in one L1 transaction, a missed slot, the sequencer "
            "silent until the rollup falls back to based mode, and its return. Writes "
            "timeline.png, timeline.html and slots.json."
        ),
    )
    composability.add_argument("--demo", action="store_true", help="run the demo's slots")
    composability.add_argument(
        "--out", type=Path, default=Path("composability-demo"),
        help="directory for the timeline (default: ./composability-demo)",
    )
    add_accelerate_option(composability)
    composability.set_defaults(run=run_composability_command)
    return parser


def add_accelerate_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-accelerate",
        dest="accelerate",
        action="store_false",
        help="leave the speed-ups off (faster library stand-ins, interpreter loop, warm state); "
        "they are on by default here and never change a result",
    )


def switch_on_speed_ups(args: argparse.Namespace) -> None:
    """The speed-ups this command runs with: on unless --no-accelerate."""
    if getattr(args, "accelerate", False):
        from l1 import accel

        accel.enable()


# The least gas a block can hold a transaction with (one plain transfer).
MIN_BLOCK_GAS_LIMIT = 21_000


def block_gas_limit(text: str) -> int:
    gas = positive_int(text)
    if gas < MIN_BLOCK_GAS_LIMIT:
        raise argparse.ArgumentTypeError(
            f"a block gas limit below {MIN_BLOCK_GAS_LIMIT} holds no transaction, got {gas}"
        )
    return gas


def chain_id_argument(text: str) -> int:
    from l1.interface import InvalidArgument
    from l1.node.config import check_chain_id

    chain_id = positive_int(text)
    try:
        check_chain_id(chain_id)
    except InvalidArgument as invalid:
        raise argparse.ArgumentTypeError(str(invalid)) from None
    return chain_id


def port_number(text: str) -> int:
    port = positive_int(text)
    if port > 65535:
        raise argparse.ArgumentTypeError(f"port must be at most 65535, got {port}")
    return port


def number(parse, kind: str, acceptable, requirement: str):
    """An argparse type: ``parse`` the text as ``kind`` and refuse what is not ``acceptable``."""

    def parse_number(text: str):
        try:
            value = parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {kind}") from None
        if not acceptable(value):
            raise argparse.ArgumentTypeError(f"{requirement}, got {value}")
        return value

    return parse_number


def integer(text: str) -> int:
    return int(text.replace("_", ""))


positive_float = number(float, "a number", lambda value: value > 0, "must be positive")
# An interval between blocks (as evm_setIntervalMining takes it): at most 2**32 seconds.
block_interval = number(
    float, "a number", lambda value: 0 < value <= 2**32,
    "must be more than 0 and at most 2**32 seconds",
)
positive_int = number(integer, "an integer", lambda value: value > 0, "must be positive")
non_negative_float = number(float, "a number", lambda value: value >= 0, "must be zero or more")
non_negative_int = number(integer, "an integer", lambda value: value >= 0, "must be zero or more")
fraction = number(float, "a number", lambda value: 0 < value < 1, "must be between 0 and 1")


def threshold_fraction(text: str) -> tuple:
    """``K/N``: K of N, 1 <= K <= N."""
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not K/N, e.g. 3/5") from None
    if not 1 <= k <= n:
        raise argparse.ArgumentTypeError(f"{text!r}: need 1 <= K <= N")
    return k, n


def execute_settings(args: argparse.Namespace) -> dict:
    """
    DevnetConfig fields for --engine, --execute-mode, --threshold, --proof-types
    and --provers; ``ValueError`` naming the flag when they do not fit together.
    """
    from precompile.execute import ExecuteParameters
    from prover.constants import MAX_EXECUTION_PROOFS_PER_PAYLOAD
    from prover.pool import REEXECUTION
    from prover.proof_types import proof_type_names

    proof_types = proof_type_names(args.proof_types)
    k, n = args.threshold
    if n != len(proof_types):
        raise ValueError(
            f"--threshold {k}/{n}: N must be the number of accepted proof types"
            f" ({len(proof_types)}: {', '.join(proof_types)})"
        )
    if k > MAX_EXECUTION_PROOFS_PER_PAYLOAD:
        raise ValueError(
            f"--threshold {k}/{n}: a pool keeps at most MAX_EXECUTION_PROOFS_PER_PAYLOAD"
            f" ({MAX_EXECUTION_PROOFS_PER_PAYLOAD}) proofs per payload"
        )
    requires_reexecution = args.require_reexecution
    if requires_reexecution is None:
        requires_reexecution = getattr(args, "reexecution_by_default", False)
    if requires_reexecution and not any(t.startswith(REEXECUTION) for t in proof_types):
        raise ValueError(
            "--require-reexecution: no re-execution type among --proof-types"
            f" ({', '.join(proof_types)})"
        )
    return {
        "execute": ExecuteParameters(
            engine=args.engine,
            mode=args.execute_mode,
            proof_threshold=k,
            proof_requires_reexecution=requires_reexecution,
        ),
        "proof_types": proof_types,
        "provers": args.provers,
        "deterministic_provers": args.deterministic_provers,
    }


def run_devnet_command(args: argparse.Namespace) -> int:
    from l1.accounts import DEFAULT_MNEMONIC, DERIVATION_PATH, InvalidMnemonic
    from l1.node import Devnet, DevnetConfig, InvalidState
    from l1.server import serve_forever

    switch_on_speed_ups(args)
    try:
        config = DevnetConfig(
            chain_id=args.chain_id,
            accounts=args.accounts,
            balance_ether=args.balance,
            mnemonic=args.mnemonic or DEFAULT_MNEMONIC,
            gas_limit=args.gas_limit,
            rpc_gas_cap=args.rpc_gas_cap,
            call_timeout=args.call_timeout,
            block_time=args.block_time,
            **execute_settings(args),
        )
        devnet = Devnet(config)
        if args.state and os.path.isdir(args.state):
            raise ValueError(f"--state {args.state} is a directory: name a file")
        if args.state and os.path.exists(args.state):
            with open(args.state, "rb") as file:
                devnet.load_state(file.read())
    except (InvalidMnemonic, InvalidState, ValueError) as error:
        print(f"nr devnet: {error}", file=sys.stderr)
        return 2
    if not args.silent:
        print(devnet_banner(devnet, DERIVATION_PATH, args), flush=True)
    try:
        serve_forever(
            devnet,
            args.host,
            args.port,
            state_path=args.state,
            state_interval=args.state_interval,
        )
    except OSError as error:
        print(f"nr devnet: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


def add_execute_options(parser: argparse.ArgumentParser) -> None:
    """How the L1 verifies EXECUTE: engine, mode, and in proofs mode what it counts."""
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default="pyevm",
        help="engine EXECUTE verifies L2 blocks with (default: pyevm)",
    )
    parser.add_argument(
        "--execute-mode",
        choices=EXECUTE_MODES,
        default=REEXECUTE_MODE,
        help="how EXECUTE verifies: re-run the L2 block (default), or accept it once k of n "
        "execution proofs of distinct types are in this node's proof pool",
    )
    parser.add_argument(
        "--threshold",
        type=threshold_fraction,
        default=(3, 5),
        metavar="K/N",
        help="proofs mode: K distinct proof types out of the N accepted (default 3/5)",
    )
    parser.add_argument(
        "--proof-types",
        default="all",
        help="comma-separated proof types the pool accepts (default: all five: reexec-pyevm, "
        "reexec-revm, attested-pyevm, attested-revm, attested-eels)",
    )
    parser.add_argument(
        "--provers",
        type=positive_int,
        default=5,
        help="registered provers that may publish proofs (default 5; fresh BLS keys each start)",
    )
    parser.add_argument(
        "--require-reexecution",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="proofs mode: one of the K proofs must be a re-execution proof, so signing keys "
        "alone never vouch for a block (default: on for nr up, off for nr devnet)",
    )
    parser.add_argument(
        "--deterministic-provers",
        action="store_true",
        help="register the well-known demo prover keys instead of fresh ones: UNSAFE, anyone "
        "can derive them and sign proofs for any block (for external nr prover processes)",
    )


def add_rollup_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--settle-interval", type=positive_float, default=2.0,
        help="seconds between sequencer rounds (default 2)",
    )
    parser.add_argument(
        "--print-presets", action="store_true", help="print the stage presets in use"
    )


def stage_list(text: str) -> tuple:
    """``0,1,2`` or preset paths, each checked now so a bad one fails before anything starts."""
    from rollup.stages import InvalidPreset, load_preset

    try:
        return tuple(load_preset(item.strip()) for item in text.split(",") if item.strip())
    except InvalidPreset as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def run_up_command(args: argparse.Namespace) -> int:
    try:
        return start_up_and_serve(args)
    except KeyboardInterrupt:  # Ctrl-C while starting; once serving, SIGINT stops the service
        print("nr up: interrupted while starting", file=sys.stderr)
        return 130


def start_up_and_serve(args: argparse.Namespace) -> int:
    """``nr up``: build the L1 and the rollups, then serve them with a shared prover."""
    from l1.accounts import DERIVATION_PATH
    from l1.node import Devnet, DevnetConfig
    from prover.service import ProverError, ProverService
    from prover.workers import LocalWorkers
    from rollup.composable import ComposableRollup, slot_friendly
    from rollup.rollup import Rollup
    from rollup.service import Endpoint, rollup_banner

    switch_on_speed_ups(args)
    presets = args.stages
    started = time.monotonic()
    try:
        l1 = Devnet(DevnetConfig(**execute_settings(args), slot_time=args.slot_time))
    except ValueError as error:
        print(f"nr up: {error}", file=sys.stderr)
        return 2
    l1_web3 = l1.web3()
    if args.plain_sequencing:
        rollups = [Rollup.deploy(l1_web3, preset) for preset in presets]
    else:
        rollups = [
            ComposableRollup.deploy(l1_web3, slot_friendly(preset), slot_time=args.slot_time)
            for preset in presets
        ]
        for rollup in rollups:
            rollup.sequencer.slot_ending_at = args.slot_ending_at
    ports = [args.port + 1 + index for index in range(len(rollups))]
    l1_url = f"http://{args.host}:{args.port}"
    args.balance = l1.config.balance_ether

    def announce() -> None:
        print(devnet_banner(l1, DERIVATION_PATH, args), flush=True)
        print(rollup_banner(rollups, args.host, ports, l1_url), flush=True)
        if args.print_presets:
            for rollup in rollups:
                print(rollup.config.to_json())
        print(f"\nReady in {time.monotonic() - started:.1f}s", flush=True)

    endpoints = [Endpoint(l1, args.port)] + [
        Endpoint.of_rollup(rollup, port) for rollup, port in zip(rollups, ports)
    ]
    workers = LocalWorkers(args.prover_workers)
    local_host = "127.0.0.1" if args.host in ("0.0.0.0", "::", "") else args.host
    prover = ProverService(
        f"http://{local_host}:{args.port}",
        l1.proof_pool.accepted_types,
        workers,
        key=l1.prover_keys[0],
        log=lambda line: print(f"prover: {line}", flush=True),
        shortfall_hint="nr up runs no other prover, so this L2 block will not settle with"
        " --threshold {}/{}: start nr up with a lower --threshold".format(*args.threshold),
    )

    async def run_prover() -> None:
        try:
            await prover.run()
        except ProverError as error:
            print(f"nr up: shared prover stopped: {error}", flush=True)

    try:
        return serve_until_stopped("up", endpoints, rollups, args, announce, [run_prover])
    finally:
        workers.close()


def run_deploy_command(args: argparse.Namespace) -> int:
    from web3 import Web3

    from l1.peers import cannot_listen
    from rollup.l1_contract import RollupError
    from rollup.registry import rollups_with_chain_id
    from rollup.rollup import Rollup
    from rollup.service import Endpoint, rollup_banner
    from rollup.stages import InvalidPreset, load_preset

    started = time.monotonic()
    try:
        preset = load_preset(args.stage)
    except InvalidPreset as error:
        print(f"nr deploy: {error}", file=sys.stderr)
        return 2
    # Before anything lands on L1: a rollup deployed with no node to serve it is litter.
    unusable = cannot_listen(args.host, args.port)
    if unusable is not None:
        print(f"nr deploy: cannot listen on {args.host}:{args.port}: {unusable}", file=sys.stderr)
        return 1
    l1_web3 = Web3(Web3.HTTPProvider(args.l1))
    if not l1_web3.is_connected():
        print(f"nr deploy: no L1 answers at {args.l1}", file=sys.stderr)
        return 1
    taken = rollups_with_chain_id(l1_web3, preset.l2_chain_id)
    if taken and not args.reuse_chain_id:
        print(
            f"nr deploy: L2 chain id {preset.l2_chain_id} is taken on this L1 by the rollup at "
            f"{taken[0]}; a second rollup with it would accept L2 transactions signed for the "
            "first. Give the preset another l2_chain_id, or pass --reuse-chain-id.",
            file=sys.stderr,
        )
        return 1
    try:
        rollup = Rollup.deploy(l1_web3, preset)
    except RollupError as error:
        print(f"nr deploy: {error}", file=sys.stderr)
        return 1

    def announce() -> None:
        print(rollup_banner([rollup], args.host, [args.port], args.l1), flush=True)
        if args.print_presets:
            print(rollup.config.to_json())
        print(f"\nReady in {time.monotonic() - started:.1f}s", flush=True)

    endpoints = [Endpoint.of_rollup(rollup, args.port)]
    return serve_until_stopped("deploy", endpoints, [rollup], args, announce)


def add_signer_options(parser: argparse.ArgumentParser) -> None:
    """--l2 (a rollup's L2 endpoint) and --key (who signs), for nr withdraw and nr claim."""
    parser.add_argument("--l2", default="http://127.0.0.1:8546", help="the rollup's L2 URL")
    parser.add_argument("--key", default=None, help="private key (default: test account 0)")


def wei_amount(text: str) -> int:
    """``123`` (wei) or ``0.5ether``, ``10gwei``: wei."""
    from decimal import Decimal, InvalidOperation

    from web3 import Web3

    for unit in ("ether", "gwei", "wei"):
        if text.endswith(unit):
            try:
                return int(Web3.to_wei(Decimal(text[: -len(unit)]), unit))
            except (InvalidOperation, ValueError):
                break
    else:
        if text.isdigit():
            return int(text)
    raise argparse.ArgumentTypeError(f"{text!r} is not an amount (e.g. 1000, 0.5ether, 10gwei)")


def signing_key(text: Optional[str]) -> bytes:
    """The key a command signs with: ``text`` (hex), or the standard test account 0's."""
    from l1.accounts import derive_accounts

    if text is None:
        return derive_accounts()[0].private_key
    return thirty_two_bytes(text, "--key must be 32 bytes of hex")


def thirty_two_bytes(text: str, problem: str) -> bytes:
    """The 32 bytes ``text`` holds in hex (0x optional); ValueError(``problem``) otherwise."""
    try:
        value = bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        value = b""
    if len(value) != 32:
        raise ValueError(problem)
    return value


def run_withdraw_command(args: argparse.Namespace) -> int:
    from eth_account import Account

    from rollup.l1_contract import RollupError
    from rollup.remote import RemoteRollup

    try:
        key = signing_key(args.key)
        rollup = RemoteRollup.connect(args.l2)
        recipient = args.to or Account.from_key(key).address
        transaction_hash = rollup.withdraw(key, args.amount, recipient)
    except (RollupError, ValueError) as error:
        print(f"nr withdraw: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # no node at --l2, a refused transaction
        print(f"nr withdraw: {args.l2}: {error}", file=sys.stderr)
        return 1
    print(f"withdrawal started: L2 transaction 0x{transaction_hash.hex()}")
    print(
        "claim it on L1 once settled and final:"
        f" nr claim --l2 {args.l2} --tx 0x{transaction_hash.hex()}"
    )
    return 0


def run_claim_command(args: argparse.Namespace) -> int:
    from rollup.l1_contract import RollupError
    from rollup.remote import RemoteRollup

    try:
        key = signing_key(args.key)
        rollup = RemoteRollup.connect(args.l2, args.l1)
        receipt = rollup.claim(key, bytes.fromhex(args.tx.removeprefix("0x")))
    except (RollupError, ValueError) as error:
        print(f"nr claim: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # no node answering, a malformed hash
        print(f"nr claim: {error}", file=sys.stderr)
        return 1
    if receipt["status"] != 1:
        print("nr claim: the claim transaction reverted on L1", file=sys.stderr)
        return 1
    print(f"claimed: L1 transaction 0x{bytes(receipt['transactionHash']).hex()}")
    return 0


def run_build_based_command(args: argparse.Namespace) -> int:
    from rollup.remote import RemoteRollup

    try:
        key = signing_key(args.key)
        transactions = [bytes.fromhex(raw.removeprefix("0x")) for raw in args.tx]
    except ValueError as error:
        print(f"nr build-based: {error}", file=sys.stderr)
        return 2
    try:
        receipt = RemoteRollup.connect(args.l2, args.l1).build_based(key, transactions)
    except Exception as error:  # the node's or L1's reason, or no node answering
        print(f"nr build-based: {error}", file=sys.stderr)
        return 1
    if receipt["status"] != 1:
        print("nr build-based: the based block reverted on L1 (its slot passed?)",
              file=sys.stderr)
        return 1
    print(f"landed: L1 transaction 0x{bytes(receipt['transactionHash']).hex()}"
          f" in L1 block {receipt['blockNumber']}")
    return 0


def run_status_command(args: argparse.Namespace) -> int:
    import json

    from web3 import Web3

    l2 = Web3(Web3.HTTPProvider(args.l2))
    try:
        answer = l2.provider.make_request("nr_settlementStatus", [])
    except Exception as error:  # refused connection, not JSON-RPC
        print(f"nr status: no rollup L2 answers at {args.l2}: {error}", file=sys.stderr)
        return 1
    if "error" in answer:
        print(
            f"nr status: {args.l2} is not a rollup's L2 endpoint: {answer['error']['message']}",
            file=sys.stderr,
        )
        return 1
    status = answer["result"]
    if args.json:
        print(json.dumps(status, indent=2))
        return 0
    print(format_settlement_status(status))
    return 0


def format_settlement_status(status: dict) -> str:
    """``nr_settlementStatus`` for a person."""
    head, settled, queue = status["l2Head"], status["settled"], status["queue"]
    when = int(settled["l1Timestamp"], 16)
    settled_when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(when)) if when else "genesis"
    lines = [
        f"stage {status['stage']} rollup {status['rollup']}"
        f" (L2 chain id {int(status['chainId'], 16)}){'  PAUSED' if status['paused'] else ''}",
        f"  L2 head      #{int(head['number'], 16)}  {head['hash']}",
        f"  settled      #{int(settled['number'], 16)}  {settled['hash']}  at {settled_when}",
        f"               state root {settled['stateRoot']}",
        f"  unsettled    {int(status['unsettledBlocks'], 16)} block(s)",
        f"  L1 queue     {int(queue['messages'], 16)} message(s), {int(queue['anchored'], 16)}"
        f" anchored on L1, {int(queue['takenIn'], 16)} taken in by the sequencer",
    ]
    return "\n".join(lines)


def serve_until_stopped(
    command: str, endpoints, rollups, args: argparse.Namespace, announce, background=()
) -> int:
    """Serve; ``announce`` prints what the user needs once everything listens."""
    from rollup.service import serve

    try:
        serve(
            endpoints,
            rollups,
            args.host,
            args.settle_interval,
            on_listening=announce,
            background=background,
        )
    except OSError as error:
        print(f"nr {command}: cannot listen: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


def devnet_banner(devnet, derivation_path: str, args: argparse.Namespace) -> str:
    """What anvil prints at start: accounts, keys, wallet, chain, endpoint."""
    lines = ["", "Available Accounts", "=================="]
    for index, account in enumerate(devnet.accounts):
        lines.append(f"({index}) {account.checksum_address} ({args.balance:.18f} ETH)")
    lines += ["", "Private Keys", "=================="]
    for index, account in enumerate(devnet.accounts):
        lines.append(f"({index}) 0x{account.private_key.hex()}")
    lines += [
        "",
        "Wallet",
        "==================",
        f"Mnemonic:          {devnet.config.mnemonic}",
        f"Derivation path:   {derivation_path.split('{')[0]}",
        "",
        "Chain ID",
        "==================",
        "",
        str(devnet.chain_id),
        "",
        "Fork",
        "==================",
        "",
        f"NativeRollups (Prague + EXECUTE at 0x...0101, engine {args.engine})",
        "",
        *proofs_banner(devnet),
        "Gas Limit",
        "==================",
        "",
        str(devnet.config.gas_limit),
        "",
        f"Listening on {args.host}:{args.port}",
    ]
    return "\n".join(lines)


def proofs_banner(devnet) -> List[str]:
    """How EXECUTE verifies, and (in proofs mode) what it counts and who may publish."""
    execute = devnet.config.execute
    if execute.mode != "proofs":
        return ["EXECUTE mode: reexecute (every node runs the L2 block)", ""]
    lines = [
        "Execution proofs",
        "==================",
        "",
        f"EXECUTE mode: proofs, {execute.proof_threshold} of"
        f" {len(devnet.proof_pool.accepted_types)} distinct proof types"
        f" ({', '.join(devnet.proof_pool.accepted_types)})"
        + (", one a re-execution" if execute.proof_requires_reexecution else ""),
        "reexec-* proofs are re-run; attested-* are BLS signatures of registered provers"
        " (trust in the signer set), not zero-knowledge proofs",
        "Registered provers (BLS secret key, public key):"
        + (
            "  DEMO KEYS: public, anyone can sign proofs with them (--deterministic-provers)"
            if devnet.config.deterministic_provers
            else "  fresh for this devnet: nr prover --prover-key KEY"
        ),
    ]
    for index, key in enumerate(devnet.prover_keys):
        lines.append(f"({index}) 0x{key.to_bytes().hex()}  0x{key.public_key.hex()}")
    return lines + [""]


def bls_secret_key(text: Optional[str]):
    """The BLS secret key ``text`` names in hex (None: the demo key for the index)."""
    from prover.signing import SecretKey

    if text is None:
        return None
    problem = "--prover-key must be a 32-byte BLS secret key in hex"
    try:
        return SecretKey.from_bytes(thirty_two_bytes(text, problem))
    except RuntimeError:  # 32 bytes, but not a scalar of the curve
        raise ValueError(problem) from None


def run_prover_command(args: argparse.Namespace) -> int:
    import asyncio

    from l1.server import stop_on_signals
    from prover.proof_types import UnknownProofType, proof_type_names
    from prover.service import ProverError, ProverService
    from prover.workers import workers_for

    try:
        proof_types = proof_type_names(args.proof_types)
        workers = workers_for(args.ray, args.workers)
    except (UnknownProofType, RuntimeError) as error:
        print(f"nr prover: {error}", file=sys.stderr)
        return 2
    try:
        key = bls_secret_key(args.prover_key)
    except ValueError as error:
        workers.close()
        print(f"nr prover: {error}", file=sys.stderr)
        return 2
    service = ProverService(
        args.l1, proof_types, workers, args.prover_index, key=key,
        log=lambda line: print(line, flush=True),
    )

    async def run_until_stopped() -> None:
        await service.run(stop_on_signals())

    try:
        asyncio.run(run_until_stopped())
    except ProverError as error:
        print(f"nr prover: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    finally:
        workers.close()
    return 0


def gas_points(text: str) -> tuple:
    try:
        points = tuple(int(float(part) * 1_000_000) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of Mgas, e.g. 1,10,30") from None
    if not points or min(points) < 100_000:
        raise argparse.ArgumentTypeError(f"{text!r}: each block needs at least 0.1 Mgas")
    return points


def run_bench_prove_command(args: argparse.Namespace) -> int:
    from nr.bench.prove import format_results, run_bench
    from prover.proof_types import UnknownProofType, proof_type_names

    switch_on_speed_ups(args)

    try:
        proof_types = proof_type_names(args.proof_types)
    except UnknownProofType as error:
        print(f"nr bench prove: {error}", file=sys.stderr)
        return 2
    measurements, signatures, hashing = run_bench(args.gas, proof_types, log=log_to_stderr)
    print(format_results(measurements, signatures, hashing))
    return 0


def run_bench_execute_command(args: argparse.Namespace) -> int:
    from l1 import accel
    from nr.bench.execute import format_results, run_bench
    from precompile.forks import FORK_RULES

    switch_on_speed_ups(args)
    rules = accel.accelerated_rules() if accel.enabled() else FORK_RULES
    engines = ENGINES if args.engine == "all" else (args.engine,)
    results = run_bench(args.gas, engines, profile=args.profile, log=log_to_stderr, rules=rules)
    print(format_results(results))
    return 0


def run_bench_rpc_command(args: argparse.Namespace) -> int:
    from l1.peers import NODES, PeerMissing
    from nr.bench.rpc import CLIENT_SIGNED, NODE_SIGNED, format_rpc_results, run_rpc_bench

    workloads = (
        [CLIENT_SIGNED, NODE_SIGNED] if args.workload == "both" else [args.workload]
    )
    try:
        results = run_rpc_bench(
            args.transactions, args.node or list(NODES), args.rounds,
            log=log_to_stderr, workload_names=workloads,
        )
    except PeerMissing as missing:
        print(f"nr bench rpc: {missing}", file=sys.stderr)
        return 2
    print("\n\n".join(
        f"{workload} transfers\n{format_rpc_results(measured)}"
        for workload, measured in results.items()
    ))
    return 0


def run_bench_plugin_command(args: argparse.Namespace) -> int:
    from nr.bench.plugin import (
        HarnessFailed,
        HarnessUnavailable,
        format_plugin_results,
        run_plugin_bench,
    )

    try:
        results = run_plugin_bench(args.rounds, args.titanoboa, args.ape, log=log_to_stderr)
    except (HarnessUnavailable, HarnessFailed) as problem:
        print(f"nr bench plugin: {problem}", file=sys.stderr)
        return 2 if isinstance(problem, HarnessUnavailable) else 1
    print(format_plugin_results(results))
    return 0


def run_bench_forcing_command(args: argparse.Namespace) -> int:
    from nr.bench.forcing import format_forcing_costs, run_forcing_bench

    switch_on_speed_ups(args)
    print(format_forcing_costs(run_forcing_bench(args.forced, log=log_to_stderr)))
    return 0


def run_bench_composability_command(args: argparse.Namespace) -> int:
    from nr.bench.composability import format_composability, run_composability_bench

    switch_on_speed_ups(args)
    results = run_composability_bench(
        args.slots, args.slot_time, args.rate, args.slot_ending_at, args.block_interval,
        log=log_to_stderr,
    )
    print(format_composability(results))
    return 0


def run_composability_command(args: argparse.Namespace) -> int:
    if not args.demo:
        print("nr composability: nothing to do; --demo runs the demo's slots", file=sys.stderr)
        return 2
    from nr.composability import run_demo, write_demo

    # Checked before the half minute of slots, not after them.
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        print(f"nr composability: cannot write the timeline to {args.out}: {error.strerror}",
              file=sys.stderr)
        return 2
    switch_on_speed_ups(args)
    records = run_demo(log=log_to_stderr)
    for path in write_demo(records, args.out):
        print(path)
    return 0


def log_to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_fuzz_command(args: argparse.Namespace) -> int:
    import random

    from nr.fuzz import run_fuzz

    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    engines = ENGINES if args.engine == "all" else (args.engine,)
    limit = f"{args.rounds} blocks" if args.rounds else f"{args.seconds:g} s"
    print(f"nr fuzz: seed {seed}, engines {', '.join(engines)}, {limit}", flush=True)
    report = run_fuzz(
        seed, seconds=None if args.rounds else args.seconds, rounds=args.rounds,
        engines=engines, out=args.out, log=log_to_stderr,
    )
    print(report.line())
    for engine, reasons in sorted(report.declines.items()):
        for reason, count in reasons.most_common():
            print(f"  {engine} declined {count} input(s): {reason}")
    for finding in report.findings:
        print(f"FOUND {finding}")
    if report.findings:
        print(f"saved in {args.out}; replay with: nr conformance {args.out} --engine all")
    return 1 if report.findings else 0


def run_conformance_command(args: argparse.Namespace) -> int:
    from nr.conformance import (
        InvalidReport,
        WorkerDied,
        find_fixture_files,
        forks_named,
        interrupted_by_sigterm,
        run_conformance,
        summary_lines,
    )
    from precompile.forks import FORK_RULES, UnknownFork
    from precompile.guest import INTERNAL_ERROR

    def refuse(message: str) -> int:
        print(f"nr conformance: {message}", file=sys.stderr)
        return 2

    if not args.directory.exists():
        return refuse(f"{args.directory}: no such file or directory")
    if not find_fixture_files(args.directory):
        return refuse(f"{args.directory}: no fixture files (*.json) in it")
    if args.jobs < 0:
        return refuse(f"--jobs must be 0 or more, got {args.jobs}")
    if args.report is not None and not args.report.parent.is_dir():
        return refuse(f"--report {args.report}: no directory {args.report.parent}")
    try:
        forks = forks_named(args.fork) if args.fork is not None else frozenset(FORK_RULES)
    except UnknownFork as unknown:
        return refuse(f"--fork {args.fork}: {unknown}")
    engines = ENGINES if args.engine == "all" else (args.engine,)
    started = time.monotonic()
    try:
        with interrupted_by_sigterm():
            summary = run_conformance(
                args.directory,
                jobs=args.jobs,
                progress=sys.stderr.isatty(),
                engines=engines,
                accelerate=args.accelerate,
                forks=forks,
                report=args.report,
                resume=args.resume,
            )
    except InvalidReport as invalid:
        return refuse(f"--resume {args.resume}: {invalid}")
    except (KeyboardInterrupt, WorkerDied) as stopped:
        kept = args.report or args.resume
        resumable = f"; the cases done are in {kept}: continue with --resume {kept}" if kept else ""
        why = "interrupted" if isinstance(stopped, KeyboardInterrupt) else str(stopped)
        print(f"nr conformance: {why}{resumable}", file=sys.stderr)
        return 130 if isinstance(stopped, KeyboardInterrupt) else 1
    for line in summary_lines(summary, args.directory, engines, args.verbose):
        print(line)
    print(f"{time.monotonic() - started:.1f}s")
    print(summary.line)
    return 1 if summary.count("failed") or summary.count(INTERNAL_ERROR) else 0




def probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text} is not a probability (0 to 1)")
    return value


def run_compare_command(args: argparse.Namespace) -> int:
    from nr.compare import (
        CompareError,
        build_document,
        configurations,
        drills_named,
        run_comparison,
        terminal_table,
        write_report,
    )

    try:
        chosen = configurations(args.stages, args.config)
        drills = drills_named(args.drills)
    except CompareError as error:
        print(f"nr compare: {error}", file=sys.stderr)
        return 2
    switch_on_speed_ups(args)
    started = time.perf_counter()
    log_to_stderr(f"nr compare: {len(drills)} drills on {len(chosen)} configurations"
                  f" ({', '.join(c.name for c in chosen)}), each drill on a fresh devnet")
    reports = run_comparison(chosen, drills, progress=log_to_stderr)
    command = "nr compare " + " ".join(sys.argv[2:]) if sys.argv[1:2] == ["compare"] else (
        "nr compare")
    document = build_document(reports, args.member_failure, args.proof_failure, command,
                              time.perf_counter() - started)
    print(terminal_table(document))
    written = write_report(document, args.out)
    print(f"wrote {', '.join(str(path) for path in written)} in {document['wall_seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
