"""The Orders and Account pages in headless Chromium, signed in through the sign-in page.

The acceptance test of issue 12's Orders item: the seed's visibility table through the pages
(the administrator, the representative of X, Jane, Sam and May, each signed in, each sees
exactly the seed's orders; Jane on Sam's order's address gets "not found"), an open order page
that follows the order from pending to the ERP's number to confirmed without a reload, and
axe-core on the list, an order and the account page.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from uuid import UUID, uuid4

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from contracts.cds import SalesOrder, SalesOrderDetail
from contracts.envelope import envelope
from contracts.events import OrderSubmitted
from sync_service.demo_data import (
    ADMIN_CONTACT_ID,
    JANE_CONTACT_ID,
    MAY_CONTACT_ID,
    REP_CONTACT_ID,
    SAM_CONTACT_ID,
)
from sync_service.eventstore.base import NewEvent
from sync_service.eventstore.envelopes import to_new_event
from sync_service.streams import order_stream
from sync_service.writemodel.base import WriteModelReader
from tests.portal_api.conftest import Portal
from tests.portal_api.views_helpers import change_status
from tests.portal_web.browser import assert_accessible, give_password, sign_in, wait
from tests.portal_web.orders_helpers import seed_orders

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"
PEOPLE: dict[str, tuple[UUID, str]] = {
    "admin": (ADMIN_CONTACT_ID, "admin@portal.example"),
    "rep": (REP_CONTACT_ID, "rep@x.example"),
    "jane": (JANE_CONTACT_ID, "jane@x.example"),
    "sam": (SAM_CONTACT_ID, "sam@x.example"),
    "may": (MAY_CONTACT_ID, "may@y.example"),
}


def _as(driver: WebDriver, site: str, who: str) -> None:
    """Sign `who` in, in a browser that nobody is signed in to."""
    driver.delete_all_cookies()
    driver.get(f"{site}/portal/terms")  # a page of the site, so that no cookie of it is left
    driver.delete_all_cookies()
    sign_in(driver, site, PEOPLE[who][1], PASSWORD)


def _orders_shown(driver: WebDriver, site: str) -> set[str]:
    """The ids of the orders the list shows, following its "Next page" links."""
    driver.get(f"{site}/portal/orders?limit=2")
    shown: set[str] = set()
    while True:
        rows = driver.find_elements(By.CSS_SELECTOR, "tr[data-order-id]")
        shown |= {str(row.get_attribute("data-order-id")) for row in rows}
        following = driver.find_elements(By.LINK_TEXT, "Next page")
        if not following:
            return shown
        following[0].click()


def _heading(driver: WebDriver) -> str:
    return str(driver.find_element(By.TAG_NAME, "h1").text)


async def test_each_of_the_seed_signed_in_sees_exactly_their_orders(
    portal: Portal, site: str, browser: WebDriver
) -> None:
    seed = await seed_orders(portal)
    for contact_id, _ in PEOPLE.values():
        await give_password(portal, contact_id, PASSWORD)
    expected = {
        "admin": seed.everything,
        "rep": {seed.janes, seed.sams},
        "jane": {seed.janes},
        "sam": {seed.sams},
    }

    def walk() -> None:
        for who, orders in expected.items():
            _as(browser, site, who)
            assert _orders_shown(browser, site) == orders, who
            if who == "rep":  # the list with every column, and the account page
                browser.get(f"{site}/portal/orders")
                assert browser.find_elements(By.XPATH, "//th[normalize-space()='Placed by']")
                assert_accessible(browser)
                browser.get(f"{site}/portal/account")
                assert _heading(browser) == "Contoso Retail"
                assert_accessible(browser)
        # May has no web role: no orders, and a plain sentence why.
        _as(browser, site, "may")
        browser.get(f"{site}/portal/orders")
        assert not browser.find_elements(By.CSS_SELECTOR, "tr[data-order-id]")
        assert "has not been granted" in browser.find_element(By.TAG_NAME, "main").text
        # Jane, at the address of Sam's order: "not found", as the API answers.
        _as(browser, site, "jane")
        browser.get(f"{site}/portal/orders/{seed.sams}")
        assert _heading(browser) == "Not found"
        assert seed.sams not in browser.page_source
        browser.get(f"{site}/portal/orders/{seed.janes}")
        assert _heading(browser).startswith("Order ")

    await asyncio.to_thread(walk)


def _status(driver: WebDriver) -> str:
    # Read in the page, null-safe: the script replaces the timeline whole, a reload empties it.
    found = "const t = document.getElementById('timeline'); return t ? t.dataset.status : null;"
    return str(driver.execute_script(found))


def _timeline_text(driver: WebDriver) -> str:
    return str(driver.execute_script("return document.getElementById('timeline').innerText"))


async def test_an_open_order_page_follows_the_order_without_a_reload(
    portal: Portal, site: str, browser: WebDriver
) -> None:
    seed = await seed_orders(portal)
    await give_password(portal, JANE_CONTACT_ID, PASSWORD)

    def open_order() -> None:
        _as(browser, site, "jane")
        browser.get(f"{site}/portal/orders/{seed.janes}")
        assert _status(browser) == "pending"
        assert "Submitted, not yet in the ERP" in _timeline_text(browser)
        assert_accessible(browser)
        # Gone after a reload: that it stays proves the page changed in place.
        browser.execute_script("window.stillTheSamePage = true")

    def until(status: str) -> None:
        wait(browser, 15).until(lambda driver: _status(driver) == status)
        assert browser.execute_script("return window.stillTheSamePage") is True

    await asyncio.to_thread(open_order)
    await change_status(portal, seed.janes, "synced", number="SO-000777")
    await asyncio.to_thread(until, "synced")
    assert "In the ERP as SO-000777" in await asyncio.to_thread(_timeline_text, browser)
    news = browser.find_element(By.ID, "timeline-news")
    assert news.get_attribute("aria-live") == "polite"
    assert news.text == "Order status: In the ERP, SCM order number SO-000777."

    await change_status(portal, seed.janes, "confirmed", number="SO-000777")
    await asyncio.to_thread(until, "confirmed")
    current = browser.find_element(By.CSS_SELECTOR, '#timeline [aria-current="step"]')
    assert current.text.startswith("Confirmed")
    assert news.text == "Order status: Confirmed, SCM order number SO-000777."
    await asyncio.to_thread(assert_accessible, browser)

    # The last step: the page stops asking and says so.
    await change_status(portal, seed.janes, "invoiced", number="SO-000777")
    await asyncio.to_thread(until, "invoiced")
    refresh = browser.find_element(By.ID, "timeline-refresh")
    assert refresh.text == "This order has taken its last step."
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert not [e for e in errors if "favicon" not in e["message"]], errors


def _janes_order(order_id: UUID) -> NewEvent:
    """Jane's order as the command processor stores it (the event the views are built from)."""
    order = SalesOrder(
        sales_order_id=order_id,
        customer_account="US-001",
        currency="USD",
        company="usmf",
        ship_to_street="1 Main St",
        ship_to_city="Redmond",
        lines=[
            SalesOrderDetail(
                sequence_number=1,
                product_number="P-1000",
                quantity=Decimal(3),
                unit="ea",
                price_per_unit=Decimal(9),
                extended_amount=Decimal(27),
            )
        ],
        total_amount=Decimal(27),
    )
    submitted = OrderSubmitted(order=order, submitted_by=str(JANE_CONTACT_ID))
    return to_new_event(envelope(submitted, origin="portal", company="usmf"))


async def test_a_page_opened_before_the_order_is_stored_shows_it_once_it_is(
    portal: Portal, site: str, browser: WebDriver
) -> None:
    await give_password(portal, JANE_CONTACT_ID, PASSWORD)
    # Submitted through the wizard (its Idempotency-Key claimed), not yet processed.
    order_id = uuid4()
    reader: WriteModelReader = portal.app.state.reader
    await reader.claim_idempotency_key(str(JANE_CONTACT_ID), "wizard-1", "fp", order_id)

    def open_order() -> None:
        _as(browser, site, "jane")
        browser.get(f"{site}/portal/orders/{order_id}")
        assert _status(browser) == "arriving"
        assert "Your order was received" in browser.find_element(By.TAG_NAME, "main").text
        assert_accessible(browser)

    await asyncio.to_thread(open_order)
    await portal.store.append(order_stream(order_id), "order", 0, [_janes_order(order_id)])

    def shown() -> None:
        wait(browser, 15).until(lambda driver: _status(driver) == "pending")
        items = browser.find_element(By.CSS_SELECTOR, "table.lines").text
        assert "P-1000" in items and "27.00 USD" in items

    await asyncio.to_thread(shown)
