"""The projections worker: cds.events.v1 -> read models in PostgreSQL, each event at most once.

Kafka says which event arrived; the event store says what it is and where it stands. Records
come in batches (what Kafka has ready, up to `MAX_BATCH`; no waiting to fill one). Per batch,
one transaction: lock the applied versions of the batch's streams, apply each stream's stored
events after its applied version up to the newest one announced (in version order, so a gap left
by a lost record closes itself), record the new versions and the freshness row, commit; only
then are the offsets committed (AckPolicy.NACK_ON_ERROR). A redelivered record finds its
version applied and changes nothing.

Failures are classified (sync_service.failures). A transient one (PostgreSQL away) is raised
and the batch is read again: it waits. Any other failure splits the batch in halves, each tried
again, down to single records; one that still fails (at once for a deterministic fault, after
`poison_attempts` for an unexpected one) is settled: its stream is applied event by event, each
in a savepoint, and an event the read models cannot take is skipped and stored as a dead letter
of consumer `dualsync-projections` naming it (topic `eventstore`, offset = its position). The
stream's later events are applied as usual; that one event's effect is missing from the read
models until ops fix the cause and rebuild (docs/read-models.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final
from uuid import UUID, uuid4

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from sqlalchemy import select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.deadletter import DeadLetter
from contracts.errors import ContractError
from contracts.registry import decode
from contracts.topics import CDS_EVENTS
from sync_service.brokers import existing_topic
from sync_service.db.schema import events
from sync_service.eventstore.base import StoredEvent
from sync_service.eventstore.envelopes import to_envelope_json
from sync_service.failures import describe, is_transient
from sync_service.logs import get_logger
from sync_service.mappings.dead_letter_rows import EVENT_LOG, store_dead_letter
from sync_service.metrics import count_projected
from sync_service.poison import (
    Poisoned,
    RetryPolicy,
    count_settled,
    retry_classified,
    storable_text,
)
from sync_service.projections.projector import (
    ORDERS_PROJECTION,
    apply_batch,
    apply_in_order,
    lock_stream_versions,
    record_freshness,
    stream_version,
)
from sync_service.projections.tables import LIVE
from sync_service.raw_records import raw_body, tolerant_parser
from sync_service.settings import Settings, get_settings

__all__ = ["CONSUMER_GROUP", "ProjectionsWorker", "run_projections", "subscribe_projections"]

CONSUMER_GROUP: Final = "dualsync-projections"
MAX_BATCH: Final = 500
"""Most records of cds.events.v1 applied in one transaction."""
BATCH_WAIT_MS: Final = 10
"""How long an idle subscriber waits for records per poll (a batch never waits to fill up)."""

log = get_logger(__name__)


class ProjectionsWorker:
    """Brings the read models up to date with each event that Kafka announces."""

    def __init__(
        self, engine: AsyncEngine, *, poison_attempts: int | None = None, max_backoff_s: float = 2.0
    ) -> None:
        self._engine = engine
        # None: DUALSYNC_POISON_ATTEMPTS of the process's settings.
        self._retry = RetryPolicy(
            poison_attempts=poison_attempts or get_settings().poison_attempts,
            max_backoff_s=max_backoff_s,
        )

    async def handle(self, raw: bytes) -> int:
        """Handle one record of cds.events.v1; return how many events were applied."""
        event_id = _event_id(raw)
        return 0 if event_id is None else await self._apply_one(event_id)

    async def handle_batch(self, raws: Sequence[bytes]) -> int:
        """Handle records of cds.events.v1 in one transaction; return how many events applied.

        Raises only a transient fault (the batch is read again); see the module docstring.
        """
        return await self._apply_ids([i for i in map(_event_id, raws) if i is not None])

    async def _apply_ids(self, event_ids: Sequence[UUID]) -> int:
        if len(event_ids) <= 1:
            return await self._apply_one(event_ids[0]) if event_ids else 0
        try:
            return await self._apply_batch(event_ids)
        except Exception as error:
            if is_transient(error):
                raise
            log.info("projections.batch_split", size=len(event_ids), reason=describe(error))
        middle = len(event_ids) // 2
        return await self._apply_ids(event_ids[:middle]) + await self._apply_ids(event_ids[middle:])

    async def _apply_one(self, event_id: UUID) -> int:
        try:
            return await retry_classified(
                lambda: self.apply_through(event_id), self._retry, event="projections.fault",
                event_id=str(event_id),
            )  # fmt: skip
        except Poisoned as poison:
            return await self._settle(event_id, poison)

    async def _apply_batch(self, event_ids: Sequence[UUID]) -> int:
        async with self._engine.connect() as connection:
            await connection.execution_options(isolation_level="READ COMMITTED")
            async with connection.begin():
                announced = await connection.execute(
                    select(events.c.stream_id, events.c.version).where(
                        events.c.event_id.in_(event_ids)
                    )
                )
                newest: dict[str, int] = {}
                found = 0
                for stream_id, version in announced:
                    newest[stream_id] = max(version, newest.get(stream_id, 0))
                    found += 1
                if found < len(set(event_ids)):
                    # Only the relay writes the topic, from committed events: another database?
                    # (Counted by events, not streams: a batch often holds several of one stream.)
                    log.warning("projections.unknown_events", count=len(set(event_ids)) - found)
                if not newest:
                    return 0
                applied_versions = await lock_stream_versions(connection, LIVE, list(newest))
                # Each stream's stored events after its applied version up to the newest one
                # announced: gaps close, and redeliveries find nothing to do.
                wanted = [
                    (stream, version)
                    for stream, newest_version in newest.items()
                    for version in range(applied_versions[stream] + 1, newest_version + 1)
                ]
                if not wanted:
                    return 0
                rows = await connection.execute(
                    select(events)
                    .where(tuple_(events.c.stream_id, events.c.version).in_(wanted))
                    .order_by(events.c.position)
                )
                stored = [StoredEvent(**row._asdict()) for row in rows]
                applied = await apply_batch(connection, LIVE, stored, applied_versions)
                if applied:
                    await record_freshness(connection, max(applied, key=lambda e: e.position))
        count_projected(ORDERS_PROJECTION, applied)  # after the commit, like the offsets
        return len(applied)

    async def _settle(self, event_id: UUID, poison: Poisoned) -> int:
        """Apply the event's stream event by event; skip and dead-letter what cannot be applied."""
        applied: list[StoredEvent] = []
        async with self._engine.connect() as connection:
            await connection.execution_options(isolation_level="READ COMMITTED")
            async with connection.begin():
                pending = await _pending_through(connection, event_id)
                for event in pending:
                    try:
                        async with connection.begin_nested():  # a savepoint per event
                            if await apply_in_order(connection, LIVE, event):
                                applied.append(event)
                    except Exception as error:
                        if is_transient(error):
                            raise
                        await _dead_letter(connection, event, error, poison)
                if pending:
                    await record_freshness(connection, pending[-1])
        count_projected(ORDERS_PROJECTION, applied)
        return len(applied)

    async def apply_through(self, event_id: UUID) -> int:
        """Apply the event's stream up to and including the event; 0 if already applied."""
        async with self._engine.connect() as connection:
            await connection.execution_options(isolation_level="READ COMMITTED")
            async with connection.begin():
                pending = await _pending_through(connection, event_id)
                for event in pending:
                    await apply_in_order(connection, LIVE, event)
                if pending:
                    await record_freshness(connection, pending[-1])
        count_projected(ORDERS_PROJECTION, pending)  # after the commit, like the offset
        return len(pending)


