"""Every Prometheus metric of dualsync, in one place so names and labels stay consistent.

All metrics live in prometheus_client's default registry: the API's `/metrics` exposes them for
`dualsync run all` (one process), and `DUALSYNC_METRICS_PORT` serves them for a service run on
its own (sync_service.service_runner). Labels are kept low-cardinality: command and map names,
origins, and error classes — never ids, keys or messages. Gauges of lag live with the lag code.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Final, Protocol

from prometheus_client import Counter, Gauge, Histogram, start_http_server

from contracts.events import OrderSubmitted
from sync_service.logs import get_logger
from sync_service.settings import Settings

__all__ = [
    "COMMANDS_ACCEPTED",
    "COMMANDS_REFUSED",
    "COMMANDS_UNVERIFIED",
    "DEAD_LETTERS",
    "EVENTS_STORED",
    "LATENCY_BUCKETS",
    "MAP_AUTO_PAUSES",
    "MAP_PAUSED",
    "POISON_RECORDS",
    "PROJECTION_EVENTS_APPLIED",
    "RECORDS_MAPPED",
    "RELAY_PUBLISHED",
    "SUBMIT_TO_SCM",
    "SUBMIT_TO_VIEW",
    "count_events_stored",
    "count_projected",
    "observe_since",
    "serve_metrics",
]

log = get_logger(__name__)

LATENCY_BUCKETS: Final = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)
"""Seconds: an order normally crosses the pipeline in tens of milliseconds to a few seconds."""

COMMANDS_ACCEPTED: Final = Counter(
    "dualsync_commands_accepted",
    "Commands the API accepted and put on the commands topic, by command type.",
    ["command"],
)
COMMANDS_REFUSED: Final = Counter(
    "dualsync_commands_refused",
    "Commands refused, by command type and reason. By the API before Kafka: 'invalid' (fields "
    "at fault), 'not_found', 'idempotency_key_reused', 'unavailable' (Kafka did not take it), "
    "or a redemption's refusal ('unknown', 'expired', 'used_up', 'wrong_contact'); by the "
    "command processor after the API took it: 'rejected' (a domain rule).",
    ["command", "reason"],
)
COMMANDS_UNVERIFIED: Final = Counter(
    "dualsync_commands_unverified",
    "Records of portal.commands.v1 the command processor rejected before deciding, by why: "
    "'unsigned', 'unknown_key' (signed with a key it does not know), 'bad_signature'. Any of "
    "them means something other than the portal API writes to the commands topic.",
    ["reason"],
)
EVENTS_STORED: Final = Counter(
    "dualsync_events_stored",
    "Events appended to the event store (counted after the transaction commits), by origin.",
    ["origin"],
)
RELAY_PUBLISHED: Final = Counter(
    "dualsync_relay_published",
    "Stored events the outbox relay published to their Kafka topic.",
)
RECORDS_MAPPED: Final = Counter(
    "dualsync_records_mapped",
    "Records a map translated and delivered to the other side, by map and direction "
    "('outbound' = CDS to SCM, 'inbound' = SCM to CDS).",
    ["map", "direction"],
)
DEAD_LETTERS: Final = Counter(
    "dualsync_dead_letters",
    "Records set aside on dualsync.deadletter.v1, by map and reason (the error class, e.g. "
    "'UnknownReference', 'MappingFailed', 'ContractError').",
    ["map", "reason"],
)
POISON_RECORDS: Final = Counter(
    "dualsync_poison_records",
    "Records that could never succeed, settled so that their partition moved on, by consumer, "
    "settlement ('rejected' command outcome, 'dead_lettered', 'logged' when nothing could be "
    "stored) and fault ('deterministic', or 'unexpected' after DUALSYNC_POISON_ATTEMPTS).",
    ["consumer", "settlement", "fault"],
)
PROJECTION_EVENTS_APPLIED: Final = Counter(
    "dualsync_projection_events_applied",
    "Events the projections worker applied to a read model, by projection.",
    ["projection"],
)
MAP_AUTO_PAUSES: Final = Counter(
    "dualsync_map_auto_pauses",
    "Times a map was paused automatically because its dead letters passed the alert threshold.",
    ["map"],
)
MAP_PAUSED: Final = Gauge(
    "dualsync_map_paused",
    "1 while a map is paused (by ops or by the alert threshold), 0 while it runs.",
    ["map"],
)
SUBMIT_TO_SCM: Final = Histogram(
    "dualsync_submit_to_scm_seconds",
    "Seconds from an order's submit (the SubmitOrder command's time) until the outbound worker "
    "published its sales order to scm.salesorders.v1 for the first time.",
    buckets=LATENCY_BUCKETS,
)
SUBMIT_TO_VIEW: Final = Histogram(
    "dualsync_submit_to_view_seconds",
    "Seconds from an order's submit (the SubmitOrder command's time) until the projections "
    "worker committed the order into the read model (its first appearance in a view).",
    buckets=LATENCY_BUCKETS,
)


def observe_since(histogram: Histogram, started: datetime, now: datetime | None = None) -> None:
    """Record the seconds from `started` to now; a negative span (clock skew) counts as zero."""
    end = now or datetime.now(UTC)
    histogram.observe(max(0.0, (end - started).total_seconds()))


class _Event(Protocol):
    """What the counters read of a stored event (sync_service.eventstore.StoredEvent)."""

    @property
    def event_type(self) -> str: ...
    @property
    def origin(self) -> str: ...
    @property
    def occurred_at(self) -> datetime: ...


def count_events_stored(events: Iterable[_Event]) -> None:
    """Count events whose append has committed."""
    for event in events:
        EVENTS_STORED.labels(event.origin).inc()


def count_projected(projection: str, events: Iterable[_Event]) -> None:
    """Count events a projection committed; a portal order seen first times submit -> view."""
    now = datetime.now(UTC)
    for event in events:
        PROJECTION_EVENTS_APPLIED.labels(projection).inc()
        # ERP-created orders (origin scm) were not submitted on the portal: not this latency.
        if event.event_type == OrderSubmitted.message_type and event.origin == "portal":
            observe_since(SUBMIT_TO_VIEW, event.occurred_at, now)


async def serve_metrics(settings: Settings) -> None:
    """Serve the default registry on api_host:metrics_port until cancelled.

    For services run without the API (`dualsync run outbound`), whose metrics the API's
    /metrics in another process cannot see.
    """
    server, thread = start_http_server(settings.metrics_port, addr=settings.api_host)
    log.info("metrics.listening", url=f"http://{settings.api_host}:{settings.metrics_port}/")
    try:
        await asyncio.Event().wait()  # until cancelled
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
