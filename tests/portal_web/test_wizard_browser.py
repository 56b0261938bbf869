"""The Create Order wizard in headless Chromium, signed in with a password: the item dialog with
the keyboard alone, the running total, a double-clicked Submit that creates one order; axe-core
on every step and on the open dialog."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import date, timedelta

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec

from sync_service.demo_data import JANE_CONTACT_ID
from sync_service.streams import order_stream
from tests.portal_api.conftest import Portal
from tests.portal_api.views_helpers import (
    contact_without_a_price_list,
    credential,
    eventually,
    order_ids,
)
from tests.portal_web.browser import assert_accessible, give_password, sign_in, wait

pytestmark = pytest.mark.integration

PASSWORD = "a long enough secret"
WHEN = (date.today() + timedelta(days=14)).isoformat()


def _typed(driver: WebDriver, *keys: str) -> None:
    """Keys sent to whatever has the focus, as a person at the keyboard."""
    ActionChains(driver).send_keys(*keys).perform()


def _focused(driver: WebDriver) -> str:
    return str(driver.execute_script("return document.activeElement.id"))


def _rows(driver: WebDriver) -> int:
    return len(driver.find_elements(By.CSS_SELECTOR, "tr[data-amount]"))


def _information(driver: WebDriver, site: str) -> None:
    driver.get(f"{site}/portal/orders/new")
    assert_accessible(driver)
    # A date input takes keys in the browser's locale; the value itself is what matters here.
    when = driver.find_element(By.ID, "f-requested_receipt_date")
    driver.execute_script("arguments[0].value = arguments[1]", when, WHEN)
    driver.find_element(By.ID, "f-street").send_keys("1 Main St")
    driver.find_element(By.ID, "f-city").send_keys("Redmond")
    driver.find_element(By.ID, "f-postal_code").send_keys("98052", Keys.ENTER)  # = Next
    wait(driver).until(ec.presence_of_element_located((By.ID, "add-item")))


def _tab_to(driver: WebDriver, selector: str) -> None:
    """Press Tab until the element `selector` finds has the focus (as a keyboard user would)."""
    for _ in range(60):
        if driver.execute_script("return document.activeElement.matches(arguments[0])", selector):
            return
        _typed(driver, Keys.TAB)
    raise AssertionError(f"Tab never reached {selector}")


def _open_dialog(driver: WebDriver) -> None:
    """Tab to "Add item", press Enter: the dialog opens with the focus in its product search."""
    _tab_to(driver, "#add-item")
    _typed(driver, Keys.ENTER)
    wait(driver).until(
        lambda d: d.find_element(By.ID, "item-dialog").get_attribute("open") is not None
    )
    assert _focused(driver) == "f-product-search"


def _add_item(driver: WebDriver, search: str, quantity: str, unit_key: str | None) -> None:
    """In the open dialog: find the product, on to the quantity, maybe the unit, add it."""
    rows = _rows(driver)
    _typed(driver, search, Keys.TAB)
    assert _focused(driver) == "f-product_number"
    _typed(driver, Keys.TAB, quantity)
    if unit_key:  # on to the unit, chosen by its first letter, on to "Add to order"
        _typed(driver, Keys.TAB, unit_key, Keys.TAB)
        assert _focused(driver) == "item-submit"
    _typed(driver, Keys.ENTER)  # in the quantity: the dialog's own button, no other
    wait(driver).until(lambda d: _rows(d) == rows + 1)


def _visible_products(driver: WebDriver) -> list[str]:
    options = driver.find_elements(By.CSS_SELECTOR, "#f-product_number option")
    return [str(option.text) for option in options if not option.get_property("hidden")]


def _wizard(driver: WebDriver, site: str) -> str:
    """The three steps with two items through the dialog; Submit double-clicked; the order id."""
    _information(driver, site)
    assert_accessible(driver)
    _open_dialog(driver)
    assert_accessible(driver)  # the open dialog
    _add_item(driver, "gadg", "2", "b")
    assert driver.find_element(By.ID, "items-total").text == "500.00 USD"
    assert _focused(driver) == "add-item"  # where the next item starts, not the page's top

    _open_dialog(driver)
    _typed(driver, "widget")
    assert _visible_products(driver) == ["Widget (P-1000)"]
    _typed(driver, Keys.TAB, Keys.TAB, "3")
    # The running amount and total as the quantity is typed, before the item is added.
    amount = driver.find_element(By.ID, "item-amount")
    total = driver.find_element(By.ID, "order-total")
    assert (amount.text, total.text) == ("27.00 USD", "527.00 USD")
    _typed(driver, "0")
    assert (amount.text, total.text) == ("270.00 USD", "770.00 USD")
    _typed(driver, Keys.BACKSPACE, Keys.ENTER)
    wait(driver).until(lambda d: _rows(d) == 2)
    assert driver.find_element(By.ID, "items-total").text == "527.00 USD"

    driver.find_element(By.XPATH, "//button[normalize-space()='Next']").click()
    submit = wait(driver).until(ec.element_to_be_clickable((By.ID, "submit-order")))
    assert_accessible(driver)
    filled = " ".join(driver.find_element(By.ID, "filled-in").text.split())
    assert "Contact person Jane Contoso" in filled and "Price list PL-US-001" in filled
    ActionChains(driver).double_click(submit).perform()
    wait(driver).until(lambda d: re.search(r"/portal/orders/[0-9a-f-]{36}$", d.current_url))
    return str(driver.current_url).rsplit("/", 1)[1]


async def test_two_items_through_the_dialog_and_a_double_clicked_submit(
    portal: Portal, site: str, browser: WebDriver
) -> None:
    await give_password(portal, JANE_CONTACT_ID, PASSWORD)
    await asyncio.to_thread(sign_in, browser, site, "jane@x.example", PASSWORD)
    order_id = await asyncio.to_thread(_wizard, browser, site)
    stream = order_stream(uuid.UUID(order_id))
    await eventually(lambda: portal.store.read_stream(stream), bool)
    jane = await credential(portal, JANE_CONTACT_ID)
    await eventually(lambda: order_ids(portal, jane), bool)
    await asyncio.sleep(0.5)  # a second order, were there one, would be there by now
    assert await order_ids(portal, jane) == {order_id}
    events = await portal.store.read_stream(stream)
    assert [event.event_type for event in events] == ["OrderSubmitted"]


def _refused_then_missing(driver: WebDriver, site: str) -> None:
    """A quantity of 0 at its item, changed in the dialog; the review names the missing contact
    fields; Back keeps the item."""
    _information(driver, site)
    _open_dialog(driver)
    _add_item(driver, "widget", "0", None)
    error = driver.find_element(By.ID, "item-0-quantity-error")
    assert error.text == "the quantity must be more than 0"
    focused = "return document.activeElement.dataset.change"
    assert driver.execute_script(focused) == "0"  # the refused item's Change button
    assert_accessible(driver)
    _tab_to(driver, "button[data-change='0']")
    _typed(driver, Keys.ENTER)
    wait(driver).until(
        lambda d: d.find_element(By.ID, "item-dialog").get_attribute("open") is not None
    )
    assert driver.find_element(By.ID, "item-editor-title").text == "Change item 1"
    _typed(driver, Keys.TAB, Keys.TAB)
    assert driver.find_element(By.ID, "f-quantity").get_property("value") == "0"
    select_all = ActionChains(driver).key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL)
    select_all.send_keys("2", Keys.ENTER).perform()
    wait(driver).until(lambda d: not d.find_elements(By.ID, "item-0-quantity-error"))
    assert "2" in driver.find_element(By.ID, "item-0").text

    driver.find_element(By.XPATH, "//button[normalize-space()='Next']").click()
    missing = wait(driver).until(ec.presence_of_element_located((By.ID, "missing-contact-fields")))
    assert "the contact record has no Price list, which an order needs" in missing.text
    assert "the contact record has no Currency, which an order needs" in missing.text
    assert_accessible(driver)
    driver.find_element(By.XPATH, "//button[normalize-space()='Back']").click()
    row = wait(driver).until(ec.presence_of_element_located((By.ID, "item-0")))
    assert row.text.startswith("Widget P-1000 2 ea")


async def test_a_refused_quantity_and_a_contact_without_a_price_list(
    portal: Portal, site: str, browser: WebDriver
) -> None:
    contact_id = await contact_without_a_price_list(portal)
    await give_password(portal, contact_id, PASSWORD)
    await asyncio.to_thread(sign_in, browser, site, "partial@x.example", PASSWORD)
    await asyncio.to_thread(_refused_then_missing, browser, site)
