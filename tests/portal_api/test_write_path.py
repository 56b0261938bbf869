"""The write path through the real Kafka and PostgreSQL: invite, redeem, submit (SPEC §3, §7).

The portal fixture runs the API, the command processor and the outbox relay in-process.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer

from contracts import decode
from contracts.commands import InviteContact
from contracts.events import OrderSubmitted
from contracts.topics import CDS_EVENTS
from portal_api.command_bus import CommandBus
from sync_service.command_processor import command_envelope, command_key
from sync_service.demo_data import JANE_CONTACT_ID, MAY_CONTACT_ID, SAM_CONTACT_ID
from sync_service.domain.credentials import hash_secret
from sync_service.eventstore.envelopes import to_envelope
from sync_service.streams import order_stream
from tests.kafka_roles import as_role
from tests.portal_api import views_helpers
from tests.portal_api.conftest import ADMIN, Portal
from tests.portal_api.views_helpers import credential

pytestmark = pytest.mark.integration

ORDER: dict[str, Any] = {**views_helpers.ORDER, "requisition_number": "REQ-7"}


async def _submitted(portal: Portal, order_id: str) -> OrderSubmitted:
    async with asyncio.timeout(20):
        while True:
            events = await portal.store.read_stream(order_stream(uuid.UUID(order_id)))
            if events:
                payload = to_envelope(events[0]).payload
                assert isinstance(payload, OrderSubmitted), payload
                return payload
            await asyncio.sleep(0.05)


async def _from_cds_events(portal: Portal, order_id: str) -> OrderSubmitted:
    """The OrderSubmitted event as the relay put it on cds.events.v1."""
    consumer = AIOKafkaConsumer(
        portal.settings.topic(CDS_EVENTS),
        **as_role(portal.settings, "operator"),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        async with asyncio.timeout(20):
            async for record in consumer:
                message = decode(record.value)
                if record.key == order_stream(uuid.UUID(order_id)).encode():
                    assert isinstance(message.payload, OrderSubmitted)
                    assert message.origin == "portal"
                    return message.payload
    finally:
        await consumer.stop()
    raise AssertionError("unreachable: the timeout raises first")


async def _fields(response: Any) -> set[str]:
    assert response.headers["content-type"] == "application/problem+json", response.text
    return {error["field"] for error in response.json()["errors"]}


async def test_invite_redeem_submit_fills_every_field_from_the_contact(portal: Portal) -> None:
    jane = await credential(portal, JANE_CONTACT_ID)

    products = await portal.client.get("/products", headers=jane)
    assert products.status_code == 200
    widget = next(p for p in products.json() if p["product_number"] == "P-1000")
    assert {u["unit"]: u["price"] for u in widget["units"]} == {"box": "100.00", "ea": "9.00"}

    accepted = await portal.client.post("/orders", json=ORDER, headers=jane)
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["status"] == "pending"
    stored = await _submitted(portal, accepted.json()["order_id"])
    event = await _from_cds_events(portal, accepted.json()["order_id"])
    assert event == stored

    order = event.order
    assert event.submitted_by == str(JANE_CONTACT_ID)
    assert (order.company, order.customer_account, order.invoice_account) == (
        "usmf",
        "US-001",
        "US-001",
    )
    assert (order.currency, order.price_list, order.language) == ("USD", "PL-US-001", "en-us")
    assert order.ship_to_country == "US"
    assert order.contact_person_id is not None
    assert order.name == "sales order"
    assert order.delivery_address_description == "delivery address description"
    assert order.requisition_number == "REQ-7"
    assert [(line.sequence_number, line.extended_amount) for line in order.lines] == [
        (1, Decimal("27.00")),
        (2, Decimal("500.00")),
    ]
    assert order.total_amount == Decimal("527.00")
    assert {line.ship_to_country for line in order.lines} == {"US"}


async def test_every_problem_is_named_at_once(portal: Portal) -> None:
    contact_id = uuid.uuid4()
    # Company and account are set (so the contact can be invited), the rest is missing.
    put = await portal.client.put(
        f"/admin/contacts/{contact_id}",
        json={"lastname": "Partial", "email": "partial@x.example", "company": "usmf",
              "account_number": "US-001", "web_roles": ["authorized_user"]},
        headers=ADMIN,
    )  # fmt: skip
    assert put.status_code == 200, put.text
    partial = await credential(portal, contact_id)
    body = {
        **ORDER,
        "lines": [
            {"product_number": "P-1000", "quantity": "1", "unit": "ea"},
            {"product_number": "NO-SUCH", "quantity": "1", "unit": "ea"},
            {"product_number": "P-1003", "quantity": "1", "unit": "box"},
            {"product_number": "P-1000", "quantity": "0", "unit": "ea"},
        ],
    }
    refused = await portal.client.post("/orders", json=body, headers=partial)
    assert refused.status_code == 422
    assert await _fields(refused) >= {
        "contact.price_list",
        "contact.currency",
        "contact.ship_to_country",
        "lines[1].product_number",
        "lines[2].unit",
        "lines[3].quantity",
    }


async def test_non_admin_may_not_choose_company_or_customer(portal: Portal) -> None:
    jane = await credential(portal, JANE_CONTACT_ID)
    body = {**ORDER, "company": "usmf", "customer_account": "US-002", "ship_to_country": "CA"}
    refused = await portal.client.post("/orders", json=body, headers=jane)
    assert refused.status_code == 422
    assert await _fields(refused) >= {"company", "customer_account", "ship_to_country"}


async def test_admin_orders_for_another_customer(portal: Portal) -> None:
    body = {**ORDER, "company": "usmf", "customer_account": "US-002"}
    accepted = await portal.client.post("/orders", json=body, headers=ADMIN)
    assert accepted.status_code == 202, accepted.text
    order = (await _submitted(portal, accepted.json()["order_id"])).order
    assert (order.customer_account, order.price_list) == ("US-002", "PL-US-002")
    assert order.lines[0].price_per_unit == Decimal("9.50")


async def test_idempotency_key_retry_creates_one_order(portal: Portal) -> None:
    sam = await credential(portal, SAM_CONTACT_ID)
    headers = {**sam, "Idempotency-Key": "order-form-42"}
    first = await portal.client.post("/orders", json=ORDER, headers=headers)
    second = await portal.client.post("/orders", json=ORDER, headers=headers)
    assert first.status_code == second.status_code == 202
    assert first.json()["order_id"] == second.json()["order_id"]
    await _submitted(portal, first.json()["order_id"])
    await asyncio.sleep(0.5)  # give a second command, were there one, time to land
    events = await portal.store.read_stream(order_stream(uuid.UUID(first.json()["order_id"])))
    assert [event.event_type for event in events] == ["OrderSubmitted"]

    other = {**ORDER, "requisition_number": "REQ-8"}
    reused = await portal.client.post("/orders", json=other, headers=headers)
    assert reused.status_code == 422
    assert await _fields(reused) == {"Idempotency-Key"}


async def test_used_unknown_and_expired_codes_are_refused_distinctly(portal: Portal) -> None:
    invited = await portal.client.post(
        "/admin/invitations", json={"contact_id": str(SAM_CONTACT_ID)}, headers=ADMIN
    )
    code = invited.json()["code"]
    assert (await portal.client.post("/invitations/redeem", json={"code": code})).status_code == 200
    used = await portal.client.post("/invitations/redeem", json={"code": code})
    assert (used.status_code, used.json()["reason"]) == (409, "used_up")

    unknown = await portal.client.post("/invitations/redeem", json={"code": "not-a-code"})
    assert (unknown.status_code, unknown.json()["reason"]) == (404, "unknown")

    # An invitation that expires a moment from now, sent as the API would send it.
    expiring = "expiring-code"
    command = InviteContact(
        command_id=uuid.uuid4(),
        issued_by="admin",
        invitation_id=uuid.uuid4(),
        contact_id=SAM_CONTACT_ID,
        code_hash=hash_secret(expiring),
        expires_at=datetime.now(UTC) + timedelta(seconds=1),
    )
    bus = CommandBus(portal.settings)
    await bus.start()
    try:
        await bus.send(command_envelope(command, company="usmf"), command_key(command).decode())
    finally:
        await bus.stop()
    await asyncio.sleep(1.5)
    expired = await portal.client.post("/invitations/redeem", json={"code": expiring})
    assert (expired.status_code, expired.json()["reason"]) == (410, "expired")


async def test_group_invitation_is_redeemed_up_to_its_maximum(portal: Portal) -> None:
    invited = await portal.client.post(
        "/admin/invitations",
        json={"contact_id": str(JANE_CONTACT_ID), "kind": "group", "max_redemptions": 2},
        headers=ADMIN,
    )
    assert invited.status_code == 201, invited.text
    code = invited.json()["code"]
    answers = [await portal.client.post("/invitations/redeem", json={"code": code}) for _ in "abc"]
    assert [a.status_code for a in answers] == [200, 200, 409]
    assert answers[0].json()["credential"] != answers[1].json()["credential"]


async def test_contact_without_company_or_account_cannot_be_invited(portal: Portal) -> None:
    contact_id = uuid.uuid4()
    put = await portal.client.put(
        f"/admin/contacts/{contact_id}",
        json={"lastname": "Nobody", "email": "nobody@x.example"},
        headers=ADMIN,
    )
    assert put.status_code == 200, put.text
    refused = await portal.client.post(
        "/admin/invitations", json={"contact_id": str(contact_id)}, headers=ADMIN
    )
    assert refused.status_code == 422
    assert await _fields(refused) == {"contact.company", "contact.account_number"}


async def test_who_may_do_what(portal: Portal) -> None:
    client = portal.client
    assert (await client.post("/orders", json=ORDER)).status_code == 401
    bad = {"Authorization": "Bearer nonsense"}
    assert (await client.get("/products", headers=bad)).status_code == 401
    may = await credential(portal, MAY_CONTACT_ID)  # a contact without a web role
    assert (await client.post("/orders", json=ORDER, headers=may)).status_code == 403
    assert (await client.get("/products", headers=may)).status_code == 403
    jane = await credential(portal, JANE_CONTACT_ID)
    assert (
        await client.get("/admin/contacts?email=jane@x.example", headers=jane)
    ).status_code == 403
    found = await client.get("/admin/contacts?email=JANE@x.example", headers=ADMIN)
    assert [c["contact_id"] for c in found.json()] == [str(JANE_CONTACT_ID)]


async def test_repeated_failed_redemptions_are_throttled(portal: Portal) -> None:
    statuses = [
        (await portal.client.post("/invitations/redeem", json={"code": f"guess-{i}"})).status_code
        for i in range(portal.settings.redeem_failures_per_minute + 1)
    ]
    assert statuses[:-1] == [404] * portal.settings.redeem_failures_per_minute
    assert statuses[-1] == 429
