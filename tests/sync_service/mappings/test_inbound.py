"""The inbound worker on the real Kafka and PostgreSQL: ERP changes become events, origin scm."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.deadletter import DeadLetter
from contracts.envelope import Envelope, Message, envelope
from contracts.scm import ReleasedProduct, SalesOrderHeader
from contracts.topics import DEADLETTER, SCM_INBOUND
from sync_service.db.schema import products
from sync_service.eventstore.base import StoredEvent
from sync_service.eventstore.postgres import PostgresEventStore
from sync_service.mappings.inbound import INBOUND_GROUP, InboundWorker, erp_order_id
from sync_service.mappings.tables import dead_letters
from sync_service.settings import Settings
from sync_service.streams import order_stream, product_stream
from tests.kafka_offsets import until_consumed
from tests.sync_service.mappings.orders import order_event, portal_order
from tests.sync_service.mappings.test_outbound import _append
from tests.sync_service.mappings.wire import read, send

pytestmark = pytest.mark.integration


def _scm(payload: Message) -> Envelope[Message]:
    return envelope(payload, origin="scm", company="usmf")


async def _events(
    store: PostgresEventStore, stream: str, done: Callable[[list[StoredEvent]], bool]
) -> list[StoredEvent]:
    async with asyncio.timeout(30):
        while True:
            found = await store.read_stream(stream)
            if done(found):
                return found
            await asyncio.sleep(0.1)


def erp_header(**changes: Any) -> SalesOrderHeader:
    """An order created in the ERP for customer Y (like May's), not known to the portal."""
    fields: dict[str, Any] = {
        "dataAreaId": "usmf", "SalesOrderNumber": "usmf-900001", "SalesOrderName": "phone order",
        "OrderingCustomerAccountNumber": "US-002", "InvoiceCustomerAccountNumber": "US-002",
        "CurrencyCode": "USD", "PriceCustomerGroupCode": "PL-US-002", "LanguageId": "en-us",
        "DeliveryAddressCountryRegionISOCode": "US", "DeliveryAddressDescription": "main dock",
        "RequestedReceiptDate": date(2026, 12, 1), "SalesOrderProcessingStatus": "Confirmed",
        "lines": [{
            "SalesOrderNumber": "usmf-900001", "LineCreationSequenceNumber": 1,
            "ProductNumber": "P-1002", "OrderedSalesQuantity": Decimal(5), "SalesUnitSymbol": "ea",
            "DeliveryAddressCountryRegionISOCode": "US", "DeliveryAddressDescription": "main dock",
        }],
    }  # fmt: skip
    fields.update(changes)
    return SalesOrderHeader.model_validate(fields)


async def test_the_erp_number_and_status_changes_come_back_on_the_order_stream(
    settings: Settings, demo: PostgresEventStore, inbound: InboundWorker
) -> None:
    order = portal_order()
    stream = order_stream(order.sales_order_id)
    await _append(demo, stream, order_event(order))
    answer = erp_header(CDSSalesOrderId=order.sales_order_id, SalesOrderNumber="usmf-000001")
    key = "usmf/usmf-000001"
    await send(
        settings, SCM_INBOUND,
        (key, _scm(answer.model_copy(update={"SalesOrderProcessingStatus": None}))),
        (key, _scm(answer.model_copy(update={"SalesOrderProcessingStatus": "Confirmed"}))),
        (key, _scm(answer.model_copy(update={"SalesOrderProcessingStatus": "Delivered"}))),
    )  # fmt: skip
    found = await _events(demo, stream, lambda events: len(events) >= 4)
    changes = [e.payload for e in found[1:]]
    assert [c["status"] for c in changes] == ["synced", "confirmed", "shipped"]
    assert {c["sales_order_number"] for c in changes} == {"usmf-000001"}
    assert {e.origin for e in found[1:]} == {"scm"}


async def test_a_portal_change_coming_back_on_scm_inbound_is_not_applied_again(
    settings: Settings, engine: AsyncEngine, demo: PostgresEventStore, inbound: InboundWorker
) -> None:
    order = portal_order()
    stream = order_stream(order.sales_order_id)
    await _append(demo, stream, order_event(order))
    answer = erp_header(CDSSalesOrderId=order.sales_order_id, SalesOrderNumber="usmf-000777")
    key = "usmf/usmf-000777"
    # SPEC §5: a change that came from the portal (origin `portal`, e.g. our own SCM record
    # echoed back) is no new change; the ERP's own answer right behind it is.
    echo = envelope(answer, origin="portal", company="usmf")
    genuine = _scm(answer.model_copy(update={"SalesOrderProcessingStatus": "Delivered"}))
    await send(settings, SCM_INBOUND, (key, echo), (key, genuine))
    await until_consumed(settings, SCM_INBOUND, INBOUND_GROUP)

    events = await demo.read_stream(stream)
    assert [e.event_type for e in events] == ["OrderSubmitted", "OrderSyncStatusChanged"]
    assert (events[1].payload["status"], events[1].causation_id) == ("shipped", genuine.message_id)
    assert not await demo.is_processed(INBOUND_GROUP, str(echo.message_id))
    async with engine.connect() as connection:
        assert (await connection.execute(select(dead_letters))).first() is None


async def test_an_erp_created_order_arrives_as_order_submitted_with_origin_scm(
    settings: Settings, demo: PostgresEventStore, inbound: InboundWorker
) -> None:
    await send(settings, SCM_INBOUND, ("usmf/usmf-900001", _scm(erp_header())))
    stream = order_stream(erp_order_id("usmf", "usmf-900001"))
    [event] = await _events(demo, stream, lambda events: len(events) >= 1)
    assert (event.event_type, event.origin) == ("OrderSubmitted", "scm")
    order = event.payload["order"]
    assert order["customerid.accountnumber"] == "US-002"
    assert order["msdyn_salesordernumber"] == "usmf-900001"
    assert order["msdyn_processingstatus"] == "confirmed"
    assert order["lines"][0]["productid.msdyn_productnumber"] == "P-1002"


@pytest.mark.parametrize("missing", ["ProductNumber", "ProductName", "SalesUnitSymbol"])
async def test_a_released_product_without_a_required_field_is_dead_lettered(
    settings: Settings, engine: AsyncEngine, inbound: InboundWorker, missing: str
) -> None:
    fields = {"dataAreaId": "usmf", "ProductNumber": "P-7", "ProductName": "Crate",
              "SalesUnitSymbol": "ea", missing: None}  # fmt: skip
    await send(settings, SCM_INBOUND, ("usmf/P-7", _scm(ReleasedProduct.model_validate(fields))))
    [letter] = await read(settings, DEADLETTER, lambda seen: len(seen) >= 1)
    assert isinstance(letter.env.payload, DeadLetter)
    assert missing in [error.field for error in letter.env.payload.errors]
    async with engine.connect() as connection:
        assert await connection.scalar(select(products.c.name).where(
            products.c.product_number == "P-7")) is None  # fmt: skip


async def test_a_released_product_updates_the_write_model_once_however_often_delivered(
    settings: Settings, engine: AsyncEngine, demo: PostgresEventStore, inbound: InboundWorker
) -> None:
    product = ReleasedProduct(
        dataAreaId="usmf", ProductNumber="P-7", ProductName="Crate", SalesUnitSymbol="ea",
        DefaultShippingSiteId="2", DefaultShippingWarehouseId="21",
    )  # fmt: skip
    env = _scm(product)
    await send(settings, SCM_INBOUND, ("usmf/P-7", env), ("usmf/P-7", env))
    await until_consumed(settings, SCM_INBOUND, INBOUND_GROUP)  # the duplicate too
    [event] = await demo.read_stream(product_stream("usmf", "P-7"))
    assert len(await demo.read_stream(product_stream("usmf", "P-7"))) == 1
    async with engine.connect() as connection:
        record = await connection.scalar(
            select(products.c.record).where(products.c.product_number == "P-7")
        )
    assert record is not None
    assert (record["msdyn_defaultsite"], record["msdyn_defaultwarehouse"]) == ("2", "21")
    assert event.origin == "scm"


async def test_the_erp_demo_data_and_mays_order_arrive_on_the_cds_side(
    settings: Settings, demo: PostgresEventStore, inbound: InboundWorker
) -> None:
    from sync_service.erp_sim import publish_demo
    from sync_service.erp_sim.demo import MAY_ORDER_NUMBER

    await publish_demo(settings)
    stream = order_stream(erp_order_id("usmf", MAY_ORDER_NUMBER))
    [event] = await _events(demo, stream, lambda events: len(events) >= 1)
    assert (event.event_type, event.origin, event.payload["submitted_by"]) == (
        "OrderSubmitted",
        "scm",
        "scm",
    )
    assert event.payload["order"]["customerid.accountnumber"] == "US-002"
    assert len(event.payload["order"]["lines"]) == 2
    assert await read(settings, DEADLETTER, lambda seen: True, settle_s=1) == []
