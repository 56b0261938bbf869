"""A stored event becomes a record keyed by its stream, with the envelope as JSON and headers."""

from __future__ import annotations

import pytest

import sync_service.relay as relay
from contracts.envelope import envelope
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


def test_exported_names() -> None:
    assert sorted(relay.__all__) == [
        "OutboxRelay",
        "RELAY_CHECKPOINT",
        "RELAY_LOCK_KEY",
        "run_relay",
    ]
    assert all(hasattr(relay, name) for name in relay.__all__)
