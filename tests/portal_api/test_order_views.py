"""The seed's visibility example and role changes, through the real Kafka and PostgreSQL.

The portal fixture runs the API, the command processor, the relay and the projections worker.
"""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaProducer

from contracts.topics import CDS_EVENTS
from sync_service.demo_data import (
    ADMIN_CONTACT_ID,
    JANE_CONTACT_ID,
    MAY_CONTACT_ID,
    REP_CONTACT_ID,
    SAM_CONTACT_ID,
)
from sync_service.projections.worker import CONSUMER_GROUP as PROJECTIONS_GROUP
from sync_service.relay.records import to_record
from sync_service.streams import order_stream
from tests.kafka_offsets import until_consumed
from tests.kafka_roles import as_role
from tests.portal_api.conftest import ADMIN, Portal
from tests.portal_api.views_helpers import (
    change_status,
    credential,
    erp_order,
    eventually,
    order_ids,
    submit,
)

pytestmark = pytest.mark.integration


async def _put_contact(portal: Portal, contact_id: object, **fields: object) -> None:
    body = {
        "firstname": "Sam",
        "lastname": "Contoso",
        "email": "sam@x.example",
        "company": "usmf",
        "account_number": "US-001",
        "price_list": "PL-US-001",
        "currency": "USD",
        "ship_to_country": "US",
        "language": "en-us",
        "web_roles": ["authorized_user"],
        **fields,
    }
    put = await portal.client.put(f"/admin/contacts/{contact_id}", json=body, headers=ADMIN)
    assert put.status_code == 200, put.text


async def test_the_seeds_example_holds_cell_by_cell(portal: Portal) -> None:
    # The demo administrator needs a company and account to be invited; Y's, so that X's
    # account view below lists exactly X's people.
    await _put_contact(
        portal,
        ADMIN_CONTACT_ID,
        firstname="Portal",
        lastname="Administrator",
        email="admin@portal.example",
        account_number="US-002",
        web_roles=["administrator"],
    )
    jane, sam, rep, may, admin = [
        await credential(portal, contact)
        for contact in (
            JANE_CONTACT_ID,
            SAM_CONTACT_ID,
            REP_CONTACT_ID,
            MAY_CONTACT_ID,
            ADMIN_CONTACT_ID,
        )
    ]
    janes = await submit(portal, jane)
    sams = await submit(portal, sam)
    mays = await erp_order(portal, customer="US-002", contact_person=str(MAY_CONTACT_ID))
    everything = {janes, sams, mays}

    assert await eventually(lambda: order_ids(portal, ADMIN), lambda ids: ids == everything)
    assert await order_ids(portal, admin) == everything
    assert await order_ids(portal, rep) == {janes, sams}
    assert await order_ids(portal, jane) == {janes}
    assert await order_ids(portal, sam) == {sams}

    # The representative sees who placed each order of customer X.
    page = (await portal.client.get("/orders", headers=rep)).json()["items"]
    assert {item["order_id"]: item["orderer"] for item in page} == {
        janes: {"contact_id": str(JANE_CONTACT_ID), "name": "Jane Contoso"},
        sams: {"contact_id": str(SAM_CONTACT_ID), "name": "Sam Contoso"},
    }
    # May's order, from the ERP, as the administrator sees it.
    erp = (await portal.client.get(f"/orders/{mays}", headers=ADMIN)).json()
    assert (erp["customer_account"], erp["sales_order_number"], erp["status"]) == (
        "US-002",
        "SO-900001",
        "synced",
    )
    assert erp["orderer"]["name"] == "May Fabrikam"
    # Jane's order in full: lines with estimated net amounts, the total, the currency.
    mine = (await portal.client.get(f"/orders/{janes}", headers=jane)).json()
    assert (mine["status"], mine["company"], mine["customer_account"]) == (
        "pending",
        "usmf",
        "US-001",
    )
    assert [(line["quantity"], line["unit"], line["amount"]) for line in mine["lines"]] == [
        ("3", "ea", "27.00"),
        ("2", "box", "500.00"),
    ]
    assert (mine["total"], mine["currency"]) == ("527.00", "USD")

    assert (await portal.client.get(f"/orders/{sams}", headers=jane)).status_code == 404
    assert (await portal.client.get(f"/orders/{mays}", headers=rep)).status_code == 404
    assert (await portal.client.get("/orders")).status_code == 401
    assert (await portal.client.get(f"/orders/{janes}")).status_code == 401
    assert (await portal.client.get("/orders", headers=may)).status_code == 403
    assert (await portal.client.get(f"/orders/{mays}", headers=may)).status_code == 403

    account = (await portal.client.get("/account", headers=rep)).json()
    assert (account["account_number"], account["name"]) == ("US-001", "Contoso Retail")
    assert {c["contact_id"] for c in account["contacts"]} == {
        str(REP_CONTACT_ID),
        str(JANE_CONTACT_ID),
        str(SAM_CONTACT_ID),
    }
    assert (await portal.client.get("/account", headers=jane)).status_code == 403


