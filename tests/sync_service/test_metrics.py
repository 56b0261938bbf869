"""The metrics module: what the helpers count, and /metrics of a service run without the API."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client import REGISTRY, Histogram

from sync_service.eventstore.base import StoredEvent
from sync_service.metrics import (
    LATENCY_BUCKETS,
    count_events_stored,
    count_projected,
    observe_since,
)
from sync_service.service_runner import run_services
from sync_service.settings import Settings


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _event(event_type: str, origin: str, occurred_at: datetime) -> StoredEvent:
    return StoredEvent(
        position=1, stream_id="order-1", stream_type="order", version=1, event_id=uuid.uuid4(),
        event_type=event_type, schema_version=1, occurred_at=occurred_at, origin=origin,
        company="usmf", correlation_id=uuid.uuid4(), causation_id=None, payload={},
        recorded_at=datetime.now(UTC),
    )  # fmt: skip


def test_only_a_portal_order_times_submit_to_view() -> None:
    applied = _sample("dualsync_projection_events_applied_total", projection="orders")
    viewed = _sample("dualsync_submit_to_view_seconds_count")
    now = datetime.now(UTC)
    count_projected(
        "orders",
        [
            _event("OrderSubmitted", "portal", now - timedelta(seconds=1)),
            _event("OrderSubmitted", "scm", now - timedelta(hours=1)),  # created in the ERP
            _event("OrderSyncStatusChanged", "scm", now),
        ],
    )
    assert _sample("dualsync_projection_events_applied_total", projection="orders") == applied + 3
    assert _sample("dualsync_submit_to_view_seconds_count") == viewed + 1


def test_events_stored_count_by_origin() -> None:
    portal = _sample("dualsync_events_stored_total", origin="portal")
    scm = _sample("dualsync_events_stored_total", origin="scm")
    now = datetime.now(UTC)
    count_events_stored([_event("OrderSubmitted", "portal", now), _event("X", "scm", now)])
    assert _sample("dualsync_events_stored_total", origin="portal") == portal + 1
    assert _sample("dualsync_events_stored_total", origin="scm") == scm + 1


def test_a_clock_ahead_of_ours_observes_zero_not_a_negative_latency() -> None:
    histogram = Histogram("latency_probe_seconds", "probe", buckets=LATENCY_BUCKETS, registry=None)
    now = datetime.now(UTC)
    observe_since(histogram, now + timedelta(seconds=3), now)
    observe_since(histogram, now - timedelta(seconds=2), now)
    [metric] = histogram.collect()
    values = {(s.name, s.labels.get("le")): s.value for s in metric.samples}
    assert values[("latency_probe_seconds_sum", None)] == 2.0
    assert values[("latency_probe_seconds_bucket", "0.005")] == 1


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.integration
async def test_a_service_run_alone_serves_metrics_on_the_metrics_port(settings: Settings) -> None:
    port = _free_port()
    alone = settings.model_copy(update={"metrics_port": port})
    running = asyncio.create_task(run_services(alone, "projections"))
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        async with httpx.AsyncClient() as client, asyncio.timeout(20):
            while True:
                with contextlib.suppress(httpx.ConnectError):
                    response = await client.get(url)
                    break
                await asyncio.sleep(0.05)
        assert response.status_code == 200
        assert "dualsync_projection_events_applied_total" in response.text
        assert "# HELP dualsync_events_stored_total" in response.text
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(url)  # stopped with the services
