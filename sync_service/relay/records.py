"""What one stored event becomes on cds.events.v1: its key, its JSON value and its headers."""

from __future__ import annotations

from dataclasses import dataclass

from sync_service.eventstore.base import StoredEvent
from sync_service.eventstore.envelopes import to_envelope_json

__all__ = ["EventRecord", "to_record"]


@dataclass(frozen=True, slots=True)
class EventRecord:
    """A Kafka record ready to send: bytes only, headers as (name, UTF-8 value) pairs."""

    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


def to_record(event: StoredEvent) -> EventRecord:
    """The record for `event`, keyed by its stream so that one aggregate stays in one partition."""
    # Headers repeat envelope fields so that consumers can route or drop a duplicate without
    # parsing the value; `content-type` and `correlation_id` are the names FastStream reads.
    headers = [
        ("content-type", b"application/json"),
        ("message_id", str(event.event_id).encode()),
        ("type", event.event_type.encode()),
        ("schema_version", str(event.schema_version).encode()),
        ("correlation_id", str(event.correlation_id).encode()),
        ("origin", event.origin.encode()),
        ("company", event.company.encode()),
    ]
    # The stored event was validated when it was appended: its JSON is sent as it is.
    return EventRecord(key=event.stream_id.encode(), value=to_envelope_json(event), headers=headers)
