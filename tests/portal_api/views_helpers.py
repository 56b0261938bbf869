"""Helpers of the order-view tests: credentials, orders from both sides, waiting for views."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from contracts.cds import SalesOrder, SalesOrderDetail
from contracts.envelope import envelope
from contracts.events import OrderSubmitted, OrderSyncStatusChanged
from contracts.values import OrderSyncStatus
from sync_service.eventstore.envelopes import to_new_event
from sync_service.streams import order_stream
from tests.portal_api.conftest import ADMIN, Portal

T = TypeVar("T")

ORDER: dict[str, Any] = {
    "requested_receipt_date": (date.today() + timedelta(days=14)).isoformat(),
    "delivery_address": {"street": "1 Main St", "city": "Redmond", "postal_code": "98052"},
    "lines": [
        {"product_number": "P-1000", "quantity": "3", "unit": "ea"},
        {"product_number": "P-1001", "quantity": "2", "unit": "box"},
    ],
}


async def redeemed(portal: Portal, contact_id: uuid.UUID) -> dict[str, Any]:
    """Invite the contact as the bootstrap admin and redeem: the redemption's answer."""
    invited = await portal.client.post(
        "/admin/invitations", json={"contact_id": str(contact_id)}, headers=ADMIN
    )
    assert invited.status_code == 201, invited.text
    answer = await portal.client.post("/invitations/redeem", json={"code": invited.json()["code"]})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def credential(portal: Portal, contact_id: uuid.UUID) -> dict[str, str]:
    """Invite the contact as the bootstrap admin and redeem: its Authorization header."""
    return {"Authorization": f"Bearer {(await redeemed(portal, contact_id))['credential']}"}


async def submit(portal: Portal, headers: dict[str, str], **changes: Any) -> str:
    """Submit an order through the API; its order id."""
    accepted = await portal.client.post("/orders", json={**ORDER, **changes}, headers=headers)
    assert accepted.status_code == 202, accepted.text
    return str(accepted.json()["order_id"])


async def erp_order(
    portal: Portal, *, customer: str, contact_person: str | None, company: str = "usmf"
) -> str:
    """Append an order created in the ERP, as the inbound mapping worker will (origin scm)."""
    order_id = uuid.uuid4()
    order = SalesOrder(
        sales_order_id=order_id,
        sales_order_number="SO-900001",
        customer_account=customer,
        contact_person_id=contact_person,
        currency="USD",
        company=company,
        processing_status="synced",
        requested_receipt_date=date(2026, 12, 1),
        lines=[
            SalesOrderDetail(
                sequence_number=1,
                product_number="P-1002",
                quantity=Decimal(10),
                unit="ea",
                price_per_unit=Decimal("4.20"),
                extended_amount=Decimal("42.00"),
            )
        ],
        total_amount=Decimal("42.00"),
    )
    event = OrderSubmitted(order=order, submitted_by="scm")
    new = to_new_event(envelope(event, origin="scm", company=company))
    await portal.store.append(order_stream(order_id), "order", 0, [new])
    return str(order_id)


async def change_status(
    portal: Portal,
    order_id: str,
    status: OrderSyncStatus,
    *,
    number: str | None = None,
    reason: str | None = None,
) -> None:
    """Append an OrderSyncStatusChanged to the order's stream, as the inbound worker will."""
    stream = order_stream(uuid.UUID(order_id))
    # Only once the order is stored: the processor may still be on the SubmitOrder command.
    await eventually(lambda: portal.store.stream_version(stream), lambda version: version > 0)
    changed = OrderSyncStatusChanged(
        salesorderid=uuid.UUID(order_id), status=status, sales_order_number=number, reason=reason
    )
    new = to_new_event(envelope(changed, origin="scm", company="usmf"))
    await portal.store.append(stream, "order", await portal.store.stream_version(stream), [new])


async def eventually(probe: Callable[[], Awaitable[T]], done: Callable[[T], bool]) -> T:
    """Probe until `done` holds (20 s at most): the views follow the events within moments."""
    async with asyncio.timeout(20):
        while True:
            value = await probe()
            if done(value):
                return value
            await asyncio.sleep(0.05)


async def order_ids(portal: Portal, headers: dict[str, str] | None) -> set[str]:
    """The ids of every order the caller sees (following the cursor)."""
    ids: set[str] = set()
    cursor: str | None = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = await portal.client.get("/orders", params=params, headers=headers)
        assert page.status_code == 200, page.text
        ids |= {item["order_id"] for item in page.json()["items"]}
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return ids


async def contact_without_a_price_list(portal: Portal) -> uuid.UUID:
    """A new Authorized user of customer X whose record lacks price list and currency."""
    contact_id = uuid.uuid4()
    put = await portal.client.put(
        f"/admin/contacts/{contact_id}",
        json={"firstname": "Partial", "lastname": "Contact", "email": "partial@x.example",
              "company": "usmf", "account_number": "US-001", "ship_to_country": "US",
              "web_roles": ["authorized_user"]},
        headers=ADMIN,
    )  # fmt: skip
    assert put.status_code == 200, put.text
    # The contact is in the write model once the processor has applied the command.
    await eventually(lambda: portal.app.state.reader.contact(contact_id), bool)
    return contact_id
