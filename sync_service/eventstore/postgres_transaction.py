"""A unit of work on the PostgreSQL event store: the caller's own writes and an append, one commit.

The command processor uses it so that the write model, the command's outcome, the processed
message and the events commit together or not at all. The append must be the unit's last
statement: it takes the store-wide append lock (see postgres.py), and a transaction that
holds it must not then wait for row locks, or it could deadlock with a transaction that holds
those rows and waits for the append lock. So `connection` is refused once an append was made.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from sync_service.db.schema import events
from sync_service.eventstore._validation import check_append
from sync_service.eventstore.base import NewEvent, ProcessedMessage, StoredEvent

__all__ = ["STREAM_EVENT_TYPES", "STREAM_VERSION", "AppendOn", "PostgresTransaction"]

AppendOn = Callable[
    [AsyncConnection, str, str, int, Sequence[NewEvent], ProcessedMessage | None],
    Awaitable[list[StoredEvent]],
]
"""The store's append on a given connection (PostgresEventStore._append)."""

STREAM_VERSION = select(func.coalesce(func.max(events.c.version), 0)).where(
    events.c.stream_id == bindparam("stream_id")
)
STREAM_EVENT_TYPES = (
    select(events.c.event_type)
    .where(events.c.stream_id == bindparam("stream_id"))
    .order_by(events.c.version)
)


class PostgresTransaction:
    """One READ COMMITTED transaction: write through `connection`, then `append` last."""

    def __init__(self, connection: AsyncConnection, append_on: AppendOn) -> None:
        self._connection = connection
        self._append_on = append_on
        self._appended = False
        self.stored: list[StoredEvent] = []
        """What this unit appended: stored once it commits (the store counts them then)."""

    @property
    def connection(self) -> AsyncConnection:
        """The transaction's connection, for the caller's own reads and writes before appending."""
        if self._appended:
            raise RuntimeError("the append is a unit of work's last statement: write before it")
        return self._connection

    async def stream_version(self, stream_id: str) -> int:
        """The stream's version as this transaction sees it; 0 when it has no events."""
        version = await self.connection.scalar(STREAM_VERSION, {"stream_id": stream_id})
        return int(version or 0)

    async def stream_event_types(self, stream_id: str) -> list[str]:
        """The types of the stream's events, in version order."""
        result = await self.connection.execute(STREAM_EVENT_TYPES, {"stream_id": stream_id})
        return list(result.scalars())

    async def append(
        self,
        stream_id: str,
        stream_type: str,
        expected_version: int,
        events: Sequence[NewEvent],
        *,
        processed: ProcessedMessage | None = None,
    ) -> list[StoredEvent]:
        """Append as EventStore.append does, but commit only with the whole unit."""
        check_append(stream_id, expected_version, events)
        self._appended = True
        stored = await self._append_on(
            self._connection, stream_id, stream_type, expected_version, events, processed
        )
        self.stored += stored
        return stored
