"""`dualsync lag`: one lag sample as a readable table, or as the JSON of `GET /ops/lag`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from sync_service.ops.lag_report import LagReport
from sync_service.settings import Settings

__all__ = ["add_lag_verb", "render_table", "run_lag_verb"]


def add_lag_verb(verbs: Any) -> None:
    """Add `lag [--json]` to the CLI's sub-commands (`verbs`, an argparse subparsers action)."""
    lag = verbs.add_parser(
        "lag", help="how far behind each consumer group, partition, map and projection is"
    )
    lag.add_argument(
        "--json", action="store_true", dest="as_json", help="print the JSON of GET /ops/lag"
    )


async def run_lag_verb(args: argparse.Namespace, settings: Settings) -> int:
    """Take one sample and print it; Kafka or PostgreSQL unreachable is DependencyUnavailable."""
    from aiokafka.errors import KafkaError
    from sqlalchemy.exc import InterfaceError, OperationalError, ProgrammingError

    from sync_service.connectivity import DependencyUnavailable, check_database, check_kafka
    from sync_service.db.engine import create_engine
    from sync_service.kafka_access import client_options
    from sync_service.ops.lag import LagSampler

    await check_kafka(
        settings.kafka_bootstrap, settings.connect_timeout_s, client_options(settings, "ops")
    )
    await check_database(settings.database_url, settings.connect_timeout_s)
    engine = create_engine(settings.database_url, connect_timeout_s=settings.connect_timeout_s)
    sampler = LagSampler(settings, engine)
    try:
        report = await sampler.sample()
    except ProgrammingError as error:
        if "does not exist" not in str(error):
            raise
        print(
            "dualsync: error: the database has no lag tables yet; run `dualsync migrate` first",
            file=sys.stderr,
        )
        return 1
    except (KafkaError, OperationalError, InterfaceError, OSError, TimeoutError) as error:
        # They answered the checks a moment ago and stopped answering while we sampled.
        raise DependencyUnavailable(
            f"Kafka ({settings.kafka_bootstrap}) or PostgreSQL stopped answering while lag was "
            f"sampled: {type(error).__name__}: {error}".splitlines()[0]
        ) from error
    finally:
        await sampler.close()
        await engine.dispose()
    print(report.model_dump_json(indent=2) if args.as_json else render_table(report))
    return 0


def render_table(report: LagReport) -> str:
    """The sample as aligned text tables: groups, partitions (STUCK flagged), maps, relay."""
    sampled = report.sampled_at.isoformat(timespec="seconds")
    relay = report.relay
    groups = [(g.group, g.topic, g.lag, g.stuck_partitions or "-") for g in report.groups]
    partitions = [
        (p.group, p.topic, p.partition, p.committed, p.end, p.lag, _seconds(p.unchanged_for_s),
         "STUCK" if p.stuck else "")
        for p in report.partitions
    ]  # fmt: skip
    maps = [
        (m.name, m.direction, "paused" if m.paused else "running",
         _count(m.pending, m.pending_capped), _seconds(m.oldest_pending_age_s),
         _seconds(m.since_last_applied_s))
        for m in report.maps
    ]  # fmt: skip
    projections = [
        (p.name, _count(p.pending, p.pending_capped), _seconds(p.oldest_pending_age_s),
         _seconds(p.since_last_applied_s))
        for p in report.projections
    ]  # fmt: skip
    relays = [
        ("outbox", relay.store_position, relay.published_position, relay.lag,
         _seconds(relay.since_last_published_s))
    ]  # fmt: skip
    return "\n\n".join(
        [
            f"lag sampled at {sampled}; stuck after {report.stuck_after_s:g}s unchanged",
            _table(("GROUP", "TOPIC", "LAG", "STUCK PARTITIONS"), groups),
            _table(
                ("GROUP", "TOPIC", "PARTITION", "COMMITTED", "END", "LAG", "UNCHANGED", ""),
                partitions,
            ),
            _table(
                ("MAP", "DIRECTION", "STATE", "PENDING", "OLDEST PENDING", "SINCE LAST APPLIED"),
                maps,
            ),
            _table(("PROJECTION", "PENDING", "OLDEST PENDING", "SINCE LAST APPLIED"), projections),
            _table(
                ("RELAY", "STORE POSITION", "PUBLISHED POSITION", "LAG", "SINCE LAST PUBLISHED"),
                relays,
            ),
        ]
    )


def _count(pending: int, capped: bool) -> str:
    """A pending count; `2000+` when only part of the waiting records were read."""
    return f"{pending}+" if capped else str(pending)


def _seconds(value: float | None) -> str:
    """A duration for people: `-` for none, `4.2s`, `3m05s`, `2h10m`."""
    if value is None:
        return "-"
    if value < 60:
        return f"{value:.1f}s"
    whole = int(value)
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [list(header), *([str(cell) for cell in row] for row in rows)]
    if not rows:
        cells.append(["(none)"] + [""] * (len(header) - 1))
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in cells
    )
