"""Every contract message survives the trip envelope -> stored event -> envelope unchanged."""

from __future__ import annotations

import pytest

from contracts.envelope import envelope
from sync_service.eventstore.envelopes import to_envelope, to_new_event
from tests.contracts.samples import SAMPLES
from tests.sync_service.factories import stored


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_round_trip_through_a_stored_event(name: str) -> None:
    sent = envelope(SAMPLES[name], origin="scm", company="usmf")
    row = to_new_event(sent)
    back = stored(row, position=7, stream_id="s", stream_type="t", version=1)
    assert row.event_id == sent.message_id
    assert to_envelope(back) == sent
