"""In-memory event store and checkpoints: the same contract as PostgreSQL, for fast tests."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from sync_service.eventstore._validation import check_append, check_read_all
from sync_service.eventstore.base import (
    AlreadyProcessed,
    ConcurrencyConflict,
    InvalidEvent,
    NewEvent,
    ProcessedMessage,
    StoredEvent,
)

__all__ = ["InMemoryCheckpointStore", "InMemoryEventStore"]


class InMemoryEventStore:
    """An EventStore held in lists and dicts; one lock makes every append atomic."""

    def __init__(self) -> None:
        self._log: list[StoredEvent] = []
        self._streams: dict[str, list[StoredEvent]] = {}
        self._event_ids: set[object] = set()
        self._processed: set[ProcessedMessage] = set()
        self._lock = asyncio.Lock()

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
        async with self._lock:
            # Every check comes before the first write, so that a refusal leaves nothing behind.
            if processed is not None and processed in self._processed:
                raise AlreadyProcessed(processed.consumer, processed.message_id)
            stream = self._streams.get(stream_id, [])
            if len(stream) != expected_version:
                raise ConcurrencyConflict(stream_id, expected_version, len(stream))
            for event in events:
                if event.event_id in self._event_ids:
                    raise InvalidEvent(f"event id {event.event_id} is already stored")
            recorded_at = datetime.now(UTC)
            stored = [
                StoredEvent(
                    position=len(self._log) + offset,
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
                    # A copy, as a database would keep: later changes to the caller's dict stay out.
                    payload=copy.deepcopy(dict(event.payload)),
                    recorded_at=recorded_at,
                )
                for offset, event in enumerate(events, start=1)
            ]
            if processed is not None:
                self._processed.add(processed)
            self._log.extend(stored)
            self._streams.setdefault(stream_id, []).extend(stored)
            self._event_ids.update(event.event_id for event in events)
            return [_copy(event) for event in stored]

    async def read_stream(self, stream_id: str, *, after_version: int = 0) -> list[StoredEvent]:
        """The stream's events after `after_version`, in version order."""
        return [_copy(e) for e in self._streams.get(stream_id, [])[max(after_version, 0) :]]

    async def read_all(self, *, after_position: int = 0, limit: int = 1000) -> list[StoredEvent]:
        """Up to `limit` events of every stream after `after_position`, in position order."""
        check_read_all(after_position, limit)
        return [_copy(e) for e in self._log[after_position : after_position + limit]]

    async def stream_version(self, stream_id: str) -> int:
        """The stream's current version; 0 when it has no events."""
        return len(self._streams.get(stream_id, []))

    async def head_position(self) -> int:
        """The position of the newest event; 0 when the store is empty."""
        return len(self._log)

    async def is_processed(self, consumer: str, message_id: str) -> bool:
        """Whether the consumer recorded this message as processed."""
        return ProcessedMessage(consumer, message_id) in self._processed


class InMemoryCheckpointStore:
    """A CheckpointStore held in a dict."""

    def __init__(self) -> None:
        self._positions: dict[str, int] = {}

    async def get(self, name: str) -> int:
        """The position saved under `name`; 0 when none was saved."""
        return self._positions.get(name, 0)

    async def set(self, name: str, position: int) -> None:
        """Save `position` under `name`, replacing any earlier one."""
        if position < 0:
            raise ValueError(f"a checkpoint position is 0 or more, not {position}")
        self._positions[name] = position


def _copy(event: StoredEvent) -> StoredEvent:
    # Readers get their own payloads, so that mutating one cannot rewrite history.
    return replace(event, payload=copy.deepcopy(event.payload))
