"""``nr``: the native-rollups command line."""

import argparse
import sys
import time
from pathlib import Path
from typing import List, Optional

# Engine names, as precompile.engines registers them; "all" runs each and compares.
ENGINES = ("pyevm", "eels")


def main(argv: Optional[List[str]] = None) -> int:
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
    conformance.set_defaults(run=run_conformance_command)

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
    execute.set_defaults(run=run_bench_execute_command)
    bench.set_defaults(run=lambda args: bench.print_help() or 2)
    return parser


def positive_int(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def run_bench_execute_command(args: argparse.Namespace) -> int:
    from precompile.bench import format_results, run_bench

    engines = ENGINES if args.engine == "all" else (args.engine,)
    results = run_bench(args.gas, engines, profile=args.profile, log=log_to_stderr)
    print(format_results(results))
    return 0


def log_to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_conformance_command(args: argparse.Namespace) -> int:
    from precompile.conformance import run_conformance

    if not args.directory.exists():
        print(f"nr conformance: {args.directory}: no such file or directory", file=sys.stderr)
        return 2
    if args.jobs < 0:
        print(f"nr conformance: --jobs must be 0 or more, got {args.jobs}", file=sys.stderr)
        return 2
    engines = ENGINES if args.engine == "all" else (args.engine,)
    started = time.monotonic()
    summary = run_conformance(
        args.directory, jobs=args.jobs, progress=sys.stderr.isatty(), engines=engines
    )
    for result in summary.results:
        if result.outcome != "passed" or args.verbose:
            reason = f": {result.reason}" if result.reason else ""
            print(f"{result.outcome.upper()} {result.path}::{result.name}{reason}")
    declines = summary.declines()
    for engine in engines:
        by_reason = declines.get(engine, {})
        count = sum(len(cases) for cases in by_reason.values())
        print(f"engine {engine}: {count} cases declined (ran on pyevm instead)")
        for reason, cases in sorted(by_reason.items()):
            print(f"  {len(cases)} x {reason}")
            if args.verbose:
                for case in cases:
                    print(f"      {case}")
    print(f"{time.monotonic() - started:.1f}s")
    print(summary.line)
    return 1 if summary.count("failed") else 0


if __name__ == "__main__":
    sys.exit(main())
