"""Many streams' appends in one statement, for bulk loads (initial sync) on the PostgreSQL store.

Same gap-safety as `PostgresEventStore.append` (postgres.py): the store-wide advisory lock is
taken first, then one statement reads the head, records every processed message, checks every
stream's expected version and inserts all events at head + 1 onwards, and NOTIFYs. It is all or
nothing: one stream moved on or one message already recorded refuses the whole batch (the
caller rolls back and goes row by row). Like `PostgresTransaction.append`, it must be its
unit's last statement: the lock is held until the commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic_core import to_json
from sqlalchemy import bindparam, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from sync_service.eventstore.base import (
    AlreadyProcessed,
    ConcurrencyConflict,
    EventStoreError,
    InvalidEvent,
    NewEvent,
)
from sync_service.eventstore.postgres import APPEND_LOCK_KEY, NOTIFY_CHANNEL

__all__ = ["BulkEvent", "append_streams", "stream_versions"]


@dataclass(frozen=True, slots=True)
class BulkEvent:
    """One event of a bulk append: its stream and its version there."""

    stream_id: str
    stream_type: str
    version: int
    event: NewEvent


_LOCK = select(func.pg_advisory_xact_lock(bindparam("key")))
_VERSIONS = text(
    """
SELECT s.stream_id,
       (SELECT coalesce(max(version), 0) FROM events e WHERE e.stream_id = s.stream_id)
FROM unnest(CAST(:streams AS text[])) AS s(stream_id)
"""
)
# As postgres.py's _APPEND_UNDER_LOCK, over many streams: the verdict needs every stream at its
# expected version and every processed message new; events are numbered in the given order.
_APPEND_MANY_UNDER_LOCK = text(
    """
WITH head AS (
    SELECT (SELECT coalesce(max(position), 0) FROM events) AS position, now() AS recorded_at
), expected AS (
    SELECT x.stream_id, x.version,
           (SELECT coalesce(max(e.version), 0) FROM events e WHERE e.stream_id = x.stream_id)
               AS actual
    FROM unnest(CAST(:streams AS text[]), CAST(:expected AS integer[])) AS x(stream_id, version)
), recorded AS (
    INSERT INTO processed_messages (consumer, message_id)
    SELECT CAST(:consumer AS text), m.id
    FROM unnest(CAST(:message_ids AS text[])) AS m(id)
    ON CONFLICT DO NOTHING
    RETURNING message_id
), verdict AS (
    SELECT NOT EXISTS (SELECT FROM expected WHERE expected.version <> expected.actual)
           AND (SELECT count(*) FROM recorded) = cardinality(CAST(:message_ids AS text[]))
           AS accepted
), inserted AS (
    INSERT INTO events (position, stream_id, stream_type, version, event_id, event_type,
                        schema_version, occurred_at, recorded_at, origin, company,
                        correlation_id, causation_id, payload)
    SELECT head.position + batch.n, batch.stream_id, batch.stream_type, batch.version,
           batch.event_id, batch.event_type, batch.schema_version, batch.occurred_at,
           head.recorded_at, batch.origin, batch.company, batch.correlation_id,
           batch.causation_id, CAST(batch.payload AS jsonb)
    FROM head, verdict,
         unnest(CAST(:stream_ids AS text[]), CAST(:stream_types AS text[]),
                CAST(:versions AS integer[]), CAST(:event_ids AS uuid[]),
                CAST(:event_types AS text[]), CAST(:schema_versions AS integer[]),
                CAST(:occurred_ats AS timestamptz[]), CAST(:origins AS text[]),
                CAST(:companies AS text[]), CAST(:correlation_ids AS uuid[]),
                CAST(:causation_ids AS uuid[]), CAST(:payloads AS text[]))
         WITH ORDINALITY AS batch(stream_id, stream_type, version, event_id, event_type,
                                  schema_version, occurred_at, origin, company,
                                  correlation_id, causation_id, payload, n)
    WHERE verdict.accepted
    RETURNING position
)
SELECT verdict.accepted, head.position,
       (SELECT array_agg(stream_id) FROM expected WHERE expected.version <> expected.actual)
           AS moved,
       (SELECT count(*) FROM recorded) AS recorded,
       (SELECT count(*) FROM inserted) AS inserted,
       CASE WHEN verdict.accepted AND CAST(:count AS bigint) > 0
            THEN pg_notify(CAST(:channel AS text),
                           CAST(head.position + CAST(:count AS bigint) AS text))
       END AS notified
