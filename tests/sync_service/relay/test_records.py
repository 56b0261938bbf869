"""A stored event becomes a record keyed by its stream, with the envelope as JSON and headers."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

import sync_service.relay as relay
from contracts.envelope import envelope, to_json_bytes
from contracts.registry import decode
from sync_service.eventstore.envelopes import to_new_event
from sync_service.relay.records import to_record
from tests.contracts.samples import SAMPLES
from tests.sync_service.factories import stored


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_record_of_a_stored_event(name: str) -> None:
    sent = envelope(SAMPLES[name], origin="scm", company="usmf")
    row = to_new_event(sent)
    record = to_record(
        stored(
            row, position=42, stream_id="salesorder/usmf/SO-1", stream_type="SalesOrder", version=3
        )
    )
    assert record.key == b"salesorder/usmf/SO-1"
    assert decode(record.value) == sent
    assert dict(record.headers) == {
        "content-type": b"application/json",
        "message_id": str(sent.message_id).encode(),
        "type": name.encode(),
        "schema_version": str(sent.schema_version).encode(),
        "correlation_id": str(sent.correlation_id).encode(),
        "origin": b"scm",
        "company": b"usmf",
    }


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_record_value_is_the_envelope_json_byte_for_byte(name: str) -> None:
    # The relay writes stored events without validating them again; with the payload's keys in
    # the model's order (as appended), its bytes are exactly those pydantic would write.
    sent = envelope(SAMPLES[name], origin="scm", company="usmf", causation_id=uuid4())
    record = to_record(
        stored(to_new_event(sent), position=1, stream_id="s", stream_type="t", version=1)
    )
    assert record.value == to_json_bytes(sent)


def test_record_value_keeps_microseconds_and_a_missing_causation() -> None:
    sent = envelope(
        SAMPLES["SubmitOrder"],
        origin="portal",
        company="usmf",
        occurred_at=datetime(2025, 4, 1, 8, 30, tzinfo=UTC),
    )
    record = to_record(
        stored(to_new_event(sent), position=1, stream_id="s", stream_type="t", version=1)
    )
    assert record.value == to_json_bytes(sent)
    assert b'"occurred_at":"2025-04-01T08:30:00Z"' in record.value
    assert b'"causation_id":null' in record.value


def test_exported_names() -> None:
    assert sorted(relay.__all__) == [
        "OutboxRelay",
        "RELAY_CHECKPOINT",
        "RELAY_LOCK_KEY",
        "run_relay",
    ]
    assert all(hasattr(relay, name) for name in relay.__all__)
