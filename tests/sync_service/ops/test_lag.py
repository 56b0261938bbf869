"""Lag against the real Kafka and PostgreSQL: offsets, stuck partitions, maps, the relay."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.topics import CDS_EVENTS, SCM_INBOUND
from sync_service.eventstore.postgres import PostgresEventStore
from sync_service.mappings.inbound import INBOUND_GROUP
from sync_service.mappings.outbound import OUTBOUND_GROUP, OutboundWorker
from sync_service.mappings.pausing import set_paused
from sync_service.ops.lag import LagSampler, Watched
from sync_service.projections.worker import CONSUMER_GROUP as PROJECTIONS_GROUP
from sync_service.relay import OutboxRelay
from sync_service.settings import Settings
from sync_service.streams import order_stream
from sync_service.topics import ensure_topics
from tests.sync_service.mappings.orders import order_event, portal_order
from tests.sync_service.mappings.wire import send, send_raw
from tests.sync_service.ops.lag_helpers import commit, group_lag, map_row, rows, until

pytestmark = pytest.mark.integration

SALES_ORDERS = "SalesOrderHeaders"


@pytest.fixture
def group() -> str:
    """The inbound worker's group: the API's lag reads as the "ops" principal, which may describe
    the workers' groups only. No inbound worker runs in these tests, and the test's prefix keeps
    its group apart from any other, so commits never meet a running worker."""
    return INBOUND_GROUP


@pytest.fixture
async def sampler(settings: Settings, engine: AsyncEngine) -> AsyncIterator[LagSampler]:
    sampler = LagSampler(settings, engine)
    yield sampler
    await sampler.close()


async def _own_sampler(settings: Settings, engine: AsyncEngine, group: str) -> LagSampler:
    await ensure_topics(settings, [SCM_INBOUND])
    return LagSampler(settings, engine, watched=[Watched(group, SCM_INBOUND)])


async def test_waiting_records_are_the_lag_and_it_drains_to_zero_once_the_group_commits(
    settings: Settings, engine: AsyncEngine, group: str
) -> None:
    sampler = await _own_sampler(settings, engine, group)
    try:
        await send_raw(settings, SCM_INBOUND, *(("key-1", b"{}") for _ in range(5)))

        before = await sampler.sample()
        waiting = [row for row in rows(before, group) if row.lag]
        assert len(waiting) == 1  # one key, one partition
        # The group never committed: it would start at the beginning, so every record waits.
        assert (waiting[0].committed, waiting[0].end, waiting[0].lag) == (0, 5, 5)
        assert group_lag(before, group) == 5
        assert len(rows(before, group)) == 3  # every partition of the topic has its row

        await commit(settings, group, SCM_INBOUND, {waiting[0].partition: 5})
        after = await sampler.sample()
        assert group_lag(after, group) == 0
        assert all(row.committed == row.end for row in rows(after, group) if row.end)
        assert not any(row.stuck for row in after.partitions)
    finally:
        await sampler.close()


async def test_lag_is_clamped_at_zero_when_the_commit_is_past_the_end(
    settings: Settings, engine: AsyncEngine, group: str
) -> None:
    sampler = await _own_sampler(settings, engine, group)
    try:
        await commit(settings, group, SCM_INBOUND, {0: 7})  # an empty partition: end is 0

        report = await sampler.sample()
        row = next(row for row in rows(report, group) if row.partition == 0)
        assert (row.committed, row.end, row.lag, row.stuck) == (7, 0, 0, False)
        assert group_lag(report, group) == 0
    finally:
        await sampler.close()


async def test_a_partition_whose_commit_does_not_move_while_records_wait_is_stuck(
    settings: Settings, engine: AsyncEngine, group: str
) -> None:
    settings = settings.model_copy(update={"lag_stuck_after_s": 0.3})
    sampler = await _own_sampler(settings, engine, group)
    try:
        await send_raw(settings, SCM_INBOUND, ("key-1", b"{}"), ("key-1", b"{}"))
        first = await sampler.sample()
        assert not any(row.stuck for row in first.partitions)  # nothing known about it yet

        stuck = await until(sampler, lambda r: any(row.stuck for row in r.partitions))
        [row] = [row for row in stuck.partitions if row.stuck]
        assert row.lag == 2 and row.unchanged_for_s >= 0.3
        assert [g.stuck_partitions for g in stuck.groups] == [1]
        assert stuck.stuck_after_s == 0.3
        # The partitions without waiting records are never stuck, however long they stay put.
        assert all(not r.stuck for r in stuck.partitions if r.lag == 0)

        await commit(settings, group, SCM_INBOUND, {row.partition: 2})
        moved = await sampler.sample()
        assert not any(r.stuck for r in moved.partitions)
        again = next(r for r in moved.partitions if r.partition == row.partition)
        assert again.unchanged_for_s == 0  # it moved in this sample: its clock starts again
    finally:
        await sampler.close()


async def test_pausing_a_map_holds_its_records_and_lag_grows_resuming_drains_it_to_zero(
    settings: Settings, engine: AsyncEngine, outbound: OutboundWorker, sampler: LagSampler
) -> None:
    await set_paused(engine, SALES_ORDERS, True)
    await asyncio.sleep(1.0)  # every worker honours it within a second
    order = portal_order()
    key = order_stream(order.sales_order_id)
    versions = [order.model_copy(update={"requisition_number": f"R{n}"}) for n in (1, 2, 3)]
    await send(settings, CDS_EVENTS, *((key, order_event(v)) for v in versions))

    held = await until(sampler, lambda r: map_row(r, SALES_ORDERS, "outbound").pending == 3)
    orders = map_row(held, SALES_ORDERS, "outbound")
    assert orders.paused and not orders.pending_capped
    assert orders.oldest_pending_age_s is not None
    assert group_lag(held, OUTBOUND_GROUP) == 3
    # Other maps have nothing waiting; the projections group has not read them either.
    assert all(m.pending == 0 for m in held.maps if m is not orders and m.name != SALES_ORDERS)
    assert map_row(held, SALES_ORDERS, "inbound").pending == 0
    assert group_lag(held, PROJECTIONS_GROUP) == 3
    assert [(p.name, p.pending) for p in held.projections] == [("orders", 3)]
    labels = {"map": SALES_ORDERS, "direction": "outbound"}
    assert REGISTRY.get_sample_value("dualsync_map_pending_records", labels) == 3

    first_age = orders.oldest_pending_age_s
    older = await until(
        sampler,
        lambda r: (map_row(r, SALES_ORDERS, "outbound").oldest_pending_age_s or 0) > first_age,
    )
    assert map_row(older, SALES_ORDERS, "outbound").pending == 3  # still held

    await set_paused(engine, SALES_ORDERS, False)
    drained = await until(
        sampler,
        lambda r: (
            map_row(r, SALES_ORDERS, "outbound").pending == 0 and group_lag(r, OUTBOUND_GROUP) == 0
        ),
    )
    orders = map_row(drained, SALES_ORDERS, "outbound")
    assert not orders.paused and orders.oldest_pending_age_s is None
    assert orders.since_last_applied_s is not None  # the worker noted when it applied them
    assert REGISTRY.get_sample_value("dualsync_map_pending_records", labels) == 0
    assert REGISTRY.get_sample_value("dualsync_map_oldest_pending_age_seconds", labels) == 0


async def test_the_relay_lag_is_the_stored_events_not_yet_published(
    settings: Settings, engine: AsyncEngine, demo: PostgresEventStore, sampler: LagSampler
) -> None:
    await ensure_topics(settings, [CDS_EVENTS])
    head = await demo.head_position()
    before = await sampler.sample()
    assert before.relay.model_dump() == {
        "store_position": head,
        "published_position": 0,
        "lag": head,
        "since_last_published_s": None,
    }
    assert REGISTRY.get_sample_value("dualsync_relay_lag_events") == head

    relay = OutboxRelay(settings, engine=engine)
    try:
        await relay.publish_pending()
    finally:
        await relay.aclose()
    after = await sampler.sample()
    assert (after.relay.published_position, after.relay.lag) == (head, 0)
    assert after.relay.since_last_published_s is not None
    # Every stored event is now on cds.events.v1, waiting for the projections worker.
    assert [(p.name, p.pending) for p in after.projections] == [("orders", head)]
    assert after.projections[0].oldest_pending_age_s is not None


async def test_a_shared_topic_is_counted_per_map_and_a_long_backlog_is_capped(
    settings: Settings, engine: AsyncEngine
) -> None:
    await ensure_topics(settings, [SCM_INBOUND])
    customers = [("CUS-1", b'{"type": "CustomerV3"}')] * 3
    products = [("CUS-1", b'{"type": "ReleasedProduct"}')] * 2
    await send_raw(settings, SCM_INBOUND, *products, *customers)

    whole = LagSampler(settings, engine)
    capped = LagSampler(settings, engine, read_cap=4)
    try:
        report = await whole.sample()
        assert map_row(report, "CustomersV3", "inbound").pending == 3
        assert map_row(report, "ReleasedProducts", "inbound").pending == 2
        assert not map_row(report, "CustomersV3", "inbound").pending_capped
        # The outbound map of the same name reads another topic: nothing waits for it.
        assert map_row(report, "CustomersV3", "outbound").pending == 0

        cut = await capped.sample()
        assert group_lag(cut, INBOUND_GROUP) == 5  # offsets are whole; only reading is capped
        # Read in order: both products, then two of the three customers.
        assert map_row(cut, "ReleasedProducts", "inbound").pending == 2
        assert map_row(cut, "CustomersV3", "inbound").pending == 2
        assert all(m.pending_capped for m in cut.maps if m.direction == "inbound")
    finally:
        await whole.close()
        await capped.close()
