"""Screenshots of the portal for the README (docs/portal-*.png), taken in headless Chromium.

Run `make run` in one terminal, then `make screenshots` in another: the script invites two demo
contacts through the running API with the bootstrap credential, redeems the invitations in the
browser (choosing passwords), walks the pages as Jane and as the administrator, and saves a PNG
of each. It is not part of the test run; the browser tests prove the pages, this shows them.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import httpx
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from sync_service.demo_data import ADMIN_CONTACT_ID, JANE_CONTACT_ID

WAIT_S = 60


def _browser() -> WebDriver:
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must not fetch anything
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument("--window-size=1200,900")
    return webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))


def _invite(api: httpx.Client, contact_id: object) -> str:
    answer = api.post("/admin/invitations", json={"contact_id": str(contact_id)})
    if answer.status_code != 201:
        sys.exit(f"inviting {contact_id} failed: {answer.status_code} {answer.text}")
    return str(answer.json()["code"])


class Shots:
    """Saves `docs/portal-<name>.png` of the whole page as it is now."""

    def __init__(self, driver: WebDriver, out: Path) -> None:
        self.driver, self.out = driver, out

    def take(self, name: str) -> None:
        height = self.driver.execute_script("return document.documentElement.scrollHeight")
        self.driver.set_window_size(1200, max(700, min(int(height) + 40, 2400)))
        path = self.out / f"portal-{name}.png"
        self.driver.save_screenshot(str(path))
        self.driver.set_window_size(1200, 900)
        print(f"saved {path}")


def _until(driver: WebDriver, check: Callable[[WebDriver], object]) -> None:
    WebDriverWait(driver, WAIT_S).until(check)


def _redeem(driver: WebDriver, base: str, code: str, password: str, shots: Shots | None) -> None:
    driver.get(f"{base}/portal/invitation?code={code}")
    driver.find_element(By.ID, "f-password").send_keys(password)
    driver.find_element(By.ID, "f-confirmation").send_keys(password)
    if shots:
        shots.take("invitation")
    driver.find_element(By.ID, "redeem").click()
    _until(driver, lambda d: d.current_url == f"{base}/portal/")


def _sign_out(driver: WebDriver) -> None:
    driver.find_element(By.CSS_SELECTOR, "header.site .who button").click()
    _until(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "header.site .who a"))


def _order(driver: WebDriver, base: str, shots: Shots) -> str:
    """The wizard's three steps with two items; returns the order page's address."""
    driver.get(f"{base}/portal/orders/new")
    when = (date.today() + timedelta(days=14)).isoformat()
    field = driver.find_element(By.ID, "f-requested_receipt_date")
    driver.execute_script("arguments[0].value = arguments[1]", field, when)
    driver.find_element(By.ID, "f-street").send_keys("1 Main St")
    driver.find_element(By.ID, "f-city").send_keys("Redmond")
    driver.find_element(By.ID, "f-postal_code").send_keys("98052")
    driver.find_element(By.ID, "f-requisition_number").send_keys("REQ-2041")
    shots.take("wizard-information")
    driver.find_element(By.ID, "f-postal_code").send_keys(Keys.ENTER)
    for search, quantity in (("widget", "30"), ("gadget", "2")):
        WebDriverWait(driver, WAIT_S).until(ec.element_to_be_clickable((By.ID, "add-item")))
        rows = len(driver.find_elements(By.CSS_SELECTOR, "tr[data-amount]"))
        driver.find_element(By.ID, "add-item").click()
        driver.find_element(By.ID, "f-product-search").send_keys(search)
        quantity_field = driver.find_element(By.ID, "f-quantity")
        quantity_field.clear()
        quantity_field.send_keys(quantity)
        if rows == 1:
            shots.take("wizard-item-dialog")
        quantity_field.send_keys(Keys.ENTER)
        _until(
            driver, lambda d, n=rows: len(d.find_elements(By.CSS_SELECTOR, "tr[data-amount]")) > n
        )
    shots.take("wizard-items")
    driver.find_element(By.XPATH, "//button[normalize-space()='Next']").click()
    submit = WebDriverWait(driver, WAIT_S).until(
        ec.element_to_be_clickable((By.ID, "submit-order"))
    )
    shots.take("wizard-review")
    submit.click()
    _until(driver, lambda d: re.search(r"/portal/orders/[0-9a-f-]{36}$", d.current_url))
    return str(driver.current_url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--base-url", default=os.environ.get("DUALSYNC_PORTAL_URL", "http://127.0.0.1:8000")
    )
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument(
        "--confirmed-within", type=float, default=60.0, help="seconds to wait for the ERP"
    )
    args = parser.parse_args()
    token = os.environ.get("DUALSYNC_ADMIN_TOKEN")
    if not token:  # `make screenshots` sets it from .dualsync/secrets.env, as `make run` does
        sys.exit("set DUALSYNC_ADMIN_TOKEN (make run's is in .dualsync/secrets.env)")
    base = args.base_url.rstrip("/")
    api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    try:
        api.get("/healthz").raise_for_status()
    except httpx.HTTPError as error:
        sys.exit(f"no portal answers at {base} ({error}): start it with `make run` first")
    args.out.mkdir(parents=True, exist_ok=True)
    driver = _browser()
    shots = Shots(driver, args.out)
    try:
        driver.get(f"{base}/portal/")
        shots.take("home")
        _redeem(driver, base, _invite(api, JANE_CONTACT_ID), secrets.token_urlsafe(12), shots)
        shots.take("tiles")
        order_page = _order(driver, base, shots)
        # The page follows the ERP simulator by itself (make run's confirms after 5 s).
        status = "const t = document.getElementById('timeline'); return t && t.dataset.status;"
        deadline = time.monotonic() + args.confirmed_within
        while time.monotonic() < deadline and driver.execute_script(status) != "confirmed":
            time.sleep(0.5)
        shots.take("order")
        driver.get(f"{base}/portal/orders")
        shots.take("orders")
        _sign_out(driver)
        _redeem(driver, base, _invite(api, ADMIN_CONTACT_ID), secrets.token_urlsafe(12), None)
        driver.get(f"{base}/portal/admin/contacts")
        shots.take("admin-contacts")
        driver.get(f"{base}/portal/admin/invitations")
        shots.take("admin-invitations")
        print(f"the order walked through: {order_page}")
    finally:
        driver.quit()
        api.close()


if __name__ == "__main__":
    main()
