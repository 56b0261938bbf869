"""Revoking a credential in headless Chromium, with the keyboard, signed in by password."""

from __future__ import annotations

import asyncio

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from sync_service.demo_data import ADMIN_CONTACT_ID, JANE_CONTACT_ID
from sync_service.domain.credentials import credential_id, hash_secret
from tests.portal_api.conftest import Portal
from tests.portal_api.views_helpers import credential
from tests.portal_web.browser import assert_accessible, give_password, sign_in, wait

pytestmark = pytest.mark.integration

PASSWORD = "a long enough secret"
JANE_PAGE = f"/portal/admin/contacts/{JANE_CONTACT_ID}"


def _revoke_with_the_keyboard(driver: WebDriver, site: str, janes: str) -> str:
    driver.get(f"{site}{JANE_PAGE}")
    assert_accessible(driver)
    row = driver.find_element(By.ID, f"credential-{janes}")
    assert "Active" in row.text
    button = row.find_element(By.XPATH, ".//button[normalize-space()='Revoke']")
    button.send_keys(Keys.ENTER)  # focus it and press Enter, as a keyboard user does
    wait(driver).until(lambda d: "revoked=" in d.current_url)
    assert_accessible(driver)
    assert "Revoked" in driver.find_element(By.ID, f"credential-{janes}").text
    return str(driver.find_element(By.ID, "revoke-outcome").text)


async def test_the_admin_revokes_janes_credential_from_her_page(
    portal: Portal, site: str, browser: WebDriver
) -> None:
    jane = await credential(portal, JANE_CONTACT_ID)
    janes = str(credential_id(hash_secret(jane["Authorization"].removeprefix("Bearer "))))
    await give_password(portal, ADMIN_CONTACT_ID, PASSWORD)
    await asyncio.to_thread(sign_in, browser, site, "admin@portal.example", PASSWORD)

    said = await asyncio.to_thread(_revoke_with_the_keyboard, browser, site, janes)

    assert said == "The credential is revoked: it opens nothing any more."
    assert (await portal.client.get("/products", headers=jane)).status_code == 401
