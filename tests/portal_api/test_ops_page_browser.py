"""The ops page in headless Chromium: sign in, see a dead letter, redrive it, see it gone.

Debian's chromium and chromium-driver drive it through the `browser` fixture of the portal's
browser tests (tests/portal_web/browser.py).
The API runs for real on a free 127.0.0.1 port, beside the portal fixture's services and an
outbound mapping worker; the browser's blocking calls run in a thread so that those go on.
"""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from contracts.scm import SalesOrderHeader
from contracts.topics import CDS_EVENTS, DEADLETTER, SCM_SALESORDERS
from sync_service.demo_data import JANE_CONTACT_ID
from sync_service.streams import order_stream
from tests.portal_api.conftest import ADMIN_TOKEN, Portal
from tests.portal_api.views_helpers import credential
from tests.portal_web.browser import browser, serve
from tests.sync_service.mappings.orders import order_event, portal_order, product_without_site
from tests.sync_service.mappings.test_outbound import _append
from tests.sync_service.mappings.wire import read, send

pytestmark = pytest.mark.integration

__all__ = ["browser"]  # the fixture, used by this module's tests

WAIT_S = 60
SCREENSHOT = os.environ.get("DUALSYNC_OPS_SCREENSHOT")
"""Where to save a screenshot of the page with data (docs/ops-page.png), when set."""


@pytest.fixture
async def api_url(portal: Portal) -> AsyncIterator[str]:
    """The API on a free 127.0.0.1 port (uvicorn in a thread of its own, with its own loop)."""
    async with serve(portal) as url:
        yield url


def _wait(driver: WebDriver) -> WebDriverWait[WebDriver]:
    return WebDriverWait(driver, WAIT_S)


def _sign_in(driver: WebDriver, url: str, token: str) -> None:
    driver.get(f"{url}/ops")
    _wait(driver).until(ec.url_to_be(f"{url}/ops/login"))
    driver.find_element(By.ID, "credential").send_keys(token)
    driver.find_element(By.ID, "sign-in").click()


def _sees_dead_letter(driver: WebDriver, url: str, letter_id: str) -> str:
    _sign_in(driver, url, ADMIN_TOKEN)
    row = _wait(driver).until(ec.presence_of_element_located((By.ID, f"dl-{letter_id}")))
    return str(row.text)


def _redrives(driver: WebDriver, letter_id: str) -> str:
    driver.find_element(By.CSS_SELECTOR, f"#dl-{letter_id} button.redrive").click()
    _wait(driver).until(ec.presence_of_element_located((By.ID, "no-dead-letters")))
    assert not driver.find_elements(By.ID, f"dl-{letter_id}")
    return str(driver.find_element(By.ID, "flash").text)


def _console_errors(driver: WebDriver) -> list[str]:
    """What the browser console reported as errors: a script failure, a CSP refusal, a 404."""
    return [str(e["message"]) for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def _lag_numbers(driver: WebDriver) -> list[str]:
    """The 'waiting' column once the script has polled GET /ops/lag."""
    cells = _wait(driver).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#lag-backlog td.pending")
    )
    return [str(cell.text) for cell in cells]


def _pause_from_the_page(driver: WebDriver, name: str, note: str) -> None:
    driver.find_element(By.CSS_SELECTOR, f"#map-{name} input[name=note]").send_keys(note)
    driver.find_element(By.CSS_SELECTOR, f"#map-{name} button.pause").click()
    _wait(driver).until(ec.presence_of_element_located((By.CSS_SELECTOR, f"#map-{name} .resume")))


def _save_screenshot(driver: WebDriver, path: Path) -> None:
    """The whole page at 80 % (a PNG small enough for the README)."""
    width, height = driver.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
    )
    clip = {"x": 0, "y": 0, "width": width, "height": height, "scale": 0.8}
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "clip": clip, "captureBeyondViewport": True}
    )
    path.write_bytes(base64.b64decode(shot["data"]))


async def _screenshot(portal: Portal, driver: WebDriver, path: Path) -> None:
    """The page with data, for the docs: a map paused while orders wait, the chart rising."""
    note = "product data being fixed in the ERP"
    await asyncio.to_thread(_pause_from_the_page, driver, "SalesOrderHeaders", note)
    for _ in range(4):
        order = portal_order("P-1000")
        key = order_stream(order.sales_order_id)
        await send(portal.settings, CDS_EVENTS, (key, order_event(order)))
        await asyncio.sleep(3)  # a lag poll or so between them: the chart climbs in steps
    await asyncio.sleep(6)
    await asyncio.to_thread(_save_screenshot, driver, path)


async def test_a_dead_letter_is_seen_redriven_and_gone_in_the_browser(
    portal: Portal, outbound: None, api_url: str, browser: WebDriver
) -> None:
    settings = portal.settings
    await _append(portal.store, "product-usmf-P-9000", product_without_site())
    order = portal_order("P-9000")
    await send(settings, CDS_EVENTS, (order_stream(order.sales_order_id), order_event(order)))
    [letter] = await read(settings, DEADLETTER, lambda seen: len(seen) >= 1)
    letter_id = str(letter.env.message_id)

    row = await asyncio.to_thread(_sees_dead_letter, browser, api_url, letter_id)
    assert "SalesOrderHeaders" in row and "lines[0].ShippingSiteId: Field required" in row
    waiting = await asyncio.to_thread(_lag_numbers, browser)
    assert waiting and all(number.rstrip("+").isdigit() for number in waiting)
    assert _console_errors(browser) == []
    if SCREENSHOT:
        await _screenshot(portal, browser, Path(SCREENSHOT))

    # Ops fix the reference data (SCM gave the product its site), then redrive from the page.
    fixed = product_without_site(default_site="3", default_warehouse="31")
    await _append(portal.store, "product-usmf-P-9000", fixed)
    flash = await asyncio.to_thread(_redrives, browser, letter_id)
    assert flash.startswith(f"Redriven {letter_id}")

    sent = await read(settings, SCM_SALESORDERS, lambda seen: len(seen) >= 1, settle_s=1)
    delivered = [
        r for r in sent
        if isinstance(r.env.payload, SalesOrderHeader)
        and r.key == f"usmf/{order.sales_order_id}"
    ]  # fmt: skip
    assert len(delivered) == 1


def _refused(driver: WebDriver, url: str, token: str) -> str:
    _sign_in(driver, url, token)
    refused = _wait(driver).until(ec.presence_of_element_located((By.ID, "refused")))
    text = str(refused.text)
    driver.get(f"{url}/ops")  # no session was opened: back to the sign-in form
    _wait(driver).until(ec.url_to_be(f"{url}/ops/login"))
    return text


async def test_a_contact_who_is_not_an_administrator_cannot_open_the_page(
    portal: Portal, api_url: str, browser: WebDriver
) -> None:
    jane = (await credential(portal, JANE_CONTACT_ID))["Authorization"].removeprefix("Bearer ")
    text = await asyncio.to_thread(_refused, browser, api_url, jane)
    assert "Not an Administrator" in text
