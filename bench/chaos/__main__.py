"""`python -m bench.chaos`: one crash test run; the verdict on stdout, progress on stderr."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import secrets
import shutil
import sys
import tempfile
from pathlib import Path

from bench.chaos.faults import FaultPlan
from bench.chaos.load import LoadPlan
from bench.chaos.run import ChaosPlan, base_settings, run_chaos
from bench.chaos.verdict import Verdict
from bench.private_stack import Part, private_stack
from bench.sandbox import Sandbox
from sync_service.connectivity import DependencyUnavailable
from sync_service.erp_sim.lifecycle import StatusDelays, parse_duration

__all__ = ["main"]

EXIT_CLEAN, EXIT_FAILED, EXIT_UNAVAILABLE, EXIT_INTERRUPTED = 0, 1, 2, 130


def _delays(text: str) -> StatusDelays:
    try:
        confirm, ship, invoice = (parse_duration(part) for part in text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{exc}; give three, e.g. 1s,2s,3s") from None
    return StatusDelays(confirm, ship, invoice)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.chaos",
        description="dualsync's crash test: orders through the API while replicas are killed.",
    )
    add = parser.add_argument

    def seconds(flag: str, default: float, text: str) -> None:
        add(flag, type=float, default=default, metavar="S", help=f"{text} (default {default:g})")

    add("--orders", type=int, default=1000, metavar="N", help="orders to send (default 1000)")
    add("--kills", type=int, default=5, metavar="N", help="kill -9 of random replicas (default 5)")
    add("--restart-kafka", action="store_true", help="restart Kafka once, mid-run (private stack)")
    add("--restart-postgres", action="store_true",
        help="restart PostgreSQL once, mid-run (private stack)")  # fmt: skip
    seconds("--outage", 5.0, "how long a restarted part stays down")
    add(
        "--rate",
        type=float,
        default=50.0,
        metavar="PER_S",
        help="orders offered per second (default 50)",
    )
    add(
        "--concurrency",
        type=int,
        default=32,
        metavar="N",
        help="orders in flight at most (default 32)",
    )
    seconds("--retry-for", 300.0, "how long a client retries one order")
    seconds("--request-timeout", 10.0, "one request's time limit")
    seconds("--restart-after", 1.0, "how long a killed replica stays down")
    # The simulator answers each order once (its number) unless told to play the later statuses
    # too: each is another record through the inbound worker, which is the slowest stage.
    add("--erp-delays", type=_delays, default=StatusDelays(0, 0, 0), metavar="C,S,I",
        help="ERP simulator: confirm, ship, invoice after numbering, e.g. 1s,2s,3s "
        "(default 0,0,0: the number only)")  # fmt: skip
    add("--drain-timeout", type=float, metavar="S",
        help="the drain's time limit (default 120 s + 0.1 s per order)")  # fmt: skip
    seconds("--rebuild-timeout", 300.0, "the rebuild's time limit")
    add("--seed", type=int, help="of the kill schedule and victims (default: random, printed)")
    add("--json", action="store_true", help="the verdict as JSON on stdout (the table on stderr)")
    add("--keep", action="store_true", help="keep the database, topics and logs")
    return parser


def _plan(args: argparse.Namespace) -> ChaosPlan:
    load = LoadPlan(args.orders, args.rate, args.concurrency, args.retry_for, args.request_timeout)
    restart: tuple[Part, ...] = (
        *(("kafka",) if args.restart_kafka else ()),
        *(("postgres",) if args.restart_postgres else ()),
    )
    seed = args.seed if args.seed is not None else secrets.randbelow(1_000_000)
    faults = FaultPlan(args.kills, load.span_s, restart, args.outage, seed)
    drain_s = args.drain_timeout if args.drain_timeout is not None else 120 + 0.1 * args.orders
    return ChaosPlan(
        load, faults, args.restart_after, args.erp_delays, drain_s, args.rebuild_timeout
    )


def _run(plan: ChaosPlan, log_dir: Path, keep: bool) -> Verdict:
    parts = plan.faults.restart
    with private_stack(parts) if parts else contextlib.nullcontext() as stack:
        sandbox = Sandbox.plan(base_settings(stack, parts), kind="chaos")
        try:
            return asyncio.run(run_chaos(plan, sandbox, stack, log_dir))
        finally:
            if sandbox.created and not keep:
                with contextlib.suppress(Exception):
                    asyncio.run(sandbox.remove())


def main(argv: list[str] | None = None) -> int:
    """Run; 0 clean, 1 not clean (or the run failed), 2 without Kafka/PostgreSQL, 130 stopped."""
    args = _parser().parse_args(argv)
    plan = _plan(args)
    log_dir = Path(tempfile.mkdtemp(prefix="dualsync-chaos-logs-"))
    try:
        verdict = _run(plan, log_dir, args.keep)
    except DependencyUnavailable as exc:
        print(f"chaos: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except (KeyboardInterrupt, asyncio.CancelledError):
        print(f"chaos: interrupted; service logs in {log_dir}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        print(f"chaos: failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        print(f"chaos: service logs kept in {log_dir}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(verdict.table(), file=sys.stderr)
        print(json.dumps(verdict.document(), indent=2))
    else:
        print(verdict.table())
    if verdict.failures() or args.keep:
        print(f"chaos: service logs kept in {log_dir}", file=sys.stderr)
    else:
        shutil.rmtree(log_dir, ignore_errors=True)
    return EXIT_FAILED if verdict.failures() else EXIT_CLEAN


if __name__ == "__main__":
    sys.exit(main())