def _event_id(raw: bytes) -> UUID | None:
    """The id of the event a record announces; None (logged) for a record that is none."""
    try:
        return decode(raw).message_id
    except (ContractError, RecursionError) as error:
        log.warning("projections.malformed", error=describe(error))
        return None


async def _pending_through(connection: AsyncConnection, event_id: UUID) -> list[StoredEvent]:
    """The event's stream after its applied version up to the event (its row locked)."""
    target = (
        await connection.execute(
            select(events.c.stream_id, events.c.version).where(events.c.event_id == event_id)
        )
    ).first()
    if target is None:
        # Only the relay writes the topic, from committed events: another database?
        log.warning("projections.unknown_event", event_id=str(event_id))
        return []
    current = await stream_version(connection, LIVE, target.stream_id)
    rows = await connection.execute(
        select(events)
        .where(
            events.c.stream_id == target.stream_id,
            events.c.version > current,
            events.c.version <= target.version,
        )
        .order_by(events.c.version)
    )
    return [StoredEvent(**row._asdict()) for row in rows]


async def _dead_letter(
    connection: AsyncConnection, event: StoredEvent, error: Exception, poison: Poisoned
) -> None:
    """Store a dead letter naming `event` and skip it: its stream's version moves past it."""
    now = datetime.now(UTC)
    letter = DeadLetter(
        source_topic=EVENT_LOG,
        partition=0,
        offset=event.position,
        original_key=event.stream_id,
        original_value=storable_text(to_envelope_json(event).decode("utf-8")),
        handler=CONSUMER_GROUP,
        error_class=type(error).__name__,
        error_message=describe(error),
        attempts=max(poison.attempts, 1),
        first_failed_at=poison.first_failed_at,
        last_failed_at=now,
    )
    await store_dead_letter(
        connection, letter, uuid4(), consumer=CONSUMER_GROUP, company=event.company
    )
    await connection.execute(
        update(LIVE.versions)
        .where(LIVE.versions.c.stream_id == event.stream_id)
        .values(version=event.version)
    )
    count_settled(CONSUMER_GROUP, "dead_lettered", poison.fault)
    log.error(
        "projections.event_dead_lettered", stream_id=event.stream_id, position=event.position,
        event_type=event.event_type, error=letter.error_message,
    )  # fmt: skip


