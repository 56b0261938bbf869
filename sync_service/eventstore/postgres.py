"""PostgreSQL event store and checkpoints, on SQLAlchemy Core over asyncpg.

Gap safety: positions are max + 1, assigned while holding one transaction-scoped advisory lock
that is released only by the appending transaction's commit (or rollback), once the commit is
visible. So position N + 1 cannot exist, even uncommitted, before N is committed and visible,
and a reader that follows "position > last seen" never skips an event that committed late.
The price: appends are serialised; each holds the lock for one statement and its commit.

Payloads are stored as JSONB and must be JSON-ready dicts (pydantic `model_dump(mode="json")`):
a Decimal, date, UUID, tuple or NaN is refused with InvalidEvent naming its path, as in memory.
They read back equal, though JSONB does not keep key order.

`transaction()` opens a unit of work (postgres_transaction.py): a caller's own writes (the
write model, a command's outcome) and an append, committed together.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Integer, bindparam, exists, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine.interfaces import IsolationLevel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sync_service.db.schema import checkpoints, events, processed_messages
from sync_service.eventstore._validation import check_append, check_read_all
from sync_service.eventstore.base import (
    AlreadyProcessed,
    ConcurrencyConflict,
    EventStoreError,
    InvalidEvent,
    NewEvent,
    ProcessedMessage,
    StoredEvent,
)
from sync_service.eventstore.postgres_transaction import PostgresTransaction
from sync_service.metrics import count_events_stored

__all__ = ["APPEND_LOCK_KEY", "NOTIFY_CHANNEL", "PostgresCheckpointStore", "PostgresEventStore"]

# b"dualsync" read as a bigint: one fixed key, so every append in the database takes one lock.
APPEND_LOCK_KEY = int.from_bytes(b"dualsync", "big")
# Each committed append notifies this channel with its last position, so followers wake at once.
NOTIFY_CHANNEL = "dualsync_events"

_STREAM_VERSION = select(func.coalesce(func.max(events.c.version), 0)).where(
    events.c.stream_id == bindparam("stream_id")
)
_HEAD_POSITION = select(func.coalesce(func.max(events.c.position), 0))
_LOCK = select(func.pg_advisory_xact_lock(bindparam("key")))
# Everything after the lock is one statement, so the lock is held for one round trip and the
# commit. Not the lock's own statement: a statement's snapshot is taken when it starts, so one
# that waited for the lock could miss what the previous holder committed. Under the lock:
# - the processed message is recorded, if there is one; its twin committed or rolled back
#   before this append got the lock, so ON CONFLICT sees the outcome without waiting;
# - the whole batch is one INSERT over unnest()ed arrays, at positions max + 1 onwards, and
#   only if the message was new and the stream is at the expected version;
# - NOTIFY, transactional: listeners hear of the append only once it has committed.
# The caller reads the outcome from the one row returned and raises (rolling back) on a refusal.
_APPEND_UNDER_LOCK = text(
    """
WITH head AS (
    SELECT (SELECT coalesce(max(version), 0) FROM events WHERE stream_id = :stream_id) AS version,
           (SELECT coalesce(max(position), 0) FROM events) AS position,
           now() AS recorded_at
), recorded AS (
    INSERT INTO processed_messages (consumer, message_id)
    SELECT CAST(:consumer AS text), CAST(:message_id AS text)
    WHERE CAST(:consumer AS text) IS NOT NULL
    ON CONFLICT DO NOTHING
    RETURNING consumer
), verdict AS (
    SELECT head.version = CAST(:expected_version AS integer)
           AND (CAST(:consumer AS text) IS NULL OR EXISTS (SELECT FROM recorded)) AS accepted
    FROM head
), inserted AS (
    INSERT INTO events (position, stream_id, stream_type, version, event_id, event_type,
                        schema_version, occurred_at, recorded_at, origin, company,
                        correlation_id, causation_id, payload)
    SELECT head.position + batch.n, :stream_id, CAST(:stream_type AS text),
           head.version + batch.n, batch.event_id, batch.event_type, batch.schema_version,
           batch.occurred_at, head.recorded_at, batch.origin, batch.company,
           batch.correlation_id, batch.causation_id, CAST(batch.payload AS jsonb)
    FROM head, verdict,
         unnest(CAST(:event_ids AS uuid[]), CAST(:event_types AS text[]),
                CAST(:schema_versions AS integer[]), CAST(:occurred_ats AS timestamptz[]),
                CAST(:origins AS text[]), CAST(:companies AS text[]),
                CAST(:correlation_ids AS uuid[]), CAST(:causation_ids AS uuid[]),
                CAST(:payloads AS text[]))
         WITH ORDINALITY AS batch(event_id, event_type, schema_version, occurred_at, origin,
                                  company, correlation_id, causation_id, payload, n)
    WHERE verdict.accepted
    RETURNING position
)
SELECT head.version, head.position, head.recorded_at,
       EXISTS (SELECT FROM recorded) AS recorded,
       (SELECT count(*) FROM inserted) AS inserted,
       CASE WHEN verdict.accepted AND CAST(:count AS bigint) > 0
            THEN pg_notify(CAST(:channel AS text),
                           CAST(head.position + CAST(:count AS bigint) AS text))
       END AS notified
