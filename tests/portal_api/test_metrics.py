"""GET /metrics as records flow: the `dualsync_` counters and latency histograms move.

The portal fixture runs the API, the command processor, the relay and the projections worker;
an outbound worker joins it here, all in this process, so the API's /metrics sees them all (as
`dualsync run all` does). The registry is process-wide, so every check compares a before and
an after.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from contracts.scm import SalesOrderHeader
from contracts.topics import SCM_SALESORDERS
from portal_api.app import create_app
from sync_service.demo_data import JANE_CONTACT_ID
from sync_service.eventstore.envelopes import to_new_event
from sync_service.mappings.outbound import OutboundWorker
from sync_service.settings import Settings
from sync_service.streams import order_stream
from tests.portal_api.conftest import Portal
from tests.portal_api.views_helpers import ORDER, credential, eventually, submit
from tests.sync_service.mappings.orders import order_event, portal_order
from tests.sync_service.mappings.wire import Received, read

pytestmark = pytest.mark.integration

Samples = Mapping[tuple[str, frozenset[tuple[str, str]]], float]

SALES_ORDER_MAP = "SalesOrderHeaders"


async def scrape(portal: Portal) -> Samples:
    """Every sample of GET /metrics, by name and labels."""
    response = await portal.client.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value; 0 when the series does not exist yet."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def grew(before: Samples, name: str, **labels: str) -> Callable[[Samples], bool]:
    """Whether a later scrape shows the series above its value in `before`."""
    return lambda after: value(after, name, **labels) > value(before, name, **labels)


def _has_order(received: list[Received], order_id: str) -> bool:
    return any(
        isinstance(r.env.payload, SalesOrderHeader)
        and str(r.env.payload.CDSSalesOrderId) == order_id
        for r in received
    )


async def test_a_submitted_order_moves_every_counter_and_both_latencies(
    portal: Portal, outbound: OutboundWorker
) -> None:
    jane = await credential(portal, JANE_CONTACT_ID)
    before = await scrape(portal)

    order_id = await submit(portal, jane)
    await read(portal.settings, SCM_SALESORDERS, lambda seen: _has_order(seen, order_id))
    viewed = await eventually(
        lambda: portal.client.get(f"/orders/{order_id}", headers=jane),
        lambda response: response.status_code == 200,
    )
    assert viewed.json()["order_id"] == order_id

    # The workers count just after they commit: wait for the last of them, then compare.
    after = await eventually(
        lambda: scrape(portal),
        lambda samples: (
            grew(before, "dualsync_submit_to_scm_seconds_count")(samples)
            and grew(before, "dualsync_submit_to_view_seconds_count")(samples)
        ),
    )
    for name, labels in [
        ("dualsync_commands_accepted_total", {"command": "SubmitOrder"}),
        ("dualsync_events_stored_total", {"origin": "portal"}),
        ("dualsync_relay_published_total", {}),
        ("dualsync_records_mapped_total", {"map": SALES_ORDER_MAP, "direction": "outbound"}),
        ("dualsync_projection_events_applied_total", {"projection": "orders"}),
        ("dualsync_submit_to_scm_seconds_count", {}),
        ("dualsync_submit_to_view_seconds_count", {}),
    ]:
        assert value(after, name, **labels) > value(before, name, **labels), (name, labels)
    # One order: one first trip to SCM and one first appearance in the view.
    for histogram in ("dualsync_submit_to_scm_seconds", "dualsync_submit_to_view_seconds"):
        count = f"{histogram}_count"
        assert value(after, count) - value(before, count) == 1
        # Every observation lands in the +Inf bucket; the sum is a duration, never negative.
        assert value(after, f"{histogram}_bucket", le="+Inf") == value(after, count)
        assert value(after, f"{histogram}_sum") >= value(before, f"{histogram}_sum")


async def test_a_refused_order_counts_as_refused_with_its_reason(portal: Portal) -> None:
    jane = await credential(portal, JANE_CONTACT_ID)
    before = await scrape(portal)
    body = {**ORDER, "lines": [{"product_number": "P-404", "quantity": "1", "unit": "ea"}]}
    refused = await portal.client.post("/orders", json=body, headers=jane)
    assert refused.status_code == 422, refused.text
    after = await scrape(portal)
    refusals = ("dualsync_commands_refused_total", {"command": "SubmitOrder", "reason": "invalid"})
    assert value(after, refusals[0], **refusals[1]) - value(before, refusals[0], **refusals[1]) == 1
    accepted = ("dualsync_commands_accepted_total", {"command": "SubmitOrder"})
    assert value(after, accepted[0], **accepted[1]) == value(before, accepted[0], **accepted[1])


async def test_a_refused_redemption_counts_under_its_refusal(portal: Portal) -> None:
    before = await scrape(portal)
    unknown = await portal.client.post("/invitations/redeem", json={"code": "no-such-code"})
    assert unknown.status_code == 404, unknown.text
    after = await scrape(portal)
    labels = {"command": "RedeemInvitation", "reason": "unknown"}
    name = "dualsync_commands_refused_total"
    assert value(after, name, **labels) - value(before, name, **labels) == 1


async def test_a_dead_letter_counts_under_its_map_and_error_class(
    portal: Portal, outbound: OutboundWorker
) -> None:
    before = await scrape(portal)
    # An order naming a product the write model does not know. The API refuses such an order,
    # so it is appended directly: as if the product were withdrawn after the order was taken.
    order = portal_order("P-404")
    await portal.store.append(
        order_stream(order.sales_order_id), "order", 0, [to_new_event(order_event(order))]
    )
    labels = {"map": SALES_ORDER_MAP, "reason": "UnknownReference"}
    after = await eventually(
        lambda: scrape(portal), grew(before, "dualsync_dead_letters_total", **labels)
    )
    assert (
        value(after, "dualsync_dead_letters_total", **labels)
        - value(before, "dualsync_dead_letters_total", **labels)
        == 1
    )
    mapped = {"map": SALES_ORDER_MAP, "direction": "outbound"}
    assert value(after, "dualsync_records_mapped_total", **mapped) == value(
        before, "dualsync_records_mapped_total", **mapped
    )


async def test_every_dualsync_metric_says_what_it_means(settings: Settings) -> None:
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
        response = await client.get("/metrics")
    families = {
        family.name: family
        for family in text_string_to_metric_families(response.text)
        if family.name.startswith("dualsync_")
    }
    assert {
        "dualsync_commands_accepted",
        "dualsync_commands_refused",
        "dualsync_events_stored",
        "dualsync_records_mapped",
        "dualsync_dead_letters",
        "dualsync_submit_to_scm_seconds",
        "dualsync_submit_to_view_seconds",
    } <= set(families)
    for family in families.values():
        assert len(family.documentation) > 20, family.name
