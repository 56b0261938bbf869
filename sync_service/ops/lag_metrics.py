"""The lag gauges for Prometheus, set from each lag sample (the API samples in the background)."""

from __future__ import annotations

from typing import Final

from prometheus_client import Gauge

from sync_service.ops.lag_report import LagReport

__all__ = [
    "CONSUMER_LAG",
    "MAP_OLDEST_PENDING_AGE",
    "MAP_PENDING",
    "PARTITION_STUCK",
    "PROJECTION_OLDEST_PENDING_AGE",
    "RELAY_LAG",
    "publish_gauges",
]

CONSUMER_LAG: Final = Gauge(
    "dualsync_consumer_lag_records",
    "Records on a partition after the consumer group's committed offset (never below zero).",
    ["group", "topic", "partition"],
)
PARTITION_STUCK: Final = Gauge(
    "dualsync_consumer_partition_stuck",
    "1 while records wait on a partition and the group's committed offset has not moved for "
    "DUALSYNC_LAG_STUCK_AFTER_S seconds, else 0.",
    ["group", "topic", "partition"],
)
MAP_PENDING: Final = Gauge(
    "dualsync_map_pending_records",
    "Records of a map's message types waiting to be applied, by map and direction (a lower "
    "bound when more wait than one sample reads).",
    ["map", "direction"],
)
MAP_OLDEST_PENDING_AGE: Final = Gauge(
    "dualsync_map_oldest_pending_age_seconds",
    "Age of the oldest record of a map that waits to be applied (0 when none waits).",
    ["map", "direction"],
)
PROJECTION_OLDEST_PENDING_AGE: Final = Gauge(
    "dualsync_projection_oldest_pending_age_seconds",
    "Age of the oldest event a projection has not applied yet (0 when none waits).",
    ["projection"],
)
RELAY_LAG: Final = Gauge(
    "dualsync_relay_lag_events",
    "Events stored but not yet published to cds.events.v1 by the outbox relay.",
)


def publish_gauges(report: LagReport) -> None:
    """Set every lag gauge from `report`, dropping series the report no longer has."""
    # No await in here: a scrape never sees the gauges half cleared.
    for gauge in (CONSUMER_LAG, PARTITION_STUCK, MAP_PENDING, MAP_OLDEST_PENDING_AGE):
        gauge.clear()
    PROJECTION_OLDEST_PENDING_AGE.clear()
    for row in report.partitions:
        labels = (row.group, row.topic, str(row.partition))
        CONSUMER_LAG.labels(*labels).set(row.lag)
        PARTITION_STUCK.labels(*labels).set(int(row.stuck))
    for entry in report.maps:
        MAP_PENDING.labels(entry.name, entry.direction).set(entry.pending)
        MAP_OLDEST_PENDING_AGE.labels(entry.name, entry.direction).set(
            entry.oldest_pending_age_s or 0.0
        )
    for projection in report.projections:
        PROJECTION_OLDEST_PENDING_AGE.labels(projection.name).set(
            projection.oldest_pending_age_s or 0.0
        )
    RELAY_LAG.set(report.relay.lag)
