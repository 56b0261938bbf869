"""`dualsync lag`: the readable table, `--json`, and exit 2 when the stack cannot be reached."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime

import pytest

from contracts.topics import CDS_EVENTS
from sync_service.mappings.outbound import OUTBOUND_GROUP
from sync_service.ops.lag_cli import render_table
from sync_service.ops.lag_report import (
    GroupLag,
    LagReport,
    MapLag,
    PartitionLag,
    ProjectionLag,
    RelayLag,
)
from sync_service.settings import Settings
from sync_service.streams import order_stream
from sync_service.topics import ensure_topics
from tests.sync_service.mappings.orders import order_event, portal_order
from tests.sync_service.mappings.wire import send
from tests.sync_service.test_cli import _run


def _lag(settings: Settings, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return _run(
        "lag",
        *args,
        env={
            "DUALSYNC_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "DUALSYNC_DATABASE_URL": settings.database_url,
            "DUALSYNC_TOPIC_PREFIX": settings.topic_prefix,
            **env,
        },
    )


@pytest.mark.integration
async def test_lag_json_is_the_http_answer_and_counts_the_waiting_records(
    settings: Settings,
) -> None:
    await ensure_topics(settings, [CDS_EVENTS])
    order = portal_order()
    await send(settings, CDS_EVENTS, (order_stream(order.sales_order_id), order_event(order)))

    result = _lag(settings, "--json")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert LagReport.model_validate(body).stuck_after_s == 60
    outbound = [g for g in body["groups"] if g["group"] == OUTBOUND_GROUP]
    assert [(g["topic"], g["lag"]) for g in outbound] == [(settings.topic(CDS_EVENTS), 1)]
    [orders] = [
        m for m in body["maps"] if (m["name"], m["direction"]) == ("SalesOrderHeaders", "outbound")
    ]
    assert orders["pending"] == 1 and orders["paused"] is False


@pytest.mark.integration
async def test_lag_prints_a_table_with_the_stuck_partition_flagged(settings: Settings) -> None:
    await ensure_topics(settings, [CDS_EVENTS])
    order = portal_order()
    await send(settings, CDS_EVENTS, (order_stream(order.sales_order_id), order_event(order)))

    first = _lag(settings, DUALSYNC_LAG_STUCK_AFTER_S="0.1")
    assert first.returncode == 0, first.stderr
    # The first sample cannot know how long the offset stood still.
    assert not [line for line in first.stdout.splitlines() if line.endswith("STUCK")]
    second = _lag(settings, DUALSYNC_LAG_STUCK_AFTER_S="0.1")  # a process start later
    assert second.returncode == 0, second.stderr
    lines = second.stdout.splitlines()
    for header in ("GROUP", "MAP", "PROJECTION", "RELAY"):
        assert any(line.startswith(header) for line in lines), header
    stuck = [line for line in lines if line.endswith("STUCK")]
    assert stuck and all(settings.topic(CDS_EVENTS) in line for line in stuck)
    cells = [line.split() for line in lines]
    assert [OUTBOUND_GROUP, settings.topic(CDS_EVENTS), "1", "1"] in cells  # group total, stuck
    assert ["SalesOrderHeaders", "outbound", "running", "1"] in [row[:4] for row in cells]


@pytest.mark.integration
def test_lag_exits_2_naming_kafka_when_it_cannot_be_reached(settings: Settings) -> None:
    result = _lag(settings, DUALSYNC_KAFKA_BOOTSTRAP="127.0.0.1:1", DUALSYNC_CONNECT_TIMEOUT_S="1")
    assert result.returncode == 2
    assert "cannot reach Kafka at 127.0.0.1:1" in result.stderr


def test_the_table_shows_durations_capped_counts_and_paused_maps() -> None:
    report = LagReport(
        sampled_at=datetime(2026, 11, 24, 12, 0, tzinfo=UTC),
        stuck_after_s=60,
        partitions=[
            PartitionLag(
                group="g",
                topic="t",
                partition=0,
                committed=1,
                end=9,
                lag=8,
                stuck=True,
                unchanged_for_s=125,
            )
        ],
        groups=[GroupLag(group="g", topic="t", lag=8, stuck_partitions=1)],
        relay=RelayLag(store_position=5, published_position=5, lag=0, since_last_published_s=None),
        maps=[
            MapLag(
                name="CustomersV3",
                direction="inbound",
                paused=True,
                pending=2000,
                pending_capped=True,
                oldest_pending_age_s=7300,
                since_last_applied_s=None,
            )
        ],
        projections=[
            ProjectionLag(
                name="orders",
                pending=0,
                pending_capped=False,
                oldest_pending_age_s=None,
                since_last_applied_s=1.5,
            )
        ],
    )
    lines = render_table(report).splitlines()
    assert lines[0] == "lag sampled at 2026-11-24T12:00:00+00:00; stuck after 60s unchanged"
    assert ["g", "t", "0", "1", "9", "8", "2m05s", "STUCK"] in [line.split() for line in lines]
    assert ["CustomersV3", "inbound", "paused", "2000+", "2h01m", "-"] in [
        line.split() for line in lines
    ]
    assert ["orders", "0", "-", "1.5s"] in [line.split() for line in lines]
    assert ["outbox", "5", "5", "0", "-"] in [line.split() for line in lines]