FROM head, verdict
"""
)


async def stream_versions(connection: AsyncConnection, stream_ids: Sequence[str]) -> dict[str, int]:
    """The current version of each stream (0 for none yet), in one round trip."""
    if not stream_ids:
        return {}
    result = await connection.execute(_VERSIONS, {"streams": list(stream_ids)})
    return {stream: int(version) for stream, version in result}


async def append_streams(
    connection: AsyncConnection,
    events: Sequence[BulkEvent],
    *,
    consumer: str,
    message_ids: Sequence[str],
) -> int:
    """Append `events` at positions in the given order; record `message_ids` for `consumer`.

    Each stream's events must have consecutive versions; the first one's minus 1 is the version
    the stream is expected at. Returns the position of the last event. ConcurrencyConflict (a
    stream moved on) or AlreadyProcessed (a message was recorded before) refuse everything.
    """
    expected = _expected_versions(events)
    await connection.execute(_LOCK, {"key": APPEND_LOCK_KEY})
    result = await connection.execute(
        _APPEND_MANY_UNDER_LOCK,
        {
            "streams": list(expected),
            "expected": list(expected.values()),
            "consumer": consumer,
            "message_ids": list(message_ids),
            "count": len(events),
            "channel": NOTIFY_CHANNEL,
            **_columns(events),
        },
    )
    accepted, head, moved, recorded, inserted, _ = result.one()
    if not accepted:
        if moved:
            stream = moved[0]
            actual = (await stream_versions(connection, [stream]))[stream]
            raise ConcurrencyConflict(stream, expected[stream], actual)
        raise AlreadyProcessed(consumer, f"{len(message_ids) - recorded} of this batch")
    if inserted != len(events):
        raise EventStoreError(f"inserted {inserted} of {len(events)} events")
    return int(head) + len(events)


def _expected_versions(events: Sequence[BulkEvent]) -> dict[str, int]:
    latest: dict[str, int] = {}
    expected: dict[str, int] = {}
    for item in events:
        if item.stream_id not in latest:
            expected[item.stream_id] = item.version - 1
        elif item.version != latest[item.stream_id] + 1:
            raise InvalidEvent(
                f"stream {item.stream_id!r}: version {item.version} follows "
                f"{latest[item.stream_id]}"
            )
        if item.version < 1:
            raise InvalidEvent(f"stream {item.stream_id!r}: version {item.version} is below 1")
        latest[item.stream_id] = item.version
    return expected


def _columns(events: Sequence[BulkEvent]) -> dict[str, list[Any]]:
    return {
        "stream_ids": [item.stream_id for item in events],
        "stream_types": [item.stream_type for item in events],
        "versions": [item.version for item in events],
        "event_ids": [item.event.event_id for item in events],
        "event_types": [item.event.event_type for item in events],
        "schema_versions": [item.event.schema_version for item in events],
        "occurred_ats": [item.event.occurred_at for item in events],
        "origins": [item.event.origin for item in events],
        "companies": [item.event.company for item in events],
        "correlation_ids": [item.event.correlation_id for item in events],
        "causation_ids": [item.event.causation_id for item in events],
        # pydantic's encoder (Rust) for the JSON-ready payloads: the server re-encodes JSONB.
        "payloads": [to_json(item.event.payload).decode() for item in events],
    }
