"""`python -m bench`: run the scenarios, print the table, write the results file (see __init__)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Final

from bench.profiling import Profiler
from bench.report import Results
from bench.run import RESULTS, Plan, Run, run_bench
from bench.sandbox import Sandbox
from bench.services import Services
from sync_service.connectivity import DependencyUnavailable
from sync_service.settings import Settings

SCENARIOS: Final = ("baseline", "throughput", "latency", "memory", "rebuild", "initial-sync")
FULL: Final = {"messages": 20_000, "orders": 10_000, "rate": 200.0, "duration": 30.0,
               "initial_rows": 100_000}  # fmt: skip
SMOKE: Final = {"messages": 500, "orders": 30, "rate": 20.0, "duration": 2.0, "initial_rows": 100}
# Seconds a scenario may take before it reports what it reached so far (the full run must stay
# around ten minutes on two cores even while the services are slow).
TIMEOUTS: Final = {"baseline": 60.0, "throughput": 180.0, "drain": 60.0, "rebuild": 90.0,
                   "initial-sync": 120.0}  # fmt: skip
EXIT_FAILED, EXIT_UNAVAILABLE, EXIT_INTERRUPTED = 1, 2, 130


def _scenarios(text: str) -> list[str]:
    chosen = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in SCENARIOS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"unknown scenario {', '.join(unknown) or '(none)'}; choose from {', '.join(SCENARIOS)}"
        )
    return chosen


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="dualsync's benchmark: throughput, latency, memory, rebuild, initial sync.",
    )
    parser.add_argument("--smoke", action="store_true", help="small sizes: a run of under a minute")
    parser.add_argument("--orders", type=int, metavar="N", help="orders for the throughput run")
    parser.add_argument("--messages", type=int, metavar="N", help="messages for the baseline")
    parser.add_argument("--rate", type=float, metavar="PER_S", help="orders/s offered (latency)")
    parser.add_argument("--duration", type=float, metavar="S", help="seconds of latency load")
    parser.add_argument("--initial-rows", type=int, metavar="N", help="rows of the export")
    parser.add_argument(
        "--only", type=_scenarios, metavar="LIST", default=list(SCENARIOS),
        help=f"comma-separated scenarios, of: {','.join(SCENARIOS)} (default: all)",
    )  # fmt: skip
    parser.add_argument(
        "--timeout", type=float, metavar="S",
        help="time limit of every scenario (default: "
        + ", ".join(f"{name} {limit:g}s" for name, limit in TIMEOUTS.items()) + ")",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, metavar="PATH", help="results file to write")
    parser.add_argument("--keep", action="store_true", help="keep the database, topics and logs")
    parser.add_argument(
        "--profile", action="store_true",
        help="py-spy every service during throughput and latency (bench/results/profiles/)",
    )  # fmt: skip
    return parser


def _plan(args: argparse.Namespace) -> Plan:
    sizes = dict(SMOKE if args.smoke else FULL)
    for name in sizes:
        if getattr(args, name) is not None:
            sizes[name] = getattr(args, name)
    timeouts = {name: args.timeout or limit for name, limit in TIMEOUTS.items()}
    day = datetime.now().date().isoformat()
    out = args.out or RESULTS / (f"{day}-smoke.json" if args.smoke else f"{day}.json")
    return Plan(args.only, sizes, timeouts, out, args.keep, args.profile, args.smoke)


def main(argv: list[str] | None = None) -> int:
    """Run the bench; 0 when every scenario ran, 1 if one failed, 2 without Kafka/PostgreSQL."""
    plan = _plan(_parser().parse_args(argv))
    if plan.profile and not Profiler.available():
        print("bench: --profile needs py-spy (pip install py-spy)", file=sys.stderr)
        return EXIT_FAILED
    sandbox = Sandbox.plan(Settings())
    log_dir = Path(tempfile.mkdtemp(prefix="dualsync-bench-logs-"))
    services = Services(sandbox.env(), log_dir)
    run: Run | None = None
    try:
        run = asyncio.run(run_bench(plan, sandbox, services))
    except DependencyUnavailable as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except (KeyboardInterrupt, asyncio.CancelledError):  # Ctrl-C, or SIGTERM
        print("bench: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        print(f"bench: failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        print(f"bench: service logs kept in {log_dir}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        services.kill()  # anything a cancelled shutdown left behind
        if sandbox.created and not plan.keep:
            with contextlib.suppress(Exception):
                asyncio.run(sandbox.remove())
    results = Results(run.figures, plan.parameters(), run.details)
    results.write(plan.out)
    print(results.table())
    print(f"\nresults written to {plan.out}")
    if run.failed:
        print(f"bench: service logs kept in {log_dir}", file=sys.stderr)
        return EXIT_FAILED
    if not plan.keep:
        shutil.rmtree(log_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
