"""The simulated order lifecycle: steps, delays, stable answer ids, durations."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from sync_service.erp_sim.lifecycle import StatusDelays, answer_message_id, parse_duration


def test_steps_follow_processing_order_and_a_zero_delay_skips_a_step() -> None:
    delays = StatusDelays(confirm_after=0, ship_after=5, invoice_after=10)

    assert delays.next_step("Active") == ("Delivered", timedelta(seconds=5))
    assert delays.next_step("Delivered") == ("Invoiced", timedelta(seconds=10))
    assert delays.next_step("Invoiced") is None
    assert delays.unfinished_statuses() == ["Active", "Confirmed", "Delivered"]
    assert StatusDelays(0, 0, 0).unfinished_statuses() == []


def test_an_answer_id_is_stable_per_order_and_status() -> None:
    order = uuid4()

    assert answer_message_id("usmf", order, "Active") == answer_message_id("usmf", order, "Active")
    ids = {answer_message_id("usmf", order, s) for s in ("Active", "Confirmed", "Invoiced")}
    assert len(ids) == 3
    assert answer_message_id("demf", order, "Active") != answer_message_id("usmf", order, "Active")


@pytest.mark.parametrize(
    ("text", "seconds"), [("2s", 2.0), ("500ms", 0.5), ("1.5m", 90.0), ("0", 0.0), ("3", 3.0)]
)
def test_durations_parse(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_a_malformed_duration_is_refused() -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("soon")
