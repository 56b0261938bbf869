"""`dualsync`: one command line for running the services and for the ops verbs."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from sync_service.connectivity import DependencyUnavailable, check_database, check_kafka
from sync_service.logs import configure_logging, get_logger
from sync_service.settings import Settings, get_settings

__all__ = ["main"]

EXIT_UNAVAILABLE = 2
SERVICES = ("all", "api", "relay", "command-processor")

log = get_logger(__name__)


async def _check(settings: Settings) -> int:
    await check_kafka(settings.kafka_bootstrap, settings.connect_timeout_s)
    print(f"kafka:      reachable at {settings.kafka_bootstrap}")
    await check_database(settings.database_url, settings.connect_timeout_s)
    print("postgresql: reachable")
    return 0


async def _migrate(settings: Settings) -> int:
    from sync_service.db.migrate import current_revision, upgrade_to_head

    await check_database(settings.database_url, settings.connect_timeout_s)
    await asyncio.to_thread(upgrade_to_head, settings.database_url)
    revision = await asyncio.to_thread(current_revision, settings.database_url)
    print(f"database schema at revision {revision}")
    return 0


async def _create_topics(settings: Settings) -> int:
    from sync_service.topics import ensure_topics

    await check_kafka(settings.kafka_bootstrap, settings.connect_timeout_s)
    created = await ensure_topics(settings)
    print(f"topics created: {', '.join(created)}" if created else "topics: all present")
    return 0


async def _run(settings: Settings, service: str) -> int:
    # Check both dependencies first so that a missing one fails in seconds, with its address.
    await check_kafka(settings.kafka_bootstrap, settings.connect_timeout_s)
    await check_database(settings.database_url, settings.connect_timeout_s)
    from sync_service.service_runner import run_services

    await run_services(settings, service)
    return 0


async def _seed_demo(settings: Settings) -> int:
    from sync_service.db.engine import create_engine
    from sync_service.demo_data import demo_records, seed_demo
    from sync_service.eventstore.postgres import PostgresEventStore

    await check_database(settings.database_url, settings.connect_timeout_s)
    engine = create_engine(settings.database_url, connect_timeout_s=settings.connect_timeout_s)
    try:
        appended = await seed_demo(PostgresEventStore(engine))
    finally:
        await engine.dispose()
    print(f"demo data: {appended} of {len(demo_records())} records loaded (the rest were there)")
    return 0


def _export_contracts(out: Path) -> int:
    from contracts.export import export_contracts

    written = export_contracts(out)
    print(f"wrote {len(written)} files to {out}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dualsync",
        description="Event-sourced dual-write sync between the customer portal and the ERP.",
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    run = verbs.add_parser("run", help="run one service, or all of them in one process")
    run.add_argument("service", choices=SERVICES, help="which service to run")

    verbs.add_parser("check", help="check that Kafka and PostgreSQL are reachable")
    verbs.add_parser("migrate", help="bring the database schema to the newest revision")
    verbs.add_parser("seed-demo", help="load the demo data set (SPEC §8); safe to repeat")

    topics = verbs.add_parser("topics", help="Kafka topics of the contract")
    topics.add_subparsers(dest="topics_verb", required=True).add_parser(
        "create", help="create the topics that are missing"
    )

    contracts = verbs.add_parser("contracts", help="message contracts")
    export = contracts.add_subparsers(dest="contracts_verb", required=True).add_parser(
        "export", help="write JSON Schemas and the AsyncAPI document"
    )
    export.add_argument("--out", type=Path, default=Path("build/contracts"))
    return parser


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    verbs: dict[str, Callable[[], Coroutine[Any, Any, int]]] = {
        "check": lambda: _check(settings),
        "migrate": lambda: _migrate(settings),
        "seed-demo": lambda: _seed_demo(settings),
        "topics": lambda: _create_topics(settings),
        "run": lambda: _run(settings, args.service),
    }
    if args.verb == "contracts":
        return _export_contracts(args.out)
    return asyncio.run(verbs[args.verb]())


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `dualsync` console script."""
    args = _parser().parse_args(argv)
    settings = get_settings()
    configure_logging(settings)
    try:
        return _dispatch(args, settings)
    except DependencyUnavailable as exc:
        print(f"dualsync: error: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
