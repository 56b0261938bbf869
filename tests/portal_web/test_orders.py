"""The Orders pages over HTTP with bearer credentials: the seed's visibility, the order page,
its timeline fragment following the order's events, and the list's filter, sort and pages.

The portal fixture runs the API with the command processor, projections and relay on the real
Kafka and PostgreSQL; orders come from both sides as in tests/portal_api/test_order_views.py.
"""

from __future__ import annotations

import uuid

import pytest

from contracts.envelope import envelope
from contracts.errors import FieldError
from contracts.events import CommandRejected
from sync_service.demo_data import JANE_CONTACT_ID, SAM_CONTACT_ID
from sync_service.eventstore.envelopes import to_new_event
from sync_service.streams import order_stream
from sync_service.writemodel.base import WriteModelReader
from tests.portal_api.conftest import ADMIN, Portal
from tests.portal_api.views_helpers import ORDER, change_status, credential, eventually, submit
from tests.portal_web.orders_helpers import link, listed, seed_orders, steps, text

pytestmark = pytest.mark.integration


async def _listed_on_every_page(portal: Portal, headers: dict[str, str] | None) -> list[str]:
    """The ids of every order the list shows, following its "Next page" links two at a time."""
    found: list[str] = []
    address: str | None = "/portal/orders?limit=2"
    while address is not None:
        page = await portal.client.get(address, headers=headers)
        assert page.status_code == 200, page.text
        assert page.headers["content-type"].startswith("text/html")
        found += listed(page.text)
        address = link(page.text, "Next page")
    return found


async def test_each_of_the_seed_sees_exactly_their_orders_and_no_other(portal: Portal) -> None:
    seed = await seed_orders(portal)
    people = seed.people
    assert sorted(await _listed_on_every_page(portal, ADMIN)) == sorted(seed.everything)
    assert sorted(await _listed_on_every_page(portal, people["admin"])) == sorted(seed.everything)
    assert sorted(await _listed_on_every_page(portal, people["rep"])) == sorted(
        [seed.janes, seed.sams]
    )
    assert await _listed_on_every_page(portal, people["jane"]) == [seed.janes]
    assert await _listed_on_every_page(portal, people["sam"]) == [seed.sams]

    # May has no web role: the page says so (403), as GET /orders refuses her.
    mays_page = await portal.client.get("/portal/orders", headers=people["may"])
    assert mays_page.status_code == 403
    assert "access to the portal has not been granted" in text(mays_page.text)
    assert seed.mays not in mays_page.text
    # Nobody signed in: off to the sign-in page, coming back here afterwards.
    anonymous = await portal.client.get("/portal/orders")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/portal/sign-in?next=/portal/orders"

    # The representative sees who placed each order; Jane, whose orders are all hers, does not.
    reps = text((await portal.client.get("/portal/orders", headers=people["rep"])).text)
    assert "Placed by" in reps and "Jane Contoso" in reps and "Sam Contoso" in reps
    janes = text((await portal.client.get("/portal/orders", headers=people["jane"])).text)
    assert "Placed by" not in janes and "Create order" in janes
    everyone = text((await portal.client.get("/portal/orders", headers=ADMIN)).text)
    assert "May Fabrikam" in everyone and "SO-900001" in everyone and "In the ERP" in everyone

    # An order one may not see is "not found", as the API answers, for the page and its timeline.
    for headers, order_id in (
        (people["jane"], seed.sams),
        (people["sam"], seed.janes),
        (people["rep"], seed.mays),
    ):
        for address in (f"/portal/orders/{order_id}", f"/portal/orders/{order_id}/timeline"):
            refused = await portal.client.get(address, headers=headers)
            assert refused.status_code == 404, address
            assert "Not found" in refused.text and order_id not in refused.text
        api = await portal.client.get(f"/orders/{order_id}", headers=headers)
        assert api.status_code == 404
    nowhere = await portal.client.get(
        "/portal/orders/00000000-0000-4000-8000-000000000000", headers=ADMIN
    )
    assert nowhere.status_code == 404
    admins = await portal.client.get(f"/portal/orders/{seed.mays}", headers=ADMIN)
    assert admins.status_code == 200


