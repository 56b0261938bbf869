"""The whole round trip under an open order page: the ERP simulator numbers and confirms the
order, and the page shows each step as it happens, without a reload.

portal -> cds.events.v1 -> outbound -> scm.salesorders.v1 -> ERP simulator -> scm.inbound.v1 ->
inbound -> OrderSyncStatusChanged -> projections -> the page's timeline (polled).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from faststream.kafka import KafkaBroker
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from contracts.scm import SalesOrderHeader
from contracts.topics import ALL_TOPICS, SCM_SALESORDERS
from sync_service.db.engine import create_engine
from sync_service.demo_data import JANE_CONTACT_ID
from sync_service.erp_sim import StatusDelays, running_erp_sim
from sync_service.mappings.workers import inbound_worker
from sync_service.producer import running_producer
from sync_service.topics import ensure_topics
from tests.portal_api.conftest import Portal
from tests.portal_api.views_helpers import ORDER, credential
from tests.portal_web.browser import assert_accessible, give_password, sign_in, wait
from tests.sync_service.mappings.wire import read

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"
CONFIRMS_AFTER = StatusDelays(confirm_after=2.0, ship_after=0, invoice_after=0)
"""The simulated ERP confirms an order 2 s after numbering it, and takes it no further."""


@asynccontextmanager
async def _the_erp(portal: Portal) -> AsyncIterator[None]:
    """The ERP's side: the simulator, and the inbound mapping worker that reads its answers."""
    settings = portal.settings
    await ensure_topics(settings, ALL_TOPICS)
    engine = create_engine(settings.database_url)
    broker = KafkaBroker(settings.kafka_bootstrap, logger=None)
    try:
        async with running_producer(settings.kafka_bootstrap, client_id="test-inbound") as producer:
            inbound_worker(broker, settings, engine, producer, max_backoff_s=0.1)
            await broker.start()
            try:
                async with running_erp_sim(settings, CONFIRMS_AFTER, tick_s=0.1):
                    yield
            finally:
                await broker.stop()
    finally:
        await engine.dispose()


def _status(driver: WebDriver) -> str:
    return str(driver.execute_script("return document.getElementById('timeline').dataset.status"))


async def test_the_erp_numbers_and_confirms_the_order_while_its_page_is_open(
    portal: Portal, outbound: None, site: str, browser: WebDriver
) -> None:
    await give_password(portal, JANE_CONTACT_ID, PASSWORD)
    jane = await credential(portal, JANE_CONTACT_ID)
    # Submitted as the wizard submits it (an Idempotency-Key), while the ERP is not running yet.
    accepted = await portal.client.post(
        "/orders", json=ORDER, headers={**jane, "Idempotency-Key": "round-trip"}
    )
    assert accepted.status_code == 202, accepted.text
    order_id = accepted.json()["order_id"]

    def open_the_order() -> None:
        sign_in(browser, site, "jane@x.example", PASSWORD)
        browser.get(f"{site}/portal/orders/{order_id}")
        wait(browser, 15).until(lambda driver: _status(driver) == "pending")
        browser.execute_script("window.stillTheSamePage = true")  # gone after a reload

    def until(status: str) -> str:
        wait(browser, 30).until(lambda driver: _status(driver) == status)
        assert browser.execute_script("return window.stillTheSamePage") is True
        return str(browser.find_element(By.ID, "timeline").text)

    await asyncio.to_thread(open_the_order)
    async with _the_erp(portal):
        synced = await asyncio.to_thread(until, "synced")
        number = (await portal.client.get(f"/orders/{order_id}", headers=jane)).json()[
            "sales_order_number"
        ]
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