FROM head, verdict
"""
)
_IS_PROCESSED = select(
    exists().where(
        processed_messages.c.consumer == bindparam("consumer"),
        processed_messages.c.message_id == bindparam("message_id"),
    )
)
_READ_STREAM = (
    select(events)
    .where(events.c.stream_id == bindparam("stream_id"), events.c.version > bindparam("after"))
    .order_by(events.c.version)
)
_READ_ALL = (
    select(events)
    .where(events.c.position > bindparam("after"))
    .order_by(events.c.position)
    .limit(bindparam("limit", type_=Integer))
)
_GET_CHECKPOINT = select(checkpoints.c.position).where(checkpoints.c.name == bindparam("name"))
_upsert = pg_insert(checkpoints).values(name=bindparam("name"), position=bindparam("position"))
_SET_CHECKPOINT = _upsert.on_conflict_do_update(
    index_elements=[checkpoints.c.name],
    set_={"position": _upsert.excluded.position, "updated_at": func.now()},
)


class PostgresEventStore:
    """An EventStore in the `events` and `processed_messages` tables."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def append(
        self,
        stream_id: str,
        stream_type: str,
        expected_version: int,
        events: Sequence[NewEvent],
        *,
        processed: ProcessedMessage | None = None,
    ) -> list[StoredEvent]:
        """Append atomically at `expected_version` (0 = new stream), recording `processed` too."""
        check_append(stream_id, expected_version, events)
        async with self.transaction() as unit:
            return await unit.append(
                stream_id, stream_type, expected_version, events, processed=processed
            )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PostgresTransaction]:
        """A unit of work: the caller's writes, then appends, committed together on exit."""
        # The lock scheme needs each statement to see what committed before it started, which
        # READ COMMITTED gives; REPEATABLE READ would keep the snapshot from before the lock.
        async with _connect(self._engine, "READ COMMITTED") as connection, connection.begin():
            unit = PostgresTransaction(connection, self._append)
            yield unit
        count_events_stored(unit.stored)  # committed: a rollback raised past this line

    async def _append(
        self,
        connection: AsyncConnection,
        stream_id: str,
        stream_type: str,
        expected_version: int,
        new_events: Sequence[NewEvent],
        processed: ProcessedMessage | None,
    ) -> list[StoredEvent]:
        try:
            outcome = await self._append_under_lock(
                connection, stream_id, stream_type, expected_version, new_events, processed
            )
        except IntegrityError as error:
            constraint = _constraint_name(error)
            if constraint == "uq_events_stream_id_version":
                # Only reached if a writer bypassed the lock; the unique constraint still holds.
                actual = await self.stream_version(stream_id)
                raise ConcurrencyConflict(stream_id, expected_version, actual) from error
            if constraint == "uq_events_event_id":
                raise InvalidEvent(f"event id already stored: {_detail(error)}") from error
            raise
        actual_version, head, recorded_at, recorded, inserted, _ = outcome
        # A redelivery decided against old state, so its message outranks its version conflict.
        if processed is not None and not recorded:
            raise AlreadyProcessed(processed.consumer, processed.message_id)
        if actual_version != expected_version:
            raise ConcurrencyConflict(stream_id, expected_version, actual_version)
        if inserted != len(new_events):
            raise EventStoreError(f"inserted {inserted} of {len(new_events)} events")
        return [
            StoredEvent(
                position=head + offset,
                stream_id=stream_id,
                stream_type=stream_type,
                version=expected_version + offset,
                event_id=event.event_id,
                event_type=event.event_type,
                schema_version=event.schema_version,
                occurred_at=event.occurred_at,
                origin=event.origin,
                company=event.company,
                correlation_id=event.correlation_id,
                causation_id=event.causation_id,
                payload=event.payload,
                recorded_at=recorded_at,
            )
            for offset, event in enumerate(new_events, start=1)
        ]

    async def _append_under_lock(
        self,
        connection: AsyncConnection,
        stream_id: str,
        stream_type: str,
        expected_version: int,
        new_events: Sequence[NewEvent],
        processed: ProcessedMessage | None,
    ) -> tuple[Any, ...]:
        await connection.execute(_LOCK, {"key": APPEND_LOCK_KEY})
        result = await connection.execute(
            _APPEND_UNDER_LOCK,
            {
                "stream_id": stream_id,
                "stream_type": stream_type,
                "expected_version": expected_version,
                "consumer": processed.consumer if processed else None,
                "message_id": processed.message_id if processed else None,
                "count": len(new_events),
                "channel": NOTIFY_CHANNEL,
                "event_ids": [event.event_id for event in new_events],
                "event_types": [event.event_type for event in new_events],
                "schema_versions": [event.schema_version for event in new_events],
                "occurred_ats": [event.occurred_at for event in new_events],
                "origins": [event.origin for event in new_events],
                "companies": [event.company for event in new_events],
                "correlation_ids": [event.correlation_id for event in new_events],
                "causation_ids": [event.causation_id for event in new_events],
                "payloads": [_to_json(event.payload) for event in new_events],
            },
        )
        return tuple(result.one())

    async def read_stream(self, stream_id: str, *, after_version: int = 0) -> list[StoredEvent]:
        """The stream's events after `after_version`, in version order."""
        async with _connect(self._engine) as connection:
            result = await connection.execute(
                _READ_STREAM, {"stream_id": stream_id, "after": after_version}
            )
            return [StoredEvent(**row._asdict()) for row in result]

    async def read_all(self, *, after_position: int = 0, limit: int = 1000) -> list[StoredEvent]:
        """Up to `limit` events of every stream after `after_position`, in position order."""
        check_read_all(after_position, limit)
        async with _connect(self._engine) as connection:
            result = await connection.execute(_READ_ALL, {"after": after_position, "limit": limit})
            return [StoredEvent(**row._asdict()) for row in result]

    async def stream_version(self, stream_id: str) -> int:
        """The stream's current version; 0 when it has no events."""
        async with _connect(self._engine) as connection:
            version = await connection.scalar(_STREAM_VERSION, {"stream_id": stream_id})
            return int(version or 0)

    async def head_position(self) -> int:
        """The position of the newest event; 0 when the store is empty."""
        async with _connect(self._engine) as connection:
            return int(await connection.scalar(_HEAD_POSITION) or 0)

    async def is_processed(self, consumer: str, message_id: str) -> bool:
        """Whether the consumer recorded this message as processed."""
        async with _connect(self._engine) as connection:
            found = await connection.scalar(
                _IS_PROCESSED, {"consumer": consumer, "message_id": message_id}
            )
            return bool(found)


