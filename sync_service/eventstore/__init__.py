"""The event store: the port every adapter implements, and the names callers need from it."""

from sync_service.eventstore.base import (
    ORIGINS,
    AlreadyProcessed,
    CheckpointStore,
    ConcurrencyConflict,
    EventStore,
    EventStoreError,
    InvalidEvent,
    NewEvent,
    ProcessedMessage,
    StoredEvent,
)

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
