"""The event store port: what the domain may ask of any event store, with no database in sight."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

__all__ = [
    "ORIGINS",
    "AlreadyProcessed",
    "CheckpointStore",
    "ConcurrencyConflict",
    "EventStore",
    "EventStoreError",
    "InvalidEvent",
    "NewEvent",
    "ProcessedMessage",
    "StoredEvent",
]

ORIGINS = frozenset({"portal", "scm"})


@dataclass(frozen=True, slots=True, kw_only=True)
class NewEvent:
    """An event to append; payload must be JSON-ready (pydantic `model_dump(mode="json")`)."""

    event_id: UUID
    event_type: str
    schema_version: int
    occurred_at: datetime
    origin: str
    company: str
    correlation_id: UUID
    causation_id: UUID | None
    payload: Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredEvent:
    """An event as recorded: its global position, its stream and its version in that stream."""

    position: int
    stream_id: str
    stream_type: str
    version: int
    event_id: UUID
    event_type: str
    schema_version: int
    occurred_at: datetime
    origin: str
    company: str
    correlation_id: UUID
    causation_id: UUID | None
    payload: Mapping[str, Any]
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class ProcessedMessage:
    """A message a consumer handled, recorded in the same transaction as the handling's effect."""

    consumer: str
    message_id: str


class EventStoreError(Exception):
    """Base of every error the event store raises on purpose."""


# Named for the situation, not "...Error": callers read `except ConcurrencyConflict` as a branch.
class ConcurrencyConflict(EventStoreError):
    """The stream moved on since the caller read it: reload, decide again, retry."""

    def __init__(self, stream_id: str, expected_version: int, actual_version: int) -> None:
        super().__init__(
            f"stream {stream_id!r} is at version {actual_version}, "
            f"not at the expected version {expected_version}"
        )
        self.stream_id = stream_id
        self.expected_version = expected_version
        self.actual_version = actual_version


class AlreadyProcessed(EventStoreError):
    """The consumer recorded this message before: its effect exists, so do nothing again."""

    def __init__(self, consumer: str, message_id: str) -> None:
        super().__init__(f"consumer {consumer!r} has already processed message {message_id!r}")
        self.consumer = consumer
        self.message_id = message_id


class InvalidEvent(EventStoreError, ValueError):
    """An append was refused before anything was written: the events or arguments are unusable."""


class EventStore(Protocol):
    """An append-only log of events in streams, with a global order that readers can follow."""

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
        ...

    async def read_stream(self, stream_id: str, *, after_version: int = 0) -> list[StoredEvent]:
        """The stream's events after `after_version`, in version order."""
        ...

    async def read_all(self, *, after_position: int = 0, limit: int = 1000) -> list[StoredEvent]:
        """Up to `limit` events of every stream after `after_position`, in position order."""
        ...

    async def stream_version(self, stream_id: str) -> int:
        """The stream's current version; 0 when it has no events."""
        ...

    async def head_position(self) -> int:
        """The position of the newest event; 0 when the store is empty."""
        ...

    async def is_processed(self, consumer: str, message_id: str) -> bool:
        """Whether the consumer recorded this message as processed."""
        ...


class CheckpointStore(Protocol):
    """How far each follower of the log (relay, projection) has got."""

    async def get(self, name: str) -> int:
        """The position saved under `name`; 0 when none was saved."""
        ...

    async def set(self, name: str, position: int) -> None:
        """Save `position` under `name`, replacing any earlier one."""
        ...
