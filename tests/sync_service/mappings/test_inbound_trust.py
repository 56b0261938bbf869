"""The inbound worker on the real Kafka and PostgreSQL refuses what the ERP may not change.

Issue 16, item 2: an ERP order naming another customer's contact, an ERP record moving a
contact that holds web roles, a contact of an account that does not exist, a status change of
another company's order. See docs/mappings.md, "What the ERP side may change".
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.deadletter import DeadLetter
from contracts.envelope import Envelope, Message, envelope
from contracts.events import ContactUpserted
from contracts.scm import ContactPersonV2
from contracts.topics import DEADLETTER, SCM_INBOUND
from sync_service.demo_data import JANE_CONTACT_ID, MAY_CONTACT_ID, REP_CONTACT_ID
from sync_service.eventstore.postgres import PostgresEventStore
from sync_service.kafka_access import client_options
from sync_service.mappings.inbound import INBOUND_GROUP, InboundWorker, erp_order_id
from sync_service.mappings.redrive import DeadLetterOps
from sync_service.mappings.tables import dead_letters
from sync_service.mappings.workers import dead_letter_ops
from sync_service.producer import running_producer
from sync_service.settings import Settings
from sync_service.streams import contact_stream, order_stream
from sync_service.writemodel.postgres import PostgresWriteModelReader
from tests.kafka_offsets import until_consumed
from tests.sync_service.mappings.orders import order_event, portal_order
from tests.sync_service.mappings.test_inbound import _events, erp_header
from tests.sync_service.mappings.test_outbound import _append
from tests.sync_service.mappings.wire import read, send

pytestmark = pytest.mark.integration


@pytest.fixture
async def ops(settings: Settings, engine: AsyncEngine) -> AsyncIterator[DeadLetterOps]:
    async with running_producer(
        settings.kafka_bootstrap, client_id="test-ops", security=client_options(settings, "ops")
    ) as producer:
        yield dead_letter_ops(engine, settings, producer.publish)


def _scm(payload: Message, company: str = "usmf") -> Envelope[Message]:
    return envelope(payload, origin="scm", company=company)


def person(contact_id: object, account: str, **changes: Any) -> ContactPersonV2:
    """The ERP's record of a portal contact (named by its CDSContactId), of `account`."""
    fields: dict[str, Any] = {
        "dataAreaId": "usmf", "ContactPersonId": "CP-77", "CDSContactId": contact_id,
        "AssociatedContactNumber": account, "AssociatedContactType": "Customer",
        "FirstName": "Contoso", "LastName": "Representative",
    }  # fmt: skip
    return ContactPersonV2.model_validate({**fields, **changes})


async def _letter(settings: Settings) -> DeadLetter:
    [received] = await read(settings, DEADLETTER, lambda seen: len(seen) >= 1, settle_s=0.5)
    assert isinstance(received.env.payload, DeadLetter)
    return received.env.payload


async def test_an_erp_order_naming_another_customers_contact_has_no_orderer(
    settings: Settings, demo: PostgresEventStore, inbound: InboundWorker
) -> None:
    # Jane is of customer X (US-001); the ERP order is Fabrikam's (US-002) and names her.
    janes = erp_header(SalesOrderNumber="usmf-900001", ContactPersonId=str(JANE_CONTACT_ID))
    mays = erp_header(SalesOrderNumber="usmf-900002", ContactPersonId=str(MAY_CONTACT_ID))
    await send(
        settings, SCM_INBOUND, ("usmf/usmf-900001", _scm(janes)), ("usmf/usmf-900002", _scm(mays))
    )
    [taken] = await _events(
        demo, order_stream(erp_order_id("usmf", "usmf-900001")), lambda found: len(found) >= 1
    )
    [kept] = await _events(
        demo, order_stream(erp_order_id("usmf", "usmf-900002")), lambda found: len(found) >= 1
    )
    # The order is the ERP's to take; only the link to a contact of another customer is not.
    assert taken.event_type == "OrderSubmitted"
    assert taken.payload["order"]["customerid.accountnumber"] == "US-002"
    assert taken.payload["order"]["msdyn_contactperson.msdyn_contactpersonid"] is None
    # May is of Fabrikam: she stays the orderer of her customer's order.
    assert kept.payload["order"]["msdyn_contactperson.msdyn_contactpersonid"] == str(MAY_CONTACT_ID)
    assert await read(settings, DEADLETTER, lambda seen: True, settle_s=0.5) == []


async def test_the_erp_cannot_move_a_contact_holding_web_roles_to_another_customer(
    settings: Settings,
    demo: PostgresEventStore,
    reader: PostgresWriteModelReader,
    inbound: InboundWorker,
) -> None:
    before = await demo.read_stream(contact_stream(REP_CONTACT_ID))
    await send(settings, SCM_INBOUND, ("usmf/CP-77", _scm(person(REP_CONTACT_ID, "US-002"))))
    letter = await _letter(settings)

    assert (letter.error_class, letter.handler) == ("UntrustedChange", "ContactPersonsV2")
    [error] = letter.errors
    assert error.field == "AssociatedContactNumber"
    for words in ("customer_representative", "usmf/US-001", "usmf/US-002", "redrive"):
        assert words in error.message
    rep = await reader.contact(REP_CONTACT_ID)
    assert rep is not None
    assert (rep.account_number, rep.web_roles) == ("US-001", ["customer_representative"])
    assert await demo.read_stream(contact_stream(REP_CONTACT_ID)) == before


