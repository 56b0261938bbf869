"""The projections worker on the real PostgreSQL: at most once, in order, gaps closed."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.cds import SalesOrder, SalesOrderDetail
from contracts.envelope import Message, envelope
from contracts.events import OrderSubmitted, OrderSyncStatusChanged
from sync_service.demo_data import JANE_CONTACT_ID
from sync_service.eventstore.base import StoredEvent
from sync_service.eventstore.envelopes import to_new_event
from sync_service.eventstore.postgres import PostgresEventStore
from sync_service.projections.projector import ORDERS_PROJECTION, orderer_of
from sync_service.projections.tables import LIVE, projection_checkpoints
from sync_service.projections.worker import ProjectionsWorker
from sync_service.relay.records import to_record
from sync_service.streams import order_stream

pytestmark = pytest.mark.integration


def _order(order_id: uuid.UUID) -> OrderSubmitted:
    line = SalesOrderDetail(
        sequence_number=1,
        product_number="P-1000",
        quantity=Decimal(3),
        unit="ea",
        price_per_unit=Decimal(9),
        extended_amount=Decimal(27),
    )
    order = SalesOrder(
        sales_order_id=order_id,
        customer_account="US-001",
        company="usmf",
        currency="USD",
        requested_receipt_date=date(2026, 12, 1),
        lines=[line],
    )
    return OrderSubmitted(order=order, submitted_by=str(JANE_CONTACT_ID))


async def _append(store: PostgresEventStore, order_id: uuid.UUID, payload: Message) -> StoredEvent:
    stream = order_stream(order_id)
    new = to_new_event(envelope(payload, origin="portal", company="usmf"))
    [stored] = await store.append(stream, "order", await store.stream_version(stream), [new])
    return stored


async def _row(engine: AsyncEngine, order_id: uuid.UUID) -> dict[str, Any]:
    async with engine.connect() as connection:
        row = (
            await connection.execute(select(LIVE.orders).where(LIVE.orders.c.order_id == order_id))
        ).one()
        return dict(row._mapping)


async def test_a_redelivered_event_changes_nothing(
    engine: AsyncEngine, demo: PostgresEventStore
) -> None:
    worker = ProjectionsWorker(engine)
    order_id = uuid.uuid4()
    submitted = await _append(demo, order_id, _order(order_id))
    assert await worker.handle(to_record(submitted).value) == 1
    changed = OrderSyncStatusChanged(
        salesorderid=order_id, status="synced", sales_order_number="S1"
    )
    status = await _append(demo, order_id, changed)
    assert await worker.handle(to_record(status).value) == 1
    before = await _row(engine, order_id)
    assert (before["status"], before["total_amount"]) == ("synced", Decimal(27))

    # Were the submit applied again, the order would fall back to `pending`.
    assert await worker.handle(to_record(submitted).value) == 0
    assert await worker.handle(to_record(status).value) == 0
    assert await _row(engine, order_id) == before


async def test_a_lost_record_is_made_up_from_the_store(
    engine: AsyncEngine, demo: PostgresEventStore
) -> None:
    worker = ProjectionsWorker(engine)
    order_id = uuid.uuid4()
    await _append(demo, order_id, _order(order_id))  # its record never arrives
    failed = OrderSyncStatusChanged(salesorderid=order_id, status="sync_failed", reason="no group")
    status = await _append(demo, order_id, failed)

    assert await worker.handle(to_record(status).value) == 2
    row = await _row(engine, order_id)
    assert (row["status"], row["sync_failure_reason"]) == ("sync_failed", "no group")
    async with engine.connect() as connection:
        freshness = (await connection.execute(select(projection_checkpoints))).one()
    assert (freshness.name, freshness.last_position) == (ORDERS_PROJECTION, status.position)
    assert freshness.last_event_at == status.occurred_at


def test_the_orderer_is_the_submitting_contact_or_an_erp_orders_contact_person() -> None:
    order = _order(uuid.uuid4())
    assert orderer_of(order, "portal") == JANE_CONTACT_ID
    by_admin = order.model_copy(update={"submitted_by": "admin"})
    assert orderer_of(by_admin, "portal") is None
    from_erp = by_admin.model_copy(
        update={"order": order.order.model_copy(update={"contact_person_id": str(JANE_CONTACT_ID)})}
    )
    assert orderer_of(from_erp, "scm") == JANE_CONTACT_ID
    assert orderer_of(from_erp, "portal") is None


async def test_a_batch_of_records_is_applied_in_order_once(
    engine: AsyncEngine, demo: PostgresEventStore
) -> None:
    worker = ProjectionsWorker(engine)
    first, second = uuid.uuid4(), uuid.uuid4()
    submitted = await _append(demo, first, _order(first))
    synced = OrderSyncStatusChanged(salesorderid=first, status="synced", sales_order_number="S1")
    status = await _append(demo, first, synced)
    other = await _append(demo, second, _order(second))
    records = [to_record(event).value for event in (submitted, status, other)]

    # A malformed record and a copy of an earlier one change nothing and block nothing.
    applied = await worker.handle_batch(
        [records[0], b"{not json", records[1], records[0], records[2]]
    )

    assert applied == 3
    row = await _row(engine, first)
    assert (row["status"], row["sales_order_number"]) == ("synced", "S1")
    assert (await _row(engine, second))["status"] == "pending"
    assert await worker.handle_batch(records) == 0  # a redelivered batch
    assert await _row(engine, first) == row
    async with engine.connect() as connection:
        freshness = (await connection.execute(select(projection_checkpoints))).one()
    assert freshness.last_position == other.position


async def test_a_batch_closes_the_gap_of_a_lost_record(
    engine: AsyncEngine, demo: PostgresEventStore
) -> None:
    worker = ProjectionsWorker(engine)
    order_id = uuid.uuid4()
    await _append(demo, order_id, _order(order_id))  # its record never arrives
    failed = OrderSyncStatusChanged(salesorderid=order_id, status="sync_failed", reason="no group")
    status = await _append(demo, order_id, failed)

    assert await worker.handle_batch([to_record(status).value, to_record(status).value]) == 2
    row = await _row(engine, order_id)
    assert (row["status"], row["sync_failure_reason"]) == ("sync_failed", "no group")
