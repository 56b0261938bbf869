"""The projections worker: cds.events.v1 -> read models in PostgreSQL, each event at most once.

Kafka says which event arrived; the event store says what it is and where it stands. Records
come in batches (what Kafka has ready, up to `MAX_BATCH`; no waiting to fill one). Per batch,
one transaction: lock the applied versions of the batch's streams, apply each stream's stored
events after its applied version up to the newest one announced (in version order, so a gap left
by a lost record closes itself), record the new versions and the freshness row, commit; only
then are the offsets committed (AckPolicy.NACK_ON_ERROR). A redelivered record finds its
version applied and changes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Final
from uuid import UUID

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.errors import ContractError
from contracts.registry import decode
from contracts.topics import CDS_EVENTS
from sync_service.db.schema import events
from sync_service.eventstore.base import StoredEvent
from sync_service.logs import get_logger
from sync_service.metrics import count_projected
from sync_service.projections.projector import (
    ORDERS_PROJECTION,
    apply_batch,
    apply_in_order,
    lock_stream_versions,
    record_freshness,
    stream_version,
)
from sync_service.projections.tables import LIVE
from sync_service.settings import Settings

__all__ = ["CONSUMER_GROUP", "ProjectionsWorker", "run_projections", "subscribe_projections"]

CONSUMER_GROUP: Final = "dualsync-projections"
MAX_BATCH: Final = 500
"""Most records of cds.events.v1 applied in one transaction."""
BATCH_WAIT_MS: Final = 10
"""How long an idle subscriber waits for records per poll (a batch never waits to fill up)."""

log = get_logger(__name__)


class ProjectionsWorker:
    """Brings the read models up to date with each event that Kafka announces."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def handle(self, raw: bytes) -> int:
        """Handle one record of cds.events.v1; return how many events were applied."""
        try:
            event_id = decode(raw).message_id
        except ContractError as error:
            log.warning("projections.malformed", error=str(error))
            return 0
        return await self.apply_through(event_id)

    async def handle_batch(self, raws: Sequence[bytes]) -> int:
        """Handle records of cds.events.v1 in one transaction; return how many events applied."""
        event_ids = []
        for raw in raws:
            try:
                event_ids.append(decode(raw).message_id)
            except ContractError as error:
                log.warning("projections.malformed", error=str(error))
        if not event_ids:
            return 0
        async with self._engine.connect() as connection:
            await connection.execution_options(isolation_level="READ COMMITTED")
            async with connection.begin():
                announced = await connection.execute(
                    select(events.c.stream_id, events.c.version).where(
                        events.c.event_id.in_(event_ids)
                    )
                )
                newest: dict[str, int] = {}
                for stream_id, version in announced:
                    newest[stream_id] = max(version, newest.get(stream_id, 0))
                if len(newest) < len(set(event_ids)):
                    # Only the relay writes the topic, from committed events: another database?
                    log.warning("projections.unknown_events", count=len(event_ids) - len(newest))
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

    async def apply_through(self, event_id: UUID) -> int:
        """Apply the event's stream up to and including the event; 0 if already applied."""
        async with self._engine.connect() as connection:
            await connection.execution_options(isolation_level="READ COMMITTED")
            async with connection.begin():
                target = (
                    await connection.execute(
                        select(events.c.stream_id, events.c.version).where(
                            events.c.event_id == event_id
                        )
                    )
                ).first()
                if target is None:
                    # Only the relay writes the topic, from committed events: another database?
                    log.warning("projections.unknown_event", event_id=str(event_id))
                    return 0
                current = await stream_version(connection, LIVE, target.stream_id)
                if current >= target.version:
                    return 0
                rows = await connection.execute(
                    select(events)
                    .where(
                        events.c.stream_id == target.stream_id,
                        events.c.version > current,
                        events.c.version <= target.version,
                    )
                    .order_by(events.c.version)
                )
                pending = [StoredEvent(**row._asdict()) for row in rows]
                for event in pending:
                    await apply_in_order(connection, LIVE, event)
                await record_freshness(connection, pending[-1])
        count_projected(ORDERS_PROJECTION, pending)  # after the commit, like the offset
        return len(pending)


def subscribe_projections(
    broker: KafkaBroker, settings: Settings, worker: ProjectionsWorker
) -> None:
    """Subscribe `worker` to cds.events.v1; offsets are committed after each applied batch."""

    @broker.subscriber(
        settings.topic(CDS_EVENTS),
        group_id=settings.group(CONSUMER_GROUP),
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
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
    from sync_service.topics import ensure_topics

    await ensure_topics(settings, [CDS_EVENTS])
    engine = create_engine(settings.database_url, connect_timeout_s=settings.connect_timeout_s)
    broker = service_broker(settings)
    subscribe_projections(broker, settings, ProjectionsWorker(engine))
    try:
        await broker.start()
        log.info("projections.started", topic=settings.topic(CDS_EVENTS))
        await asyncio.Event().wait()  # until cancelled
    finally:
        await broker.stop()
        await engine.dispose()