async def test_a_role_change_or_a_move_applies_to_the_next_request(portal: Portal) -> None:
    sam = await credential(portal, SAM_CONTACT_ID)
    janes = await submit(portal, await credential(portal, JANE_CONTACT_ID))
    sams = await submit(portal, sam)
    mays = await erp_order(portal, customer="US-002", contact_person=None)
    await eventually(lambda: order_ids(portal, ADMIN), lambda ids: len(ids) == 3)
    assert await order_ids(portal, sam) == {sams}

    await _put_contact(portal, SAM_CONTACT_ID, web_roles=["customer_representative"])
    assert await order_ids(portal, sam) == {janes, sams}

    await _put_contact(
        portal, SAM_CONTACT_ID, web_roles=["customer_representative"], account_number="US-002"
    )
    assert await order_ids(portal, sam) == {mays}

    await _put_contact(portal, SAM_CONTACT_ID, web_roles=[])
    assert (await portal.client.get("/orders", headers=sam)).status_code == 403


async def test_a_status_change_shows_and_a_redelivery_changes_nothing(portal: Portal) -> None:
    jane = await credential(portal, JANE_CONTACT_ID)
    order_id = await submit(portal, jane)

    async def view() -> dict[str, object]:
        answer = await portal.client.get(f"/orders/{order_id}", headers=jane)
        return dict(answer.json()) if answer.status_code == 200 else {}

    await eventually(view, lambda order: order.get("status") == "pending")
    await change_status(portal, order_id, "synced", number="SO-000123")
    synced = await eventually(view, lambda order: order.get("status") == "synced")
    assert synced["sales_order_number"] == "SO-000123"
    await change_status(portal, order_id, "sync_failed", reason="CustomerGroupId is missing")
    failed = await eventually(view, lambda order: order.get("status") == "sync_failed")
    assert (failed["sync_failure_reason"], failed["sales_order_number"]) == (
        "CustomerGroupId is missing",
        "SO-000123",
    )


async def test_a_redelivered_record_on_kafka_changes_nothing(portal: Portal) -> None:
    jane = await credential(portal, JANE_CONTACT_ID)
    order_id = await submit(portal, jane)
    await change_status(portal, order_id, "confirmed", number="SO-7")

    async def view() -> dict[str, object]:
        answer = await portal.client.get(f"/orders/{order_id}", headers=jane)
        return dict(answer.json()) if answer.status_code == 200 else {}

    before = await eventually(view, lambda order: order.get("status") == "confirmed")
    [submitted, *_] = await portal.store.read_stream(order_stream(uuid.UUID(order_id)))
    record = to_record(submitted)
    producer = AIOKafkaProducer(**as_role(portal.settings, "relay"))  # the relay's record again
    await producer.start()
    try:
        await producer.send_and_wait(
            portal.settings.topic(CDS_EVENTS), record.value, key=record.key, headers=record.headers
        )
    finally:
        await producer.stop()
    await until_consumed(portal.settings, CDS_EVENTS, PROJECTIONS_GROUP)
    # Applied again, the submit would have put the order back to `pending`.
    assert await view() == before


async def test_orders_filter_sort_and_page(portal: Portal) -> None:
    jane = await credential(portal, JANE_CONTACT_ID)
    early = await submit(portal, jane, requested_receipt_date="2030-01-10")
    late = await submit(portal, jane, requested_receipt_date="2030-03-10")
    await change_status(portal, late, "synced", number="SO-2")

    async def ids(**params: str) -> list[str]:
        answer = await portal.client.get("/orders", params=params, headers=jane)
        assert answer.status_code == 200, answer.text
        return [item["order_id"] for item in answer.json()["items"]]

    await eventually(lambda: ids(), lambda found: len(found) == 2)
    await eventually(lambda: ids(status="synced"), lambda found: found == [late])
    assert await ids(status="pending") == [early]
    assert await ids(sort="requested_receipt_date") == [early, late]
    assert await ids(sort="-requested_receipt_date") == [late, early]
    assert await ids(receipt_from="2030-02-01") == [late]
    assert await ids(receipt_to="2030-02-01") == [early]
    assert await ids(submitted_to="2000-01-01") == []

    first = await portal.client.get(
        "/orders", params={"sort": "requested_receipt_date", "limit": "1"}, headers=jane
    )
    cursor = first.json()["next_cursor"]
    assert [item["order_id"] for item in first.json()["items"]] == [early]
    assert await ids(sort="requested_receipt_date", cursor=cursor, limit="1") == [late]

    for params in ({"limit": "100000"}, {"cursor": "garbage"}, {"status": "lost"}):
        refused = await portal.client.get("/orders", params=params, headers=jane)
        assert refused.status_code == 422, params
        assert refused.headers["content-type"] == "application/problem+json"
    other_sort = await portal.client.get("/orders", params={"cursor": cursor}, headers=jane)
    assert other_sort.status_code == 422