def subscribe_projections(
    broker: KafkaBroker, settings: Settings, worker: ProjectionsWorker
) -> None:
    """Subscribe `worker` to cds.events.v1; offsets are committed after each applied batch."""

    @broker.subscriber(
        existing_topic(settings.topic(CDS_EVENTS)),
        group_id=settings.group(CONSUMER_GROUP),
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        decoder=raw_body,  # the handler reads the bytes, under its fault policy
        parser=tolerant_parser,
        batch=True,
        max_records=MAX_BATCH,
        # getmany returns at once when records are ready; this only bounds an idle poll.
        batch_timeout_ms=BATCH_WAIT_MS,
    )
    async def on_events(message: KafkaMessage) -> None:
        records: Any = message.raw_message
        try:
            await worker.handle_batch([bytes(record.value or b"") for record in records])
        except Exception:
            log.exception("projections.failed_will_redeliver")
            await asyncio.sleep(1.0)  # seek back without spinning on a database outage
            raise


async def run_projections(settings: Settings) -> None:
    """Run the projections worker until cancelled (`dualsync run projections`)."""
    from sync_service.brokers import service_broker
    from sync_service.db.engine import create_engine
    from sync_service.topics import require_topics

    await require_topics(settings, "projections", [CDS_EVENTS])
    engine = create_engine(settings.database_url, connect_timeout_s=settings.connect_timeout_s)
    broker = service_broker(settings, "projections")
    subscribe_projections(broker, settings, ProjectionsWorker(engine))
    try:
        await broker.start()
        log.info("projections.started", topic=settings.topic(CDS_EVENTS))
        await asyncio.Event().wait()  # until cancelled
    finally:
        await broker.stop()
        await engine.dispose()
