"""The Create Order wizard over HTTP with a bearer credential: the seed's three steps (SPEC §3).

Every step posts the draft back; these tests post the forms as a browser without JavaScript
would, and read the pages back.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from contracts.events import OrderSubmitted
from sync_service.demo_data import JANE_CONTACT_ID, MAY_CONTACT_ID, SAM_CONTACT_ID
from sync_service.eventstore.envelopes import to_envelope
from sync_service.streams import order_stream
from tests.portal_api.conftest import ADMIN, Portal
from tests.portal_api.views_helpers import (
    contact_without_a_price_list,
    credential,
    eventually,
    order_ids,
)
from tests.portal_web.html_page import Page

pytestmark = pytest.mark.integration

NEW = "/portal/orders/new"
WHEN = (date.today() + timedelta(days=14)).isoformat()
INFORMATION = {
    "requested_receipt_date": WHEN,
    "street": "1 Main St",
    "city": "Redmond",
    "postal_code": "98052",
    "requisition_number": "REQ-9",
}


class Wizard:
    """One person going through the wizard: the page shown now, and its forms posted."""

    def __init__(self, portal: Portal, headers: dict[str, str]) -> None:
        self.portal = portal
        self.headers = headers
        self.page: Page | None = None
        self.response: httpx.Response | None = None

    async def start(self) -> Page:
        started = await self.portal.client.get(NEW, headers=self.headers)
        assert started.status_code == 200, started.text
        return self._shown(started)

    def _shown(self, response: httpx.Response) -> Page:
        self.response = response
        self.page = Page(response.text)
        return self.page

    def draft_text(self) -> str:
        assert self.page is not None
        return self.page.value("draft")

    @property
    def draft(self) -> dict[str, Any]:
        assert self.page is not None
        loaded: dict[str, Any] = json.loads(self.page.value("draft"))
        return loaded

    async def post(self, to: str, expect: int = 200, **fields: str) -> Page:
        """Post the shown page's form to `/portal/orders/new/<to>` with `fields` added."""
        assert self.page is not None
        form = {"draft": self.page.value("draft"), "step": self.page.value("step"), **fields}
        answer = await self.portal.client.post(f"{NEW}/{to}", data=form, headers=self.headers)
        assert answer.status_code == expect, answer.text
        return self._shown(answer)

    async def add(self, product: str, quantity: str, unit: str, expect: int = 200) -> Page:
        return await self.post(
            "items", expect, action="add", product_number=product, quantity=quantity, unit=unit
        )

    async def to_review(self) -> Page:
        await self.post("items", **INFORMATION)
        await self.add("P-1000", "3", "ea")
        await self.add("P-1001", "2", "box")
        return await self.post("review")


def _error(page: Page, element_id: str) -> str:
    return page[element_id].words


async def test_each_step_keeps_what_was_entered_going_back_and_forward(portal: Portal) -> None:
    jane = Wizard(portal, await credential(portal, JANE_CONTACT_ID))
    page = await jane.start()
    key = jane.draft["key"]
    uuid.UUID(key)  # one Idempotency-Key, made when the wizard starts
    assert page.value("company") == "usmf" and "readonly" in page["f-company"].attrs
    assert page.value("ship_to_country") == "US" and "readonly" in page["f-ship_to_country"].attrs
    assert page["f-company-hint"].words == "Filled in from your contact record."

    page = await jane.post("items", **INFORMATION)
    assert "item-editor" in page and page.value("action") == "add"
    page = await jane.add("P-1000", "3", "ea")
    assert page["item-0"].words.startswith("Widget P-1000 3 ea 9.00 USD 27.00 USD")
    page = await jane.add("P-1001", "2", "box")
    assert page["items-total"].words == "527.00 USD"

    # Change item 2 (the form comes back filled in with it), then remove an added third.
    page = await jane.post("items", action="change:1")
    assert page["item-editor-title"].words == "Change item 2"
    assert (page.value("product_number"), page.value("quantity")) == ("P-1001", "2")
    assert page.value("action") == "save:1"
    page = await jane.post(
        "items", action="save:1", product_number="P-1001", quantity="3", unit="box"
    )
    assert "750.00 USD" in page["item-1"].words
    page = await jane.add("P-1003", "1", "ea")
    page = await jane.post("items", action="remove:2")
    assert "item-2" not in page and page["items-total"].words == "777.00 USD"

    # Back to step 1: everything typed is there; forward again: the items are too.
    page = await jane.post("information")
    assert [page.value(name) for name in INFORMATION] == list(INFORMATION.values())
    page = await jane.post("items", **{**INFORMATION, "city": "Seattle"})
    assert page["items-total"].words == "777.00 USD"
    page = await jane.post("review")
    filled = page["filled-in"].words
    for shown in (
        "Company usmf",
        "Potential customer US-001",
        "Invoice customer US-001",
        "Contact person Jane Contoso",
        "Language en-us",
        "Currency USD",
        "Price list PL-US-001",
        "Ship to country/region US",
        "Sales order name sales order",
        "Delivery address description delivery address description",
    ):
        assert shown in filled
    assert "Delivery address 1 Main St 98052 Seattle" in page.words
    assert page["review-total"].words == "777.00 USD"
    assert "missing-contact-fields" not in page and "order-problems" not in page
    page = await jane.post("items")
    assert page["items-total"].words == "777.00 USD" and jane.draft["key"] == key


