"""`GET /ops/lag`: Administrators only, the JSON the ops page polls, and the gauges it sets."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from sync_service.command_processor import CONSUMER_GROUP as COMMAND_GROUP
from sync_service.demo_data import JANE_CONTACT_ID
from sync_service.mappings.outbound import OUTBOUND_GROUP
from sync_service.projections.worker import CONSUMER_GROUP as PROJECTIONS_GROUP
from tests.portal_api.conftest import ADMIN, Portal
from tests.portal_api.views_helpers import credential, submit

pytestmark = pytest.mark.integration


async def _lag(portal: Portal) -> dict[str, Any]:
    answer = await portal.client.get("/ops/lag", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _group_lag(body: dict[str, Any], group: str) -> int | None:
    return next((g["lag"] for g in body["groups"] if g["group"] == group), None)


async def test_lag_refuses_callers_who_are_not_administrators(portal: Portal) -> None:
    anonymous = await portal.client.get("/ops/lag")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("application/problem+json")

    jane = await credential(portal, JANE_CONTACT_ID)
    refused = await portal.client.get("/ops/lag", headers=jane)
    assert refused.status_code == 403
    assert "Administrator" in refused.json()["detail"]


async def test_an_order_flows_and_the_lag_shows_who_has_read_it(portal: Portal) -> None:
    await submit(portal, await credential(portal, JANE_CONTACT_ID))

    # The command processor and the projections run in the portal fixture; the outbound worker
    # does not, so its group keeps the order's events waiting.
    body = await _lag(portal)
    async with asyncio.timeout(30):
        while _group_lag(body, PROJECTIONS_GROUP) != 0 or body["relay"]["lag"] != 0:
            await asyncio.sleep(0.3)
            body = await _lag(portal)

    assert set(body) == {
        "sampled_at", "stuck_after_s", "partitions", "groups", "relay", "maps", "projections"
    }  # fmt: skip
    datetime.fromisoformat(body["sampled_at"])
    assert body["stuck_after_s"] == 60
    assert _group_lag(body, COMMAND_GROUP) == 0
    assert (_group_lag(body, OUTBOUND_GROUP) or 0) >= 1
    assert set(body["partitions"][0]) == {
        "group", "topic", "partition", "committed", "end", "lag", "stuck", "unchanged_for_s"
    }  # fmt: skip
    assert set(body["groups"][0]) == {"group", "topic", "lag", "stuck_partitions"}
    assert set(body["relay"]) == {
        "store_position", "published_position", "lag", "since_last_published_s"
    }  # fmt: skip
    orders = next(
        m for m in body["maps"] if m["name"] == "SalesOrderHeaders" and m["direction"] == "outbound"
    )
    assert orders["pending"] >= 1 and orders["oldest_pending_age_s"] is not None
    assert set(orders) == {
        "name", "direction", "paused", "pending", "pending_capped", "oldest_pending_age_s",
        "since_last_applied_s",
    }  # fmt: skip
    [projection] = body["projections"]
    assert projection["name"] == "orders" and projection["pending"] == 0
    assert projection["since_last_applied_s"] is not None

    # The sample set the gauges that /metrics exposes.
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families((await portal.client.get("/metrics")).text)
        for sample in family.samples
    }
    outbound_lag = [
        value
        for (name, labels), value in samples.items()
        if name == "dualsync_consumer_lag_records" and ("group", OUTBOUND_GROUP) in labels
    ]
    assert sum(outbound_lag) == _group_lag(body, OUTBOUND_GROUP)
    pending = (("direction", "outbound"), ("map", "SalesOrderHeaders"))
    assert samples[("dualsync_map_pending_records", pending)] == orders["pending"]
    assert samples[("dualsync_relay_lag_events", ())] == 0