async def test_the_order_page_shows_lines_totals_address_and_the_timeline(portal: Portal) -> None:
    seed = await seed_orders(portal)
    page = await portal.client.get(f"/portal/orders/{seed.janes}", headers=seed.people["jane"])
    assert page.status_code == 200, page.text
    words = text(page.text)
    for shown in (
        "P-1000", "27.00 USD", "P-1001", "500.00 USD", "Total 527.00 USD",
        "1 Main St", "Redmond", "REQ-7", "usmf · US-001",
        "Status: Submitted, not yet in the ERP", "Refresh",
    ):  # fmt: skip
        assert shown in words, shown
    assert steps(page.text) == [
        ("pending", True, True),
        ("synced", False, False),
        ("confirmed", False, False),
        ("shipped", False, False),
        ("invoiced", False, False),
    ]
    assert '<script src="/portal/static/order-timeline.js" defer></script>' in page.text
    assert 'aria-live="polite"' in page.text
    script = await portal.client.get("/portal/static/order-timeline.js")
    assert script.status_code == 200 and "timeline" in script.text

    # May's order came from the ERP already numbered: submitted and in the ERP at once.
    erp = await portal.client.get(f"/portal/orders/{seed.mays}", headers=ADMIN)
    assert steps(erp.text)[:3] == [
        ("pending", True, False),
        ("synced", True, True),
        ("confirmed", False, False),
    ]
    assert "In the ERP as SO-900001" in text(erp.text)
    assert "May Fabrikam" in text(erp.text)  # placed by, for an administrator


async def test_the_timeline_follows_the_orders_status_events(portal: Portal) -> None:
    jane = await credential(portal, JANE_CONTACT_ID)
    order_id = await submit(portal, jane)
    address = f"/portal/orders/{order_id}/timeline"

    async def fragment() -> str:
        answer = await portal.client.get(address, headers=jane)
        return answer.text if answer.status_code == 200 else ""

    pending = await eventually(fragment, lambda page: 'data-status="pending"' in page)
    assert "<html" not in pending and 'id="timeline"' in pending
    assert 'data-version="1"' in pending and 'data-settled="false"' in pending

    await change_status(portal, order_id, "synced", number="SO-000123")
    synced = await eventually(fragment, lambda page: 'data-status="synced"' in page)
    assert "In the ERP as SO-000123" in text(synced)
    assert "Order status: In the ERP, SCM order number SO-000123." in synced  # announced
    assert [step[:2] for step in steps(synced)][:3] == [
        ("pending", True),
        ("synced", True),
        ("confirmed", False),
    ]
    assert synced.count("<time ") == 2  # both steps reached, each with its time

    # Shipped straight away: confirmed is reached too, though no event says when.
    await change_status(portal, order_id, "shipped", number="SO-000123")
    shipped = await eventually(fragment, lambda page: 'data-status="shipped"' in page)
    assert steps(shipped) == [
        ("pending", True, False),
        ("synced", True, False),
        ("confirmed", True, False),
        ("shipped", True, True),
        ("invoiced", False, False),
    ]
    assert "Done" in text(shipped) and shipped.count("<time ") == 3

    await change_status(portal, order_id, "sync_failed", reason="CustomerGroupId is missing")
    failed = await eventually(fragment, lambda page: 'data-status="sync_failed"' in page)
    assert steps(failed)[-1] == ("sync_failed", True, True)
    assert "invoiced" not in [status for status, _, _ in steps(failed)]
    assert "CustomerGroupId is missing" in text(failed)

    await change_status(portal, order_id, "canceled")
    canceled = await eventually(fragment, lambda page: 'data-status="canceled"' in page)
    assert steps(canceled)[-1] == ("canceled", True, True)
    assert 'data-settled="true"' in canceled  # the script stops asking


