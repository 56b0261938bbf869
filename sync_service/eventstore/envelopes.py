"""Between the wire's envelopes and the event store's rows: one event is one envelope."""

from __future__ import annotations

from typing import Any

from pydantic_core import to_json

from contracts.envelope import Envelope, Message, validate_envelope
from contracts.registry import message_class
from sync_service.eventstore.base import NewEvent, StoredEvent

__all__ = ["to_envelope", "to_envelope_json", "to_new_event"]


def to_new_event(env: Envelope[Message]) -> NewEvent:
    """The row to append for `env`; the event id is the envelope's message id."""
    return NewEvent(
        event_id=env.message_id,
        event_type=env.type,
        schema_version=env.schema_version,
        occurred_at=env.occurred_at,
        origin=env.origin,
        company=env.company,
        correlation_id=env.correlation_id,
        causation_id=env.causation_id,
        payload=env.payload.model_dump(mode="json", by_alias=True),
    )


def to_envelope(event: StoredEvent) -> Envelope[Message]:
    """The envelope a stored event travels in: same id, so consumers can drop a redelivery."""
    return validate_envelope(_envelope_fields(event), message_class(event.event_type))


def _envelope_fields(event: StoredEvent) -> dict[str, Any]:
    """The envelope's fields of a stored event, in the envelope's order."""
    return {
        "message_id": event.event_id,
        "type": event.event_type,
        "schema_version": event.schema_version,
        "occurred_at": event.occurred_at,
        "origin": event.origin,
        "company": event.company,
        "correlation_id": event.correlation_id,
        "causation_id": event.causation_id,
        "payload": dict(event.payload),  # a Mapping; validators and serializers take dicts
    }


def to_envelope_json(event: StoredEvent) -> bytes:
    """`to_json_bytes(to_envelope(event))` without validating again: the JSON the relay sends.

    An event was validated as an envelope before it was appended and its payload is stored as
    that envelope's wire JSON, so re-validating every event before publishing it (the relay's
    largest cost) could only ever produce the same JSON. The envelope's fields keep their order
    and pydantic's encoding (its own serializer writes them); the payload's keys come in the
    order the store returns them (PostgreSQL's jsonb orders keys its own way), which changes no
    JSON value.
    """
    return to_json(_envelope_fields(event))
