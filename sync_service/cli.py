"""`dualsync`: one command line for running the services and for the ops verbs."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sync_service.connectivity import DependencyUnavailable, check_database, check_kafka
from sync_service.logs import configure_logging, get_logger
from sync_service.settings import MissingSetting, Settings, get_settings
from sync_service.topics import TopicsMissing

__all__ = ["main"]

EXIT_UNAVAILABLE = 2
EXIT_REFUSED = 1
EXIT_INVALID_SETTINGS = 2
SERVICES = (
    "all",
    "api",
    "relay",
    "command-processor",
    "projections",
    "erp-sim",
    "outbound",
    "inbound",
)

_SIGNING_SERVICES = frozenset({"all", "api", "command-processor"})
"""The services that sign (the API) or verify (the command processor) portal commands."""

log = get_logger(__name__)


async def _check(settings: Settings) -> int:
    from sync_service.kafka_access import Role, client_options, principal

    role: Role = "operator"  # reads only: any principal proves the credentials and the address
    await check_kafka(
        settings.kafka_bootstrap, settings.connect_timeout_s, client_options(settings, role)
    )
    print(f"kafka:      reachable at {settings.kafka_bootstrap} as {principal(settings, role)}")
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
    from sync_service.kafka_access import client_options
    from sync_service.kafka_acls import apply_acls
    from sync_service.topics import ensure_topics

    admin = client_options(settings, "admin")
    await check_kafka(settings.kafka_bootstrap, settings.connect_timeout_s, admin)
    created = await ensure_topics(settings)
    print(f"topics created: {', '.join(created)}" if created else "topics: all present")
    if settings.kafka_security_protocol != "PLAINTEXT":
        applied = await apply_acls(settings)
        print(f"kafka ACLs: {len(applied)} in place (`dualsync kafka-access show` lists them)")
    return 0


async def _kafka_access(settings: Settings, args: argparse.Namespace) -> int:
    from sync_service.kafka_access import bindings, client_options
    from sync_service.kafka_acls import apply_acls

    if args.kafka_access_action == "show":
        for b in bindings(settings):
            print(f"{b.principal:32} {b.operation.name:9} {b.resource.name.lower():6} {b.name}")
        return 0
    if settings.kafka_security_protocol == "PLAINTEXT":
        print("dualsync: error: DUALSYNC_KAFKA_SECURITY_PROTOCOL is PLAINTEXT: no principal, no "
              "ACL to apply", file=sys.stderr)  # fmt: skip
        return 1
    admin = client_options(settings, "admin")
    await check_kafka(settings.kafka_bootstrap, settings.connect_timeout_s, admin)
    applied = await apply_acls(settings)
    print(f"kafka ACLs: {len(applied)} in place for prefix {settings.topic_prefix!r}")
    return 0


async def _run(settings: Settings, service: str) -> int:
    # A service waits for Kafka and PostgreSQL (DUALSYNC_START_WAIT_S bounds it) instead of
    # failing fast like the one-off verbs: a deployment without a supervisor keeps running.
    from sync_service.domain.admin_token import WeakAdminToken, refuse_weak_admin_token
    from sync_service.service_runner import run_services

    if service in ("all", "api"):
        # Before any service starts: the API would refuse it anyway, after the others began.
        token = settings.admin_token.get_secret_value() if settings.admin_token else None
        try:
            refuse_weak_admin_token(token, allow_weak=settings.allow_weak_admin_token)
        except WeakAdminToken as weak:
            print(f"dualsync: error: {weak}", file=sys.stderr)
            return EXIT_REFUSED
    if service in _SIGNING_SERVICES:
        settings.command_verifier()  # no key, no start: before anything connects

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


async def _rebuild_projections(settings: Settings) -> int:
    from sync_service.db.engine import create_engine
    from sync_service.projections.rebuild import rebuild_projections

    await check_database(settings.database_url, settings.connect_timeout_s)
    engine = create_engine(settings.database_url, connect_timeout_s=settings.connect_timeout_s)

    def progress(position: int, head: int) -> None:
        share = f" ({100 * min(position, head) // head}%)" if head else ""
        print(f"projections rebuild: at position {position} of {head}{share}", file=sys.stderr)

    try:
        report = await rebuild_projections(engine, progress=progress)
    finally:
        await engine.dispose()
    print(
        f"projections rebuilt: {report.events} events replayed up to position {report.position}"
        f" ({report.caught_up_at_switch} during the switch-over)"
    )
    return 0


async def _erp_sim(settings: Settings, args: argparse.Namespace) -> int:
    from contracts.topics import SCM_INBOUND
    from sync_service.erp_sim import StatusDelays, publish_demo, run_erp_sim

    if args.erp_sim_action == "publish-demo":
        from sync_service.kafka_access import client_options

        erp = client_options(settings, "erp")
        await check_kafka(settings.kafka_bootstrap, settings.connect_timeout_s, erp)
        sent = await publish_demo(settings)
        print(f"erp-sim: {sent} demo records published to {settings.topic(SCM_INBOUND)}")
        return 0
    from sync_service.service_runner import run_services

    delays = StatusDelays(args.confirm_after, args.ship_after, args.invoice_after)

    async def erp_sim(settings: Settings) -> None:
        await run_erp_sim(settings, delays, tick_s=args.tick)

    await run_services(settings, {"erp-sim": erp_sim})  # a service: waits, stops gracefully
    return 0


async def _mapping_verb(settings: Settings, args: argparse.Namespace) -> int:
    from sync_service.mappings.ops_cli import run_mapping_verb

    return await run_mapping_verb(args, settings)


async def _lag(settings: Settings, args: argparse.Namespace) -> int:
    from sync_service.ops.lag_cli import run_lag_verb

    return await run_lag_verb(args, settings)


async def _portal_invite(settings: Settings, args: argparse.Namespace) -> int:
    from sync_service.portal_invite import run_portal_invite

    return await run_portal_invite(args, settings)


async def _credentials(settings: Settings, args: argparse.Namespace) -> int:
    from sync_service.credentials_cli import run_credentials_verb

    return await run_credentials_verb(args, settings)


async def _initial_sync(settings: Settings, args: argparse.Namespace) -> int:
    from sync_service.mappings.initial_sync import run_initial_sync

    return await run_initial_sync(settings, args.paths, args.company, args.concurrency)


def _duration(text: str) -> float:
    from sync_service.erp_sim.lifecycle import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


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
        "create", help="create the topics that are missing and apply the roles' ACLs (as admin)"
    )
    access = verbs.add_parser("kafka-access", help="the Kafka ACLs of dualsync's roles")
    access.add_argument(
        "kafka_access_action", choices=("apply", "show"),
        help="apply: create every role's ACLs for the topic prefix (as admin; idempotent); "
        "show: list them",
    )  # fmt: skip

    projections = verbs.add_parser("projections", help="the read models of the order views")
    projections.add_subparsers(dest="projections_verb", required=True).add_parser(
        "rebuild", help="replay the event store into fresh read models, then switch over"
    )

    erp_sim = verbs.add_parser(
        "erp-sim", help="a simulated ERP: numbers synced orders, answers with statuses"
    )
    erp_sim.add_argument(
        "erp_sim_action", nargs="?", choices=("run", "publish-demo"), default="run",
        help="run the simulator until interrupted (default), or publish the ERP's demo data",
    )  # fmt: skip
    steps = (
        ("confirm", "5s", "Confirmed"),
        ("ship", "15s", "Delivered"),
        ("invoice", "30s", "Invoiced"),
    )
    for step, default, status in steps:
        erp_sim.add_argument(
            f"--{step}-after", type=_duration, default=default, metavar="DURATION",
            help=f"time from numbering to {status} (e.g. 2s, 500ms; 0 skips it; default {default})",
        )  # fmt: skip
    erp_sim.add_argument(
        "--tick",
        type=_duration,
        default=0.2,
        metavar="DURATION",
        help="how often to look for due steps",
    )

    from sync_service.mappings.ops_cli import add_mapping_verbs

    add_mapping_verbs(verbs)

    from sync_service.ops.lag_cli import add_lag_verb

    add_lag_verb(verbs)

    from sync_service.portal_invite import add_portal_invite_verb

    add_portal_invite_verb(verbs)

    from sync_service.credentials_cli import add_credentials_verb

    add_credentials_verb(verbs)

    initial = verbs.add_parser(
        "initial-sync", help="load an SCM export (CSV / JSON lines) through the inbound maps"
    )
    initial.add_argument(
        "paths", nargs="+", type=Path, metavar="PATH",
        help="a directory or files named for the SCM entity, e.g. CustomersV3.csv",
    )  # fmt: skip
    initial.add_argument("--company", help="dataAreaId for rows that have none, e.g. usmf")
    initial.add_argument(
        "--concurrency", type=int, default=3, metavar="N",  # initial_sync.DEFAULT_CONCURRENCY
        help="rows of different keys applied side by side (a key's rows stay in order)",
    )  # fmt: skip

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
        "kafka-access": lambda: _kafka_access(settings, args),
        "run": lambda: _run(settings, args.service),
        "erp-sim": lambda: _erp_sim(settings, args),
        "projections": lambda: _rebuild_projections(settings),
        "deadletters": lambda: _mapping_verb(settings, args),
        "maps": lambda: _mapping_verb(settings, args),
        "lag": lambda: _lag(settings, args),
        "initial-sync": lambda: _initial_sync(settings, args),
        "portal-invite": lambda: _portal_invite(settings, args),
        "credentials": lambda: _credentials(settings, args),
    }
    if args.verb == "contracts":
        return _export_contracts(args.out)
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        return runner.run(verbs[args.verb]())


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop when installed (uvicorn[standard] brings it), else asyncio's own.

    Every service is one event loop moving bytes between sockets; uvloop does that part in C,
    which the profiles showed as about a quarter of the API's CPU time with asyncio's loop.
    """
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] installs it everywhere we run
        return None
    return uvloop.new_event_loop


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `dualsync` console script."""
    args = _parser().parse_args(argv)
    try:
        settings = get_settings()
    except ValidationError as invalid:
        # Each problem names its setting and the rule, never the value (it may be a secret).
        for problem in invalid.errors(include_input=False, include_url=False):
            name = "DUALSYNC_" + "_".join(str(part) for part in problem["loc"]).upper()
            print(f"dualsync: error: {name}: {problem['msg']}", file=sys.stderr)
        return EXIT_INVALID_SETTINGS
    configure_logging(settings)
    try:
        return _dispatch(args, settings)
    except DependencyUnavailable as exc:
        print(f"dualsync: error: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except MissingSetting as missing:
        print(f"dualsync: error: {missing}", file=sys.stderr)
        return EXIT_INVALID_SETTINGS
    except TopicsMissing as exc:
        print(f"dualsync: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