async def test_the_list_filters_sorts_and_pages(portal: Portal) -> None:
    jane = await credential(portal, JANE_CONTACT_ID)
    early = await submit(portal, jane, requested_receipt_date="2030-01-10")
    late = await submit(portal, jane, requested_receipt_date="2030-03-10")
    middle = await submit(portal, jane, requested_receipt_date="2030-02-10")
    await change_status(portal, late, "synced", number="SO-2")

    async def rows(**params: str) -> list[str]:
        answer = await portal.client.get("/portal/orders", params=params, headers=jane)
        assert answer.status_code == 200, answer.text
        return listed(answer.text)

    await eventually(lambda: rows(status="synced"), lambda found: found == [late])
    await eventually(rows, lambda found: len(found) == 3)
    assert await rows() == [middle, late, early]  # newest first
    assert await rows(sort="submitted_at") == [early, late, middle]
    assert await rows(status="pending", sort="requested_receipt_date") == [early, middle]
    assert await rows(sort="requested_receipt_date") == [early, middle, late]
    assert await rows(sort="-requested_receipt_date") == [late, middle, early]
    assert await rows(status="invoiced") == []

    # One at a time: the links keep the filter and the sort.
    first = await portal.client.get(
        "/portal/orders",
        params={"sort": "requested_receipt_date", "status": "pending", "limit": "1"},
        headers=jane,
    )
    assert listed(first.text) == [early] and link(first.text, "First page") is None
    following = link(first.text, "Next page")
    assert following is not None and "status=pending" in following
    second = await portal.client.get(following, headers=jane)
    assert listed(second.text) == [middle]
    assert link(second.text, "Next page") is None
    assert link(second.text, "First page") == (
        "/portal/orders?status=pending&sort=requested_receipt_date&limit=1"
    )
    # The form shows what is chosen.
    assert '<option value="pending" selected>' in first.text

    for params in (
        {"status": "lost"},
        {"sort": "price"},
        {"limit": "0"},
        {"limit": "many"},
        {"cursor": "garbage"},
    ):
        refused = await portal.client.get("/portal/orders", params=params, headers=jane)
        assert refused.status_code == 422, params
        assert refused.headers["content-type"].startswith("text/html")


async def test_a_just_submitted_order_is_on_its_way_not_missing(portal: Portal) -> None:
    jane = await credential(portal, JANE_CONTACT_ID)
    sam = await credential(portal, SAM_CONTACT_ID)
    # As the wizard submits: with an Idempotency-Key, then straight to the order's page.
    accepted = await portal.client.post(
        "/orders", json=ORDER, headers={**jane, "Idempotency-Key": "wizard-1"}
    )
    assert accepted.status_code == 202, accepted.text
    order_id = accepted.json()["order_id"]
    page = await portal.client.get(f"/portal/orders/{order_id}", headers=jane)
    assert page.status_code == 200 and steps(page.text)[0] == ("pending", True, True)

    # Claimed but not (yet) stored: "received" for its submitter, "not found" for anyone else.
    reader: WriteModelReader = portal.app.state.reader
    on_its_way = uuid.uuid4()
    await reader.claim_idempotency_key(str(JANE_CONTACT_ID), "wizard-2", "fp", on_its_way)
    received = await portal.client.get(f"/portal/orders/{on_its_way}", headers=jane)
    assert received.status_code == 200
    assert "Your order was received" in text(received.text)
    assert 'data-version="0"' in received.text and "order-timeline.js" in received.text
    fragment = await portal.client.get(f"/portal/orders/{on_its_way}/timeline", headers=jane)
    assert fragment.status_code == 200 and 'data-status="arriving"' in fragment.text
    for address in (f"/portal/orders/{on_its_way}", f"/portal/orders/{on_its_way}/timeline"):
        assert (await portal.client.get(address, headers=sam)).status_code == 404

    # Refused by the processor after all: its submitter reads why.
    refusal = CommandRejected(
        command_id=uuid.uuid4(),
        command_type="SubmitOrder",
        errors=[FieldError(field="contact.price_list", message="PL-GONE is not a price list")],
    )
    new = to_new_event(envelope(refusal, origin="portal", company="usmf"))
    await portal.store.append(order_stream(on_its_way), "order", 0, [new])

    async def janes_page() -> str:
        answer = await portal.client.get(f"/portal/orders/{on_its_way}", headers=jane)
        return answer.text if answer.status_code == 422 else ""

    refused = text(await eventually(janes_page, bool))
    assert "Your order was refused: contact.price_list: PL-GONE is not a price list" in refused
    address = f"/portal/orders/{on_its_way}"
    assert (await portal.client.get(address, headers=sam)).status_code == 404
    assert (await portal.client.get(address, headers=ADMIN)).status_code == 200
