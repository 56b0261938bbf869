"""The outbound worker on the real Kafka and PostgreSQL: portal events become SCM records."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.cds import Account, Contact
from contracts.deadletter import DeadLetter
from contracts.envelope import Envelope, Message, envelope, to_json_bytes
from contracts.events import ContactUpserted, CustomerAccountUpserted, OrderSyncStatusChanged
from contracts.scm import ContactPersonV2, CustomerV3, SalesOrderHeader
from contracts.topics import CDS_EVENTS, DEADLETTER, SCM_CONTACTS, SCM_CUSTOMERS, SCM_SALESORDERS
from sync_service.eventstore.envelopes import to_new_event
from sync_service.eventstore.postgres import PostgresEventStore
from sync_service.mappings.faults import FaultPolicy, Handled, SourceRecord
from sync_service.mappings.outbound import OUTBOUND_GROUP, OutboundWorker, scm_message_id
from sync_service.mappings.publishing import connected
from sync_service.mappings.tables import dead_letters
from sync_service.relay import OutboxRelay
from sync_service.settings import Settings
from sync_service.streams import account_stream, contact_stream, order_stream
from sync_service.writemodel.projector import apply_event
from tests.sync_service.mappings.orders import order_event, portal_order, product_without_site
from tests.sync_service.mappings.wire import Received, read, send, send_raw

pytestmark = pytest.mark.integration


def _orders(received: list[Received]) -> list[SalesOrderHeader]:
    return [r.env.payload for r in received if isinstance(r.env.payload, SalesOrderHeader)]


async def _append(store: PostgresEventStore, stream: str, env: Envelope[Message]) -> None:
    async with store.transaction() as unit:
        version = await unit.stream_version(stream)
        new = to_new_event(env)
        await apply_event(unit.connection, stream, version + 1, new)
        await unit.append(stream, stream.split("-", 1)[0], version, [new])


async def test_a_portal_order_reaches_scm_with_scm_names_and_all_lines(
    settings: Settings, engine: AsyncEngine, demo: PostgresEventStore, outbound: OutboundWorker
) -> None:
    order = portal_order("P-1000", "P-1001", "P-1003")
    event = order_event(order)
    await _append(demo, order_stream(order.sales_order_id), event)
    relay = OutboxRelay(settings, engine=engine)
    relaying = asyncio.create_task(relay.run())
    try:
        received = await read(settings, SCM_SALESORDERS, lambda seen: len(seen) >= 1)
    finally:
        await relay.stop()
        await relaying
    [record] = received
    assert record.key == f"usmf/{order.sales_order_id}"
    assert record.env.message_id == scm_message_id(event.message_id, "SalesOrderHeaders")
    assert record.headers["message_id"] == str(record.env.message_id)
    assert (record.env.origin, record.env.causation_id) == ("portal", event.message_id)
    header = record.env.payload
    assert isinstance(header, SalesOrderHeader)
    assert header.dataAreaId == "usmf"
    assert header.CDSSalesOrderId == order.sales_order_id
    assert header.OrderingCustomerAccountNumber == "US-001"
    assert header.DeliveryAddressStreet == "1 Main St"
    assert [line.ProductNumber for line in header.lines] == ["P-1000", "P-1001", "P-1003"]
    assert {(line.ShippingSiteId, line.ShippingWarehouseId) for line in header.lines} == {
        ("1", "11")
    }


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"currency": None}, "CurrencyCode"),
        ({"language": None}, "LanguageId"),
        ({"delivery_address_description": None}, "DeliveryAddressDescription"),
    ],
)
async def test_an_order_missing_a_required_scm_field_is_dead_lettered_and_sync_failed(
    settings: Settings,
    demo: PostgresEventStore,
    outbound: OutboundWorker,
    change: dict[str, None],
    named: str,
) -> None:
    bad = portal_order(**change)
    good = portal_order()
    await send(
        settings, CDS_EVENTS,
        (order_stream(bad.sales_order_id), order_event(bad)),
        (order_stream(good.sales_order_id), order_event(good)),
    )  # fmt: skip
    [letter] = await read(settings, DEADLETTER, lambda seen: len(seen) >= 1)
    dead = letter.env.payload
    assert isinstance(dead, DeadLetter)
    assert named in [error.field for error in dead.errors]
    assert (dead.handler, dead.source_topic) == ("SalesOrderHeaders", settings.topic(CDS_EVENTS))
    assert letter.key == order_stream(bad.sales_order_id)
    assert letter.headers["dualsync.error.class"] == "MappingFailed"
    assert letter.headers["dualsync.error.offset"] == str(dead.offset)
    sent = _orders(await read(settings, SCM_SALESORDERS, lambda seen: len(seen) >= 1, settle_s=1))
    assert [order.CDSSalesOrderId for order in sent] == [good.sales_order_id]
    [status] = await demo.read_stream(order_stream(bad.sales_order_id))
    assert status.event_type == OrderSyncStatusChanged.message_type
    assert status.payload["status"] == "sync_failed"
    assert named in status.payload["reason"]


async def test_a_product_without_site_and_warehouse_dead_letters_the_order_naming_them(
    settings: Settings, demo: PostgresEventStore, outbound: OutboundWorker
) -> None:
    await _append(demo, "product-usmf-P-9000", product_without_site())
    order = portal_order("P-1000", "P-9000")
    await send(settings, CDS_EVENTS, (order_stream(order.sales_order_id), order_event(order)))
    [letter] = await read(settings, DEADLETTER, lambda seen: len(seen) >= 1)
    assert isinstance(letter.env.payload, DeadLetter)
    assert [e.field for e in letter.env.payload.errors] == [
        "lines[1].ShippingSiteId",
        "lines[1].ShippingWarehouseId",
    ]


async def test_poison_records_are_dead_lettered_and_the_worker_goes_on(
    settings: Settings, engine: AsyncEngine, outbound: OutboundWorker
) -> None:
    unknown = order_event(portal_order())
    unknown_json = unknown.model_dump_json().replace('"OrderSubmitted"', '"OrderTeleported"')
    good = portal_order()
    await send_raw(
        settings, CDS_EVENTS,
        ("k-1", b"{not json"),
        ("k-2", unknown_json.encode()),
    )  # fmt: skip
    await send(settings, CDS_EVENTS, (order_stream(good.sales_order_id), order_event(good)))
    letters = await read(settings, DEADLETTER, lambda seen: len(seen) >= 2)
    classes = {
        r.key: r.env.payload.error_class for r in letters if isinstance(r.env.payload, DeadLetter)
    }
    assert classes == {"k-1": "InvalidMessage", "k-2": "UnknownMessageType"}
    assert {r.headers["dualsync.error.attempts"] for r in letters} == {"1"}
    sent = _orders(await read(settings, SCM_SALESORDERS, lambda seen: len(seen) >= 1))
    assert [order.CDSSalesOrderId for order in sent] == [good.sales_order_id]
    async with engine.connect() as connection:
        stored = await connection.scalar(select(func.count()).select_from(dead_letters))
    assert stored == 2


async def test_a_redelivered_event_is_published_once(
    settings: Settings, outbound: OutboundWorker
) -> None:
    order = portal_order()
    event = order_event(order)
    key = order_stream(order.sales_order_id)
    await send(settings, CDS_EVENTS, (key, event), (key, event))
    sent = await read(settings, SCM_SALESORDERS, lambda seen: len(seen) >= 1, settle_s=2)
    assert len(sent) == 1


async def test_a_change_from_scm_is_not_sent_back_to_scm(
    settings: Settings, outbound: OutboundWorker
) -> None:
    def account(name: str) -> Account:
        return Account(
            account_number=name, name=name, currency="USD", company="usmf", customer_group="10"
        )

    from_scm = envelope(
        CustomerAccountUpserted(account=account("US-7")), origin="scm", company="usmf"
    )
    from_portal = envelope(
        CustomerAccountUpserted(account=account("US-8")), origin="portal", company="usmf"
    )
    await send(
        settings, CDS_EVENTS,
        (account_stream("usmf", "US-7"), from_scm),
        (account_stream("usmf", "US-8"), from_portal),
    )  # fmt: skip
    sent = await read(settings, SCM_CUSTOMERS, lambda seen: len(seen) >= 1, settle_s=2)
    customers = [r.env.payload for r in sent if isinstance(r.env.payload, CustomerV3)]
    assert [c.CustomerAccount for c in customers] == ["US-8"]
    assert sent[0].key == "usmf/US-8"
    assert customers[0].PartyType == "Organization"


async def test_only_customer_contacts_go_to_scm(
    settings: Settings, outbound: OutboundWorker, engine: AsyncEngine
) -> None:
    # A portal administrator has no customer account: not an SCM contact person, not an error.
    staff = Contact(contact_id=uuid.uuid4(), last_name="Administrator", company="usmf")
    customer = Contact(
        contact_id=uuid.uuid4(), last_name="Contoso", company="usmf", account_number="US-001"
    )
    await send(
        settings, CDS_EVENTS,
        (contact_stream(staff.contact_id),
         envelope(ContactUpserted(contact=staff), origin="portal", company="usmf")),
        (contact_stream(customer.contact_id),
         envelope(ContactUpserted(contact=customer), origin="portal", company="usmf")),
    )  # fmt: skip
    sent = await read(settings, SCM_CONTACTS, lambda seen: len(seen) >= 1, settle_s=2)
    people = [r.env.payload for r in sent if isinstance(r.env.payload, ContactPersonV2)]
    assert [p.AssociatedContactNumber for p in people] == ["US-001"]
    async with engine.connect() as connection:
        letters = await connection.scalar(select(func.count()).select_from(dead_letters))
    assert letters == 0


def _records(settings: Settings, *events: Envelope[Message]) -> list[SourceRecord]:
    topic = settings.topic(CDS_EVENTS)
    return [
        SourceRecord(topic, 0, offset, f"key-{offset}", to_json_bytes(env))
        for offset, env in enumerate(events)
    ]


async def test_a_batch_publishes_each_order_once(
    settings: Settings, engine: AsyncEngine, outbound: OutboundWorker
) -> None:
    orders = [portal_order() for _ in range(3)]
    events = [order_event(order) for order in orders]
    from_scm = order_event(portal_order(), origin="scm")
    async with connected(settings) as (_, publish):
        policy = FaultPolicy(engine, publish, settings, consumer=OUTBOUND_GROUP, origin="portal")
        handled = await outbound.handle_batch(
            _records(settings, events[0], from_scm, events[1], events[0], events[2]),
            lambda record: policy.run(record, outbound.handle),
        )
        again = await outbound.handle_batch(
            _records(settings, *events), lambda record: policy.run(record, outbound.handle)
        )

    assert handled == [
        Handled.APPLIED, Handled.SKIPPED, Handled.APPLIED, Handled.SKIPPED, Handled.APPLIED,
    ]  # fmt: skip
    sent = _orders(await read(settings, SCM_SALESORDERS, lambda seen: len(seen) >= 3, settle_s=1))
    # Each once (SCM keys spread the orders over partitions, so no order across them).
    assert sorted(order.CDSSalesOrderId for order in sent) == sorted(
        o.sales_order_id for o in orders
    )
    assert again == [Handled.SKIPPED] * 3  # a redelivered batch publishes nothing


async def test_a_batch_with_an_unmappable_order_dead_letters_it_and_publishes_the_rest(
    settings: Settings, engine: AsyncEngine, demo: PostgresEventStore, outbound: OutboundWorker
) -> None:
    good, bad = portal_order(), portal_order(currency=None)
    async with connected(settings) as (_, publish):
        policy = FaultPolicy(engine, publish, settings, consumer=OUTBOUND_GROUP, origin="portal")
        handled = await outbound.handle_batch(
            _records(settings, order_event(bad), order_event(good)),
            lambda record: policy.run(record, outbound.handle),
        )

    assert handled == [Handled.DEAD_LETTERED, Handled.APPLIED]
    sent = _orders(await read(settings, SCM_SALESORDERS, lambda seen: len(seen) >= 1, settle_s=1))
    assert [order.CDSSalesOrderId for order in sent] == [good.sales_order_id]
    [status] = await demo.read_stream(order_stream(bad.sales_order_id))
    assert status.payload["status"] == "sync_failed"