async def test_a_refused_field_is_shown_at_it_and_nothing_typed_is_lost(portal: Portal) -> None:
    sam = Wizard(portal, await credential(portal, SAM_CONTACT_ID))
    await sam.start()
    typed = {**INFORMATION, "requested_receipt_date": "next week", "street": "  "}
    page = await sam.post("items", expect=422, **typed)
    assert _error(page, "f-requested_receipt_date-error") == "must be a date written YYYY-MM-DD"
    assert _error(page, "f-street-error") == "String should have at least 1 character"
    assert page["f-street"].attrs["aria-invalid"] == "true"
    assert "f-city-error" not in page
    assert (page.value("requested_receipt_date"), page.value("city")) == ("next week", "Redmond")
    page = await sam.post("items", **INFORMATION)
    assert "item-editor" in page


async def test_a_quantity_of_0_is_shown_at_its_item(portal: Portal) -> None:
    sam = Wizard(portal, await credential(portal, SAM_CONTACT_ID))
    await sam.start()
    await sam.post("items", **INFORMATION)
    await sam.add("P-1000", "3", "ea")
    page = await sam.add("P-1002", "0", "ea", expect=422)
    assert _error(page, "item-1-quantity-error") == "the quantity must be more than 0"
    assert "item-0-quantity-error" not in page
    page = await sam.add("P-1003", "1", "box", expect=422)
    assert _error(page, "item-2-unit-error") == "P-1003 is not sold in 'box' (units: ea)"
    # Next does not leave the step while an item is refused; the items stay as typed.
    page = await sam.post("review", expect=422)
    assert _error(page, "item-1-quantity-error") == "the quantity must be more than 0"
    assert [line["quantity"] for line in sam.draft["lines"]] == ["3", "0", "1"]
    page = await sam.post(
        "items", expect=422, action="save:1", product_number="P-1002", quantity="4", unit="ea"
    )
    assert "item-1-quantity-error" not in page and "item-2-unit-error" in page
    await sam.post("items", action="remove:2")
    assert "Review and submit" in (await sam.post("review")).words


async def test_no_items_cannot_go_on_to_review(portal: Portal) -> None:
    sam = Wizard(portal, await credential(portal, SAM_CONTACT_ID))
    await sam.start()
    await sam.post("items", **INFORMATION)
    page = await sam.post("review", expect=422)
    assert _error(page, "items-error") == "an order needs at least one item"


async def test_a_contact_without_a_price_list_is_told_which_fields_are_missing(
    portal: Portal,
) -> None:
    contact_id = await contact_without_a_price_list(portal)
    pat = Wizard(portal, await credential(portal, contact_id))
    await pat.start()
    page = await pat.to_review()
    missing = page["missing-contact-fields"].words
    assert "the contact record has no Price list, which an order needs" in missing
    assert "the contact record has no Currency, which an order needs" in missing
    assert "Ship-to" not in missing and "order-problems" not in page
    assert "Price list Not set" in page["filled-in"].words
    # Submit is refused the same way, and nothing is sent.
    refused = await pat.post("submit", expect=422)
    assert "the contact record has no Price list" in refused["missing-contact-fields"].words
    # Back keeps the items.
    page = await pat.post("items")
    assert [line["product_number"] for line in pat.draft["lines"]] == ["P-1000", "P-1001"]
    assert "item-1" in page
    assert await order_ids(portal, pat.headers) == set()


