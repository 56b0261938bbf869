"""Order per key through failures: later records park behind a dead letter until redrive/discard."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.cds import SalesOrder
from contracts.scm import SalesOrderHeader
from contracts.topics import CDS_EVENTS, DEADLETTER, SCM_SALESORDERS
from sync_service.eventstore.postgres import PostgresEventStore
from sync_service.kafka_access import client_options
from sync_service.mappings.outbound import OutboundWorker
from sync_service.mappings.redrive import DeadLetterNotOpen, DeadLetterOps
from sync_service.mappings.tables import dead_letters, parked_records
from sync_service.mappings.workers import dead_letter_ops
from sync_service.producer import running_producer
from sync_service.settings import Settings
from sync_service.streams import order_stream
from tests.sync_service.mappings.orders import order_event, portal_order, product_without_site
from tests.sync_service.mappings.test_outbound import _append
from tests.sync_service.mappings.wire import read, send

pytestmark = pytest.mark.integration


@pytest.fixture
async def ops(settings: Settings, engine: AsyncEngine) -> AsyncIterator[DeadLetterOps]:
    async with running_producer(
        settings.kafka_bootstrap, client_id="test-ops", security=client_options(settings, "ops")
    ) as producer:
        yield dead_letter_ops(engine, settings, producer.publish)


async def _parked(engine: AsyncEngine, count: int) -> None:
    async with asyncio.timeout(30):
        while True:
            async with engine.connect() as connection:
                found = await connection.scalar(select(func.count()).select_from(parked_records))
            if found == count:
                return
            await asyncio.sleep(0.1)


async def _blocked_order(
    settings: Settings, engine: AsyncEngine, demo: PostgresEventStore
) -> tuple[SalesOrder, str]:
    """An order of a product without site, then its update on the same key: one dead letter,
    one parked record."""
    await _append(demo, "product-usmf-P-9000", product_without_site())
    order = portal_order("P-9000")
    update = order.model_copy(update={"requisition_number": "REQ-2"})
    key = order_stream(order.sales_order_id)
    await send(settings, CDS_EVENTS, (key, order_event(order)), (key, order_event(update)))
    [letter] = await read(settings, DEADLETTER, lambda seen: len(seen) >= 1)
    await _parked(engine, 1)
    return order, str(letter.env.message_id)


async def test_a_later_record_of_the_key_is_held_and_redrive_delivers_both_in_order(
    settings: Settings,
    engine: AsyncEngine,
    demo: PostgresEventStore,
    outbound: OutboundWorker,
    ops: DeadLetterOps,
) -> None:
    order, letter_id = await _blocked_order(settings, engine, demo)
    assert await read(settings, SCM_SALESORDERS, lambda seen: True, settle_s=1) == []
    [listed] = await ops.list()
    assert (str(listed["dead_letter_id"]), listed["parked"]) == (letter_id, 1)

    fixed = product_without_site(default_site="3", default_warehouse="31")
    await _append(demo, "product-usmf-P-9000", fixed)
    result = await ops.redrive(listed["dead_letter_id"])

    assert (result.outcome, result.released) == ("redriven", 1)
    sent = await read(settings, SCM_SALESORDERS, lambda seen: len(seen) >= 2)
    headers = [r.env.payload for r in sent if isinstance(r.env.payload, SalesOrderHeader)]
    assert [h.CustomerRequisitionNumber for h in headers] == [None, "REQ-2"]
    assert {r.key for r in sent} == {f"usmf/{order.sales_order_id}"}
    assert headers[0].lines[0].ShippingSiteId == "3"
    assert await ops.list() == []
    with pytest.raises(DeadLetterNotOpen):
        await ops.redrive(listed["dead_letter_id"])


async def test_a_redrive_before_the_fix_still_fails_and_keeps_the_key_parked(
    settings: Settings,
    engine: AsyncEngine,
    demo: PostgresEventStore,
    outbound: OutboundWorker,
    ops: DeadLetterOps,
) -> None:
    await _blocked_order(settings, engine, demo)
    [listed] = await ops.list()
    result = await ops.redrive(listed["dead_letter_id"])
    assert result.outcome == "still_failing"
    assert result.error is not None and "ShippingSiteId" in result.error
    [again] = await ops.list()
    assert (again["attempts"], again["parked"]) == (2, 1)


async def test_discarding_releases_the_parked_records(
    settings: Settings,
    engine: AsyncEngine,
    demo: PostgresEventStore,
    outbound: OutboundWorker,
    ops: DeadLetterOps,
) -> None:
    await _blocked_order(settings, engine, demo)
    [listed] = await ops.list()
    await _append(
        demo,
        "product-usmf-P-9000",
        product_without_site(default_site="3", default_warehouse="31"),
    )
    result = await ops.discard(listed["dead_letter_id"], "customer cancelled by phone")
    assert (result.outcome, result.released) == ("discarded", 1)
    sent = await read(settings, SCM_SALESORDERS, lambda seen: len(seen) >= 1, settle_s=1)
    headers = [r.env.payload for r in sent if isinstance(r.env.payload, SalesOrderHeader)]
    assert [h.CustomerRequisitionNumber for h in headers] == ["REQ-2"]
    [closed] = await ops.list(status="discarded")
    assert closed["resolution"] == "customer cancelled by phone"


async def test_a_redrive_releases_every_parked_record_in_order_with_one_arriving_meanwhile(
    settings: Settings,
    engine: AsyncEngine,
    demo: PostgresEventStore,
    outbound: OutboundWorker,
    ops: DeadLetterOps,
) -> None:
    await _append(demo, "product-usmf-P-9000", product_without_site())
    order = portal_order("P-9000")
    key = order_stream(order.sales_order_id)

    def numbered(requisition: str) -> Any:
        return order_event(order.model_copy(update={"requisition_number": requisition}))

    await send(settings, CDS_EVENTS, (key, order_event(order)), (key, numbered("REQ-2")),
               (key, numbered("REQ-3")))  # fmt: skip
    await _parked(engine, 2)
    [listed] = await ops.list()
    await _append(
        demo, "product-usmf-P-9000", product_without_site(default_site="3", default_warehouse="31")
    )

    async with engine.connect() as holder, holder.begin():
        # Ops' redrive sends the dead letter's record, then waits for this share lock before it
        # releases the parked ones: the moment a new record of the key arrives.
        await holder.execute(
            select(dead_letters.c.dead_letter_id)
            .where(dead_letters.c.dead_letter_id == listed["dead_letter_id"])
            .with_for_update(read=True)
        )
        redriving = asyncio.create_task(ops.redrive(listed["dead_letter_id"]))
        await read(settings, SCM_SALESORDERS, lambda seen: len(seen) >= 1)
        await send(settings, CDS_EVENTS, (key, numbered("REQ-4")))
        await _parked(engine, 3)  # parked behind the dead letter that is still open
    result = await redriving

    assert (result.outcome, result.released) == ("redriven", 3)
    sent = await read(settings, SCM_SALESORDERS, lambda seen: len(seen) >= 4)
    headers = [r.env.payload for r in sent if isinstance(r.env.payload, SalesOrderHeader)]
    assert [h.CustomerRequisitionNumber for h in headers] == [None, "REQ-2", "REQ-3", "REQ-4"]
    await _parked(engine, 0)
    assert await ops.list() == []
