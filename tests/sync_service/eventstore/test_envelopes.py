"""Every contract message survives the trip envelope -> stored event -> envelope unchanged."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from contracts.envelope import envelope
from sync_service.eventstore.base import StoredEvent
from sync_service.eventstore.envelopes import to_envelope, to_new_event
from tests.contracts.samples import SAMPLES


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_round_trip_through_a_stored_event(name: str) -> None:
    sent = envelope(SAMPLES[name], origin="scm", company="usmf")
    row = to_new_event(sent)
    stored = StoredEvent(
        position=7,
        stream_id="s",
        stream_type="t",
        version=1,
        recorded_at=datetime.now(UTC),
        event_id=row.event_id,
        event_type=row.event_type,
        schema_version=row.schema_version,
        occurred_at=row.occurred_at,
        origin=row.origin,
        company=row.company,
        correlation_id=row.correlation_id,
        causation_id=row.causation_id,
        payload=row.payload,
    )
    assert row.event_id == sent.message_id
    assert to_envelope(stored) == sent
