"""Issue 12's walk through the portal, in headless Chromium, with the ERP on the other side:
invitation -> choose a password -> sign out -> sign in -> the three steps with two items -> the
order page shows the order pending, then with the ERP's number, then confirmed, as the ERP
simulator answers, without a reload; the order is on scm.salesorders.v1 once.

portal -> cds.events.v1 -> outbound -> scm.salesorders.v1 -> ERP simulator -> scm.inbound.v1 ->
inbound -> OrderSyncStatusChanged -> projections -> the page's timeline (polled).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from contracts.scm import SalesOrderHeader
from contracts.topics import ALL_TOPICS, SCM_SALESORDERS
from sync_service.db.engine import create_engine
from sync_service.demo_data import JANE_CONTACT_ID
from sync_service.erp_sim import StatusDelays, running_erp_sim
from sync_service.kafka_access import client_options
from sync_service.mappings.workers import inbound_worker
from sync_service.producer import running_producer
from sync_service.topics import ensure_topics
from tests.kafka_roles import role_broker
from tests.portal_api.conftest import ADMIN, Portal
from tests.portal_web.browser import assert_accessible, sign_in, sign_out, wait
from tests.portal_web.test_sessions_browser import PASSWORD, _invitation_code, _redeem
from tests.portal_web.test_wizard_browser import _wizard
from tests.sync_service.mappings.wire import read

pytestmark = pytest.mark.integration

CONFIRMS_AFTER = StatusDelays(confirm_after=2.0, ship_after=0, invoice_after=0)
"""The simulated ERP confirms an order 2 s after numbering it, and takes it no further."""


@asynccontextmanager
async def _the_erp(portal: Portal) -> AsyncIterator[None]:
    """The ERP's side: the simulator, and the inbound mapping worker that reads its answers."""
    settings = portal.settings
    await ensure_topics(settings, ALL_TOPICS)
    engine = create_engine(settings.database_url)
    broker = role_broker(settings, "inbound")
    try:
        async with running_producer(
            settings.kafka_bootstrap,
            client_id="test-inbound",
            security=client_options(settings, "inbound"),
        ) as producer:
            inbound_worker(broker, settings, engine, producer, max_backoff_s=0.1)
            await broker.start()
            try:
                async with running_erp_sim(settings, CONFIRMS_AFTER, tick_s=0.1):
                    yield
            finally:
                await broker.stop()
    finally:
        await engine.dispose()


def _until_status(driver: WebDriver, status: str) -> None:
    """Wait for the open page's timeline to show `status`; else fail with what the page shows."""
    try:
        wait(driver).until(lambda d: _status(d) == status)
    except TimeoutException:
        shown = " ".join(str(driver.execute_script("return document.body.innerText")).split())
        raise AssertionError(f"the page never showed {status}; it shows: {shown[:600]}") from None


def _status(driver: WebDriver) -> str:
    # Read in the page, null-safe: the script replaces the timeline whole, a reload empties it.
    found = "const t = document.getElementById('timeline'); return t ? t.dataset.status : null;"
    return str(driver.execute_script(found))


async def test_invitation_to_an_order_the_erp_confirms_under_its_open_page(
    portal: Portal, outbound: None, site: str, browser: WebDriver
) -> None:
    code = await _invitation_code(portal, JANE_CONTACT_ID)

    def order_through_the_wizard() -> str:
        _redeem(browser, site, code, PASSWORD)
        sign_out(browser, site)
        sign_in(browser, site, "jane@x.example", PASSWORD)
        order_id = _wizard(browser, site)  # the ERP is not running yet: the order waits for it
        # The order page may first say "received" until the views have the order (slow on a
        # loaded machine): a generous bound, the condition ends the wait.
        _until_status(browser, "pending")
        assert "Submitted, not yet in the ERP" in browser.find_element(By.ID, "timeline").text
        browser.execute_script("window.stillTheSamePage = true")  # gone after a reload
        return order_id

    def until(status: str) -> str:
        _until_status(browser, status)
        assert browser.execute_script("return window.stillTheSamePage") is True
        return str(browser.find_element(By.ID, "timeline").text)

    order_id = await asyncio.to_thread(order_through_the_wizard)
    async with _the_erp(portal):
        synced = await asyncio.to_thread(until, "synced")
        view = await portal.client.get(f"/orders/{order_id}", headers=ADMIN)
        number = view.json()["sales_order_number"]
        assert number and f"In the ERP as {number}" in synced
        confirmed = await asyncio.to_thread(until, "confirmed")
        assert f"SCM order number {number}" in confirmed
        await asyncio.to_thread(assert_accessible, browser)

    key = f"usmf/{order_id}"
    sent = await read(
        portal.settings, SCM_SALESORDERS, lambda seen: any(r.key == key for r in seen), settle_s=1
    )
    headers = [r for r in sent if isinstance(r.env.payload, SalesOrderHeader) and r.key == key]
    assert len(headers) == 1  # on scm.salesorders.v1 once
