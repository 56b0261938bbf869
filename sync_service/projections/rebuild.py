"""Rebuild the read models from the event store while the old ones keep serving.

The replay fills copies of the tables in a shadow schema: by a fold of the whole store in memory
and one COPY per table (projections/bulk.py), or batch by batch with the live code path
(`apply_in_order`). The switch-over is one transaction: lock the live tables (the
worker and the API wait), replay what was appended since, drop the live tables, move the
copies into their place, and set the freshness row. Everything the live worker had applied
is in the store, so it is in the copies too; an event the worker meets afterwards is either at
or below its stream's rebuilt version (skipped) or the next one (applied): no gap, no double.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sync_service.eventstore.base import StoredEvent
from sync_service.eventstore.postgres import PostgresEventStore
from sync_service.projections.bulk import bulk_replay
from sync_service.projections.projector import apply_in_order, record_freshness
from sync_service.projections.tables import LIVE, ReadModelTables

__all__ = ["SHADOW_SCHEMA", "RebuildReport", "RebuildRunning", "rebuild_projections"]

SHADOW_SCHEMA: Final = "projections_rebuild"
# b"dsrebuil" read as a bigint: one rebuild at a time per database.
REBUILD_LOCK_KEY: Final = int.from_bytes(b"dsrebuil", "big")
# The worker locks the stream-versions row first and the API reads orders before lines and
# accounts before contacts; locking in that order too keeps the switch-over from deadlocking.
_LOCK_ORDER: Final = ("versions", "orders", "lines", "accounts", "contacts")

Progress = Callable[[int, int], None]
"""Called after each batch with (position reached, head position when the replay started)."""


class RebuildRunning(Exception):
    """Another rebuild of this database is in progress."""


@dataclass(frozen=True, slots=True)
class RebuildReport:
    """What a rebuild did: events replayed in total, and of those, during the switch-over."""

    events: int
    caught_up_at_switch: int
    position: int


async def _replay(
    store: PostgresEventStore,
    connection: AsyncConnection,
    shadow: ReadModelTables,
    after: int,
    batch_size: int,
    progress: Progress | None,
    head: int,
) -> tuple[int, int, StoredEvent | None]:
    """Apply every stored event after `after`; (events, last position, last event)."""
    count, last = 0, None
    while batch := await store.read_all(after_position=after, limit=batch_size):
        for event in batch:
            await apply_in_order(connection, shadow, event)
        count, after, last = count + len(batch), batch[-1].position, batch[-1]
        if progress is not None:
            progress(after, head)
    return count, after, last


async def rebuild_projections(
    engine: AsyncEngine,
    *,
    batch_size: int = 500,
    progress: Progress | None = None,
    before_switch: Callable[[], Awaitable[None]] | None = None,
    bulk: bool = True,
) -> RebuildReport:
    """Replay the store into fresh tables, then switch the live views over to them.

    `bulk`: fold the store in memory and COPY the rows (projections/bulk.py); else apply event
    by event, as the worker does (what the bulk replay is tested against). `before_switch`
    runs between the replay and the switch-over (a seam for tests).
    """
    store = PostgresEventStore(engine)
    shadow = LIVE.in_schema(SHADOW_SCHEMA)
    async with engine.connect() as guard:
        await guard.execution_options(isolation_level="AUTOCOMMIT")
        if not await guard.scalar(select(func.pg_try_advisory_lock(REBUILD_LOCK_KEY))):
            raise RebuildRunning("another projections rebuild is running")
        try:
            async with engine.begin() as connection:
                await connection.execute(text(f"DROP SCHEMA IF EXISTS {SHADOW_SCHEMA} CASCADE"))
                await connection.execute(text(f"CREATE SCHEMA {SHADOW_SCHEMA}"))
                await connection.run_sync(shadow.orders.metadata.create_all)
            head = await store.head_position()
            async with engine.begin() as connection:
                # One transaction for the bulk replay: a failed rebuild leaves no half copy.
                if bulk:
                    replayed = (await bulk_replay(connection, shadow, head, progress)).events
                    position = head
                else:
                    replayed, position, _ = await _replay(
                        store, connection, shadow, 0, batch_size, progress, head
                    )
            if before_switch is not None:
                await before_switch()
            async with engine.begin() as connection:
                caught_up, position = await _switch_over(
                    connection, store, shadow, position, batch_size, progress
                )
        finally:
            await guard.scalar(select(func.pg_advisory_unlock(REBUILD_LOCK_KEY)))
    return RebuildReport(replayed + caught_up, caught_up, position)


async def _switch_over(
    connection: AsyncConnection,
    store: PostgresEventStore,
    shadow: ReadModelTables,
    position: int,
    batch_size: int,
    progress: Progress | None,
) -> tuple[int, int]:
    live_schema = await connection.scalar(text("SELECT current_schema()"))
    names = ", ".join(getattr(LIVE, part).name for part in _LOCK_ORDER)
    await connection.execute(text(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE"))
    # Now nothing writes the live tables: what was appended meanwhile is read from the store.
    head = await store.head_position()
    caught_up, position, last = await _replay(
        store, connection, shadow, position, batch_size, progress, head
    )
    for table in reversed(LIVE.all()):
        await connection.execute(text(f'DROP TABLE "{table.name}"'))
    for table in LIVE.all():
        await connection.execute(
            text(f'ALTER TABLE {SHADOW_SCHEMA}."{table.name}" SET SCHEMA "{live_schema}"')
        )
    await connection.execute(text(f"DROP SCHEMA {SHADOW_SCHEMA}"))
    if last is None:
        events = await store.read_all(after_position=max(position - 1, 0), limit=1)
        last = events[0] if events else None
    if last is not None:
        await record_freshness(connection, last)
    return caught_up, position
