"""The administration pages in headless Chromium, used with the keyboard by the demo admin."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, urlsplit

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement

from sync_service.demo_data import ADMIN_CONTACT_ID, MAY_CONTACT_ID
from tests.portal_api.conftest import ADMIN, Portal
from tests.portal_web.browser import assert_accessible, give_password, sign_in, wait

pytestmark = pytest.mark.integration

PASSWORD = "a long enough secret"
MAY_PAGE = f"/portal/admin/contacts/{MAY_CONTACT_ID}"


def _press(element: WebElement, key: str = Keys.ENTER) -> None:
    """Focus `element` and press `key` on it, as a keyboard user does."""
    element.send_keys(key)


def _text(driver: WebDriver) -> str:
    return driver.find_element(By.ID, "main").text


def _give_may_a_web_role(driver: WebDriver, site: str) -> None:
    driver.get(f"{site}/portal/admin/contacts")
    assert_accessible(driver)
    search = driver.find_element(By.ID, "f-email")
    search.send_keys("MAY@y.example", Keys.ENTER)
    wait(driver).until(lambda d: "email=" in d.current_url)
    _press(driver.find_element(By.LINK_TEXT, "May Fabrikam"))
    wait(driver).until(lambda d: d.current_url.endswith(MAY_PAGE))
    assert_accessible(driver)
    # A refused field first: the API's words at the field, what was typed kept.
    currency = driver.find_element(By.ID, "f-currency")
    currency.clear()
    currency.send_keys("usd", Keys.ENTER)  # Enter in a box sends the form
    wait(driver).until(lambda d: d.find_elements(By.ID, "f-currency-error"))
    assert_accessible(driver)
    assert driver.find_element(By.ID, "f-currency").get_attribute("value") == "usd"
    assert "three capital letters" in driver.find_element(By.ID, "f-currency-error").text
    currency = driver.find_element(By.ID, "f-currency")
    currency.clear()
    currency.send_keys("USD")
    role = driver.find_element(By.CSS_SELECTOR, "input[name=web_roles][value=authorized_user]")
    assert not role.is_selected()
    _press(role, Keys.SPACE)
    assert role.is_selected()
    _press(driver.find_element(By.XPATH, "//button[normalize-space()='Save contact']"))
    wait(driver).until(lambda d: "saved=" in d.current_url)
    assert "The contact is saved." in _text(driver)
    role = driver.find_element(By.CSS_SELECTOR, "input[name=web_roles][value=authorized_user]")
    assert role.is_selected()


def _invite_may(driver: WebDriver) -> str:
    _press(driver.find_element(By.XPATH, "//button[normalize-space()='Invite']"))
    wait(driver).until(lambda d: d.find_elements(By.ID, "invitation-link"))
    assert_accessible(driver)
    link = driver.find_element(By.ID, "invitation-link").text
    assert "Invitation created for May Fabrikam" in _text(driver)
    rows = driver.find_elements(By.CSS_SELECTOR, "table tbody tr")
    assert [row.text.split("\n")[0] for row in rows] == ["May Fabrikam"]
    assert "Open" in rows[0].text
    return link


def _visit_the_other_admin_pages(driver: WebDriver, site: str) -> None:
    for path in ("/portal/admin/invitations", "/portal/admin/contacts/new"):
        driver.get(f"{site}{path}")
        assert_accessible(driver)
    # A refused invitation: the message at the e-mail field.
    driver.get(f"{site}/portal/admin/invitations")
    driver.find_element(By.ID, "f-email").send_keys("nobody@x.example", Keys.ENTER)
    wait(driver).until(lambda d: d.find_elements(By.ID, "f-email-error"))
    assert_accessible(driver)
    _press(driver.find_element(By.LINK_TEXT, "Ops page"))
    # The ops page itself (or its own sign-in, until it takes the portal's session).
    wait(driver).until(lambda d: urlsplit(d.current_url).path in ("/ops", "/ops/login"))


async def test_the_demo_admin_gives_may_a_web_role_and_invites_her(
    portal: Portal, site: str, browser: WebDriver
) -> None:
    await give_password(portal, ADMIN_CONTACT_ID, PASSWORD)
    await asyncio.to_thread(sign_in, browser, site, "admin@portal.example", PASSWORD)
    await asyncio.to_thread(_give_may_a_web_role, browser, site)
    link = await asyncio.to_thread(_invite_may, browser)
    assert link.startswith(f"{site}/portal/invitation?code=")
    await asyncio.to_thread(_visit_the_other_admin_pages, browser, site)

    api = await portal.client.get(
        "/admin/contacts", params={"email": "may@y.example"}, headers=ADMIN
    )
    assert api.json()[0]["web_roles"] == ["authorized_user"]
    code = parse_qs(urlsplit(link).query)["code"][0]
    redeemed = await portal.client.post("/invitations/redeem", json={"code": code})
    assert redeemed.status_code == 200 and redeemed.json()["web_roles"] == ["authorized_user"]
