"""Signing in to the portal in headless Chromium: invitation, password, sessions, throttle, axe."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.expected_conditions import staleness_of

from sync_service.demo_data import ADMIN_CONTACT_ID, JANE_CONTACT_ID, MAY_CONTACT_ID
from tests.portal_api.conftest import ADMIN, Portal
from tests.portal_web.browser import (
    assert_accessible,
    give_password,
    serve,
    sign_in,
    sign_out,
    wait,
)

pytestmark = pytest.mark.integration

PASSWORD = "a long enough secret"


async def _invitation_code(portal: Portal, contact_id: object) -> str:
    invited = await portal.client.post(
        "/admin/invitations", json={"contact_id": str(contact_id)}, headers=ADMIN
    )
    assert invited.status_code == 201, invited.text
    return str(invited.json()["code"])


def _header(driver: WebDriver) -> str:
    return str(driver.find_element(By.CSS_SELECTOR, "header.site .who").text)


def _redeem(driver: WebDriver, site: str, code: str, password: str) -> None:
    driver.get(f"{site}/portal/invitation?code={quote(code)}")
    assert driver.find_element(By.ID, "f-code").get_attribute("value") == code
    driver.find_element(By.ID, "f-password").send_keys(password)
    driver.find_element(By.ID, "f-confirmation").send_keys(password)
    driver.find_element(By.ID, "redeem").click()
    wait(driver).until(lambda d: d.current_url == f"{site}/portal/")


def _tiles(driver: WebDriver) -> list[str]:
    return [str(t.text) for t in driver.find_elements(By.CSS_SELECTOR, ".tiles .tile-title")]


async def test_an_invitation_link_leads_to_a_password_and_a_session(
    portal: Portal, site: str, browser: WebDriver
) -> None:
    code = await _invitation_code(portal, JANE_CONTACT_ID)
    await asyncio.to_thread(_redeem, browser, site, code, PASSWORD)
    assert "Jane Contoso" in _header(browser) and "Authorized user" in _header(browser)
    await asyncio.to_thread(sign_out, browser, site)
    assert _tiles(browser) == []
    await asyncio.to_thread(sign_in, browser, site, "jane@x.example", PASSWORD)
    assert browser.current_url == f"{site}/portal/"
    assert _tiles(browser) == ["Create order", "Orders"]
    assert "Jane Contoso" in _header(browser)


async def test_a_contact_without_a_web_role_is_told_access_is_not_granted(
    portal: Portal, site: str, browser: WebDriver
) -> None:
    await give_password(portal, MAY_CONTACT_ID, PASSWORD)
    with pytest.raises(AssertionError, match="the password is not right"):
        await asyncio.to_thread(sign_in, browser, site, "may@y.example", PASSWORD + "?")
    await asyncio.to_thread(sign_in, browser, site, "may@y.example", PASSWORD)
    assert "May Fabrikam" in _header(browser) and "No web role" in _header(browser)
    assert "access to the portal has not been granted" in browser.find_element(By.ID, "main").text
    assert _tiles(browser) == []


async def test_the_public_and_sign_in_pages_pass_axe(
    portal: Portal, site: str, browser: WebDriver
) -> None:
    await give_password(portal, ADMIN_CONTACT_ID, PASSWORD)

    def check(path: str) -> None:
        browser.get(f"{site}{path}")
        assert_accessible(browser)

    for path in ("/portal/", "/portal/terms", "/portal/sign-in", "/portal/invitation"):
        await asyncio.to_thread(check, path)

    def refused_invitation() -> None:
        browser.get(f"{site}/portal/invitation?code=no-such-code")
        browser.find_element(By.ID, "f-password").send_keys("short")
        browser.find_element(By.ID, "redeem").click()
        wait(browser).until(lambda d: d.find_elements(By.ID, "f-password-error"))
        assert_accessible(browser)

    await asyncio.to_thread(refused_invitation)
    with pytest.raises(AssertionError):  # a refused sign-in shows its message: checked too
        await asyncio.to_thread(sign_in, browser, site, "admin@portal.example", "wrong password")
    await asyncio.to_thread(assert_accessible, browser)
    await asyncio.to_thread(sign_in, browser, site, "admin@portal.example", PASSWORD)
    await asyncio.to_thread(check, "/portal/")


def _fail_sign_in(driver: WebDriver, site: str, password: str) -> str:
    driver.get(f"{site}/portal/sign-in")
    driver.find_element(By.ID, "f-email").send_keys("jane@x.example")
    driver.find_element(By.ID, "f-password").send_keys(password)
    driver.find_element(By.ID, "sign-in").click()
    return str(wait(driver).until(lambda d: d.find_element(By.ID, "problems")).text)


async def test_wrong_passwords_are_throttled_across_two_api_processes(
    portal: Portal, site: str, browser: WebDriver
) -> None:
    await give_password(portal, JANE_CONTACT_ID, PASSWORD)
    limit = portal.settings.signin_failures_per_minute
    async with serve(portal) as other:
        for attempt in range(limit):
            said = await asyncio.to_thread(
                _fail_sign_in, browser, (site, other)[attempt % 2], "wrong password"
            )
            assert said == "The e-mail address or the password is not right."
        for base in (site, other):
            said = await asyncio.to_thread(_fail_sign_in, browser, base, PASSWORD)
            assert said.startswith("Too many failed attempts. Please wait")


def _post_without_token(driver: WebDriver, site: str) -> str:
    driver.get(f"{site}/portal/")
    driver.execute_script(
        "document.querySelector('header.site form input[name=csrf_token]').remove()"
    )
    before = driver.find_element(By.ID, "main")
    driver.find_element(By.CSS_SELECTOR, "header.site .who button").click()
    # The answer is a new page: wait for the old one to go, or its text may be read instead.
    wait(driver).until(staleness_of(before))
    return str(wait(driver).until(lambda d: d.find_element(By.ID, "main")).text)


async def test_a_form_posted_without_its_csrf_token_is_refused(
    portal: Portal, site: str, browser: WebDriver
) -> None:
    await give_password(portal, JANE_CONTACT_ID, PASSWORD)
    await asyncio.to_thread(sign_in, browser, site, "jane@x.example", PASSWORD)
    said = await asyncio.to_thread(_post_without_token, browser, site)
    assert "did not come from the portal" in said
    browser.get(f"{site}/portal/")
    assert "Jane Contoso" in _header(browser)  # not signed out


def _ops_page(driver: WebDriver, site: str) -> str:
    driver.get(f"{site}/ops")
    return str(wait(driver).until(lambda d: d.find_element(By.TAG_NAME, "h2")).text)


async def test_an_administrators_portal_session_opens_the_ops_page(
    portal: Portal, site: str, browser: WebDriver
) -> None:
    await give_password(portal, ADMIN_CONTACT_ID, PASSWORD)
    await give_password(portal, JANE_CONTACT_ID, PASSWORD)
    await asyncio.to_thread(sign_in, browser, site, "jane@x.example", PASSWORD)
    assert await asyncio.to_thread(_ops_page, browser, site) == "Not an Administrator"
    await asyncio.to_thread(sign_in, browser, site, "admin@portal.example", PASSWORD)
    assert await asyncio.to_thread(_ops_page, browser, site) == "Lag"
    assert browser.current_url == f"{site}/ops"


def test_assert_accessible_lists_a_serious_violation(browser: WebDriver) -> None:
    browser.get("data:text/html,<html lang=en><title>t</title><main><img src=a.png></main></html>")
    with pytest.raises(AssertionError, match=r"image-alt \(critical\)") as failed:
        assert_accessible(browser)
    assert "at img" in str(failed.value)