async def test_the_same_form_posted_twice_creates_one_order(portal: Portal) -> None:
    jane = Wizard(portal, await credential(portal, JANE_CONTACT_ID))
    await jane.start()
    await jane.to_review()
    form = {"draft": jane.draft_text(), "step": "review"}
    # A double click: two posts at once; then the form resubmitted (a reload).
    answers = await asyncio.gather(
        *(portal.client.post(f"{NEW}/submit", data=form, headers=jane.headers) for _ in range(2))
    )
    answers.append(await portal.client.post(f"{NEW}/submit", data=form, headers=jane.headers))
    assert {answer.status_code for answer in answers} == {303}
    locations = {answer.headers["location"] for answer in answers}
    assert len(locations) == 1
    (location,) = locations
    order_id = location.removeprefix("/portal/orders/")
    assert location == f"/portal/orders/{uuid.UUID(order_id)}"
    stream = order_stream(uuid.UUID(order_id))
    await eventually(lambda: portal.store.read_stream(stream), bool)
    await asyncio.sleep(0.5)  # a second command, were there one, would have landed by now
    events = await portal.store.read_stream(stream)
    assert [event.event_type for event in events] == ["OrderSubmitted"]
    assert await order_ids(portal, jane.headers) == {order_id}
    # The same wizard changed after its order went: refused, never a second order.
    changed = json.dumps({**jane.draft, "requisition_number": "REQ-10"})
    again = await portal.client.post(
        f"{NEW}/submit", data={**form, "draft": changed}, headers=jane.headers
    )
    assert again.status_code == 422
    assert "This order was submitted already" in Page(again.text).words


async def test_an_administrator_picks_company_and_customer_account(portal: Portal) -> None:
    admin = Wizard(portal, ADMIN)
    page = await admin.start()
    assert page.options("company") == ["", "usmf"]
    assert page.options("customer_account") == ["", "US-001", "US-002"]
    assert "readonly" not in page["f-company"].attrs
    page = await admin.post(
        "items", expect=422, **INFORMATION, company="usmf", customer_account="US-999"
    )
    assert _error(page, "f-customer_account-error") == "no customer account US-999 in usmf"
    assert page.value("customer_account") == ""  # not one of the accounts, so none is chosen
    page = await admin.post("items", **INFORMATION, company="usmf", customer_account="US-002")
    page = await admin.add("P-1000", "2", "ea")
    assert page["items-total"].words == "19.00 USD"  # PL-US-002's 9.50
    page = await admin.post("review")
    filled = page["filled-in"].words
    assert "Potential customer US-002" in filled and "Price list PL-US-002" in filled
    await admin.post("submit", expect=303)
    assert admin.response is not None
    order_id = uuid.UUID(admin.response.headers["location"].removeprefix("/portal/orders/"))
    stream = order_stream(order_id)
    events = await eventually(lambda: portal.store.read_stream(stream), bool)
    submitted = to_envelope(events[0]).payload
    assert isinstance(submitted, OrderSubmitted)
    order = submitted.order
    assert (order.company, order.customer_account, order.price_list) == (
        "usmf",
        "US-002",
        "PL-US-002",
    )
    assert order.requisition_number == "REQ-9" and str(order.requested_receipt_date) == WHEN


async def test_who_may_open_the_wizard(portal: Portal) -> None:
    anonymous = await portal.client.get(NEW)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/portal/sign-in?next=/portal/orders/new"
    may = await portal.client.get(NEW, headers=await credential(portal, MAY_CONTACT_ID))
    assert may.status_code == 403
    jane = await credential(portal, JANE_CONTACT_ID)
    reopened = await portal.client.get(f"{NEW}/items", headers=jane)
    assert (reopened.status_code, reopened.headers["location"]) == (303, NEW)
    broken = await portal.client.post(f"{NEW}/items", data={"draft": "{}"}, headers=jane)
    assert broken.status_code == 400
    assert "Start the order again" in Page(broken.text).words
