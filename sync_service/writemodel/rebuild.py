"""Rebuild the write model from the event store: drop the derived rows, replay every event."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.errors import FieldError
from sync_service.db.schema import (
    command_outcomes,
    contacts,
    credentials,
    customer_accounts,
    events,
    invitations,
    price_list_prices,
    products,
)
from sync_service.eventstore import NewEvent
from sync_service.eventstore.postgres import APPEND_LOCK_KEY
from sync_service.writemodel.projector import ACCEPTED_COMMAND_OF, apply_event, record_outcome

__all__ = ["DERIVED_TABLES", "rebuild_write_model"]

DERIVED_TABLES = (
    contacts,
    customer_accounts,
    products,
    price_list_prices,
    invitations,
    credentials,
    command_outcomes,
)
"""What a rebuild replaces. Not idempotency_keys: the API claims those, no event carries them.
Outcomes of commands too malformed to name an aggregate are logged, not evented, and so lost."""

_BATCH = 1000


async def rebuild_write_model(engine: AsyncEngine) -> int:
    """Replace the derived tables by a replay of the whole store, atomically; return the count."""
    replayed = 0
    async with engine.connect() as connection, connection.begin():
        # Hold the append lock: no append commits while the tables are rebuilt, so none is lost.
        await connection.execute(select(func.pg_advisory_xact_lock(APPEND_LOCK_KEY)))
        for table in DERIVED_TABLES:
            await connection.execute(delete(table))
        after = 0
        while True:
            query = select(events).where(events.c.position > after).order_by(events.c.position)
            rows = (await connection.execute(query.limit(_BATCH))).mappings().all()
            if not rows:
                return replayed
            for row in rows:
                event = NewEvent(
                    event_id=row["event_id"],
                    event_type=row["event_type"],
                    schema_version=row["schema_version"],
                    occurred_at=row["occurred_at"],
                    origin=row["origin"],
                    company=row["company"],
                    correlation_id=row["correlation_id"],
                    causation_id=row["causation_id"],
                    payload=row["payload"],
                )
                await apply_event(connection, row["stream_id"], row["version"], event)
                await _replay_outcome(connection, row["stream_id"], event, row["recorded_at"])
                replayed += 1
            after = rows[-1]["position"]


async def _replay_outcome(
    connection: AsyncConnection, stream_id: str, event: NewEvent, at: datetime
) -> None:
    if event.event_type == "CommandRejected":
        await record_outcome(
            connection,
            command_id=UUID(event.payload["command_id"]),
            command_type=event.payload["command_type"],
            status="rejected",
            errors=[FieldError.model_validate(error) for error in event.payload["errors"]],
            stream_id=stream_id,
            recorded_at=at,
        )
    elif event.origin == "portal" and event.causation_id is not None:
        command_type = ACCEPTED_COMMAND_OF.get(event.event_type)
        if command_type is not None:
            # The processor's events name the command's message id (= its command id) as cause.
            await record_outcome(
                connection,
                command_id=event.causation_id,
                command_type=command_type,
                status="accepted",
                stream_id=stream_id,
                recorded_at=at,
            )
