"""The browser tests' tools: headless Chromium, the portal served on a free port, signing in, axe.

Debian's chromium and chromium-driver drive the pages (scripts/browser.sh installs them; `make
test` runs that first), through Selenium pointed at both files so that it never downloads a
browser. axe-core comes from the npm registry (scripts/axe.sh, pinned, into build/axe).

Selenium's calls block: a test runs them with `asyncio.to_thread`, so that the portal's
services (command processor, projections, relay) keep running on the test's event loop.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import uvicorn
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from portal_api.app import create_app
from sync_service.db.engine import create_engine
from sync_service.signin.passwords import set_password
from sync_service.signin.postgres import PostgresPasswords
from tests.portal_api.conftest import Portal

__all__ = [
    "WAIT_S",
    "assert_accessible",
    "axe_violations",
    "browser",
    "give_password",
    "serve",
    "sign_in",
    "sign_out",
    "site",
    "wait",
]

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WAIT_S = 60
_ROOT = Path(__file__).resolve().parents[2]
_AXE_SCRIPT = _ROOT / "scripts" / "axe.sh"
SERIOUS = frozenset({"serious", "critical"})


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    """Headless Chromium; missing, the test fails (it is installed by `make test`, not optional)."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail(
            f"{CHROMIUM} or {CHROMEDRIVER} is missing: run scripts/browser.sh (make browser)"
        )
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must not fetch anything
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument("--window-size=1280,1000")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # script errors, CSP refusals
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()


@asynccontextmanager
async def serve(portal: Portal) -> AsyncIterator[str]:
    """Another API process over the portal's database and Kafka, on a free 127.0.0.1 port.

    uvicorn runs in a thread with its own event loop (and the app's own lifespan), as
    `dualsync run api` would in a process of its own; yields its base URL.
    """
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    port = listening.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(portal.settings), log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    try:
        async with asyncio.timeout(60):
            while not server.started:
                assert thread.is_alive(), "the API did not start"
                await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.to_thread(thread.join, 30)
        listening.close()


@pytest.fixture
async def site(portal: Portal) -> AsyncIterator[str]:
    """The base URL (http://127.0.0.1:PORT, no trailing slash) of the real app over `portal`."""
    async with serve(portal) as url:
        yield url


async def give_password(portal: Portal, contact_id: UUID, password: str) -> None:
    """Give a contact a password through the real password store (as redeeming in the page does)."""
    engine = create_engine(portal.settings.database_url)
    try:
        await set_password(PostgresPasswords(engine), contact_id, password)
    finally:
        await engine.dispose()


def wait(driver: WebDriver, seconds: float = WAIT_S) -> WebDriverWait[WebDriver]:
    """A WebDriverWait of `seconds` on `driver`."""
    return WebDriverWait(driver, seconds)


def sign_in(driver: WebDriver, site: str, email: str, password: str) -> None:
    """Sign in through the sign-in page; fails with the page's message if it refuses."""
    driver.get(f"{site}/portal/sign-in")
    driver.find_element(By.ID, "f-email").send_keys(email)
    driver.find_element(By.ID, "f-password").send_keys(password)
    driver.find_element(By.ID, "sign-in").click()
    # Done when it leaves the sign-in page, or the page says why not (a refusal, a 403 page).
    wait(driver).until(
        lambda d: (
            "/portal/sign-in" not in d.current_url
            or d.find_elements(By.ID, "problems")
            or not d.find_elements(By.ID, "sign-in")
        )
    )
    if "/portal/sign-in" in driver.current_url:
        said = driver.find_element(By.ID, "main").text
        raise AssertionError(f"sign-in of {email} refused: {said}")


def sign_out(driver: WebDriver, site: str) -> None:
    """Sign out with the header's button; the header read in the page, never a stale element."""
    driver.find_element(By.CSS_SELECTOR, "header.site .who button").click()
    header = "const who = document.querySelector('header.site .who'); return who?.innerText;"
    wait(driver).until(lambda d: "Sign in" in str(d.execute_script(header)))
    assert driver.current_url == f"{site}/portal/"


def _axe_source() -> str:
    found = subprocess.run(  # the script installs axe-core when it is missing (a no-op if not)
        ["bash", str(_AXE_SCRIPT)], check=False, capture_output=True, text=True
    )
    if found.returncode != 0:
        pytest.fail(f"axe-core is missing and could not be installed: {found.stderr.strip()}")
    path = subprocess.run(
        ["bash", str(_AXE_SCRIPT), "path"], check=True, capture_output=True, text=True
    ).stdout.strip()
    return Path(path).read_text(encoding="utf-8")


_AXE: list[str] = []


def axe_violations(driver: WebDriver) -> list[dict[str, Any]]:
    """axe-core's violations on the page the driver shows now (every impact)."""
    if not _AXE:
        _AXE.append(_axe_source())
    # Injected through the WebDriver, not a <script> tag: the pages' CSP allows only 'self'.
    driver.execute_script(_AXE[0])
    driver.set_script_timeout(WAIT_S)
    found = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']})"
        ".then(r => done(r.violations), e => done({error: String(e)}));"
    )
    if isinstance(found, dict):
        raise AssertionError(f"axe-core failed on {driver.current_url}: {found.get('error')}")
    return list(found)


def assert_accessible(driver: WebDriver) -> None:
    """Fail with a readable list when axe-core finds a serious or critical violation."""
    bad = [v for v in axe_violations(driver) if v.get("impact") in SERIOUS]
    if bad:
        lines = [f"axe-core: {len(bad)} serious or critical violation(s) on {driver.current_url}"]
        for violation in bad:
            lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
            for node in violation.get("nodes", [])[:5]:
                lines.append(f"    at {' '.join(map(str, node.get('target', [])))}")
                summary = str(node.get("failureSummary", "")).replace("\n", " ")
                if summary:
                    lines.append(f"      {summary}")
        raise AssertionError("\n".join(lines))