class PostgresCheckpointStore:
    """A CheckpointStore in the `checkpoints` table."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get(self, name: str) -> int:
        """The position saved under `name`; 0 when none was saved."""
        async with _connect(self._engine) as connection:
            return int(await connection.scalar(_GET_CHECKPOINT, {"name": name}) or 0)

    async def set(self, name: str, position: int) -> None:
        """Save `position` under `name`, replacing any earlier one."""
        if position < 0:
            raise ValueError(f"a checkpoint position is 0 or more, not {position}")
        async with _connect(self._engine) as connection:
            await connection.execute(_SET_CHECKPOINT, {"name": name, "position": position})


@asynccontextmanager
async def _connect(
    engine: AsyncEngine, isolation_level: IsolationLevel = "AUTOCOMMIT"
) -> AsyncIterator[AsyncConnection]:
    # Set per connection: an engine-level option does not override one the caller's engine
    # already carries. AUTOCOMMIT suits single statements: no BEGIN/ROLLBACK round trips.
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level=isolation_level)
        yield connection


def _to_json(payload: Mapping[str, Any]) -> str:
    # Compact: the server re-encodes JSONB anyway. Payloads were checked to be JSON-ready.
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def _driver_error(error: IntegrityError) -> object:
    # SQLAlchemy wraps the DBAPI error, which (for asyncpg, emulated) wraps asyncpg's own.
    orig: object = error.orig
    return getattr(orig, "orig", None) or getattr(orig, "__cause__", None) or orig


def _constraint_name(error: IntegrityError) -> str | None:
    name = getattr(_driver_error(error), "constraint_name", None)
    return name if isinstance(name, str) else None


def _detail(error: IntegrityError) -> str:
    detail = getattr(_driver_error(error), "detail", None)
    return detail if isinstance(detail, str) else str(error.orig)