async def test_the_move_applies_once_an_administrator_takes_the_roles_away_and_redrives(
    settings: Settings,
    demo: PostgresEventStore,
    reader: PostgresWriteModelReader,
    inbound: InboundWorker,
    ops: DeadLetterOps,
) -> None:
    await send(settings, SCM_INBOUND, ("usmf/CP-77", _scm(person(REP_CONTACT_ID, "US-002"))))
    await _letter(settings)
    [listed] = await ops.list()
    assert (await ops.redrive(listed["dead_letter_id"])).outcome == "still_failing"

    rep = await reader.contact(REP_CONTACT_ID)
    assert rep is not None
    without_roles = ContactUpserted(contact=rep.model_copy(update={"web_roles": []}))
    taken_away = envelope(without_roles, origin="portal", company="usmf")
    await _append(demo, contact_stream(REP_CONTACT_ID), taken_away)
    assert (await ops.redrive(listed["dead_letter_id"])).outcome == "redriven"
    moved = await reader.contact(REP_CONTACT_ID)
    assert moved is not None and (moved.account_number, moved.web_roles) == ("US-002", [])


async def test_contacts_without_web_roles_are_the_erps_to_move(
    settings: Settings,
    demo: PostgresEventStore,
    reader: PostgresWriteModelReader,
    inbound: InboundWorker,
) -> None:
    # May holds no web role: the ERP moves her from Fabrikam to Contoso, and renames the rep.
    may = person(MAY_CONTACT_ID, "US-001", ContactPersonId="CP-78", FirstName="May")
    rep = person(REP_CONTACT_ID, "US-001", PrimaryPhoneNumber="+1 555 0142")
    await send(settings, SCM_INBOUND, ("usmf/CP-78", _scm(may)), ("usmf/CP-77", _scm(rep)))
    await until_consumed(settings, SCM_INBOUND, INBOUND_GROUP)
    moved, kept = await reader.contact(MAY_CONTACT_ID), await reader.contact(REP_CONTACT_ID)
    assert moved is not None and moved.account_number == "US-001"
    assert kept is not None and (kept.phone, kept.web_roles) == (
        "+1 555 0142",
        ["customer_representative"],
    )
    assert await read(settings, DEADLETTER, lambda seen: True, settle_s=0.5) == []


async def test_a_contact_of_an_account_that_does_not_exist_is_refused(
    settings: Settings,
    demo: PostgresEventStore,
    reader: PostgresWriteModelReader,
    inbound: InboundWorker,
) -> None:
    await send(settings, SCM_INBOUND, ("usmf/CP-78", _scm(person(MAY_CONTACT_ID, "US-999"))))
    letter = await _letter(settings)
    assert letter.error_class == "UnknownReference"
    assert [(e.field, e.message) for e in letter.errors] == [
        ("AssociatedContactNumber", "unknown customer 'US-999' in usmf")
    ]
    may = await reader.contact(MAY_CONTACT_ID)
    assert may is not None and may.account_number == "US-002"


async def test_a_status_change_of_another_companys_order_is_refused(
    settings: Settings, engine: AsyncEngine, demo: PostgresEventStore, inbound: InboundWorker
) -> None:
    order = portal_order()  # of usmf
    stream = order_stream(order.sales_order_id)
    await _append(demo, stream, order_event(order))
    foreign = erp_header(
        dataAreaId="demf", CDSSalesOrderId=order.sales_order_id, SalesOrderNumber="demf-000001",
        SalesOrderProcessingStatus="Canceled",
    )  # fmt: skip
    own = foreign.model_copy(update={"dataAreaId": "usmf", "SalesOrderNumber": "usmf-000001"})
    await send(settings, SCM_INBOUND, ("demf/demf-000001", _scm(foreign, "demf")))
    letter = await _letter(settings)
    assert (letter.error_class, letter.handler) == ("UntrustedChange", "SalesOrderHeaders")
    [error] = letter.errors
    assert error.field == "dataAreaId"
    assert "belongs to company usmf, not demf" in error.message
    assert [e.event_type for e in await demo.read_stream(stream)] == ["OrderSubmitted"]
    async with engine.connect() as connection:
        company = await connection.scalar(select(dead_letters.c.company))
    assert company == "demf"

    # The order's own company still moves it on.
    await send(settings, SCM_INBOUND, ("usmf/usmf-000001", _scm(own)))
    found = await _events(demo, stream, lambda events: len(events) >= 2)
    assert found[1].payload["status"] == "canceled"
