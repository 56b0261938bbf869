"""The Account page over HTTP with bearer credentials: a representative's customer account and
the contacts who can order for it, read as GET /account reads them."""

from __future__ import annotations

import pytest

from sync_service.demo_data import JANE_CONTACT_ID, REP_CONTACT_ID
from tests.portal_api.conftest import ADMIN, Portal
from tests.portal_api.views_helpers import credential
from tests.portal_web.orders_helpers import text

pytestmark = pytest.mark.integration


async def test_a_representative_sees_the_account_and_who_orders_for_it(portal: Portal) -> None:
    rep = await credential(portal, REP_CONTACT_ID)
    page = await portal.client.get("/portal/account", headers=rep)
    assert page.status_code == 200, page.text
    words = text(page.text)
    for shown in ("Contoso Retail", "US-001", "usmf", "USD", "PL-US-001"):
        assert shown in words, shown
    api = (await portal.client.get("/account", headers=rep)).json()
    # Exactly the contacts of GET /account, each with a name, an e-mail and a role in words.
    assert page.text.count("<tr data-contact-id=") == len(api["contacts"]) == 3
    for contact in api["contacts"]:
        assert f'<tr data-contact-id="{contact["contact_id"]}">' in page.text
        assert contact["email"] in words
    for shown in ("Jane Contoso", "Sam Contoso", "Contoso Representative", "Authorized user"):
        assert shown in words, shown
    assert "Customer representative" in words
    assert "may@y.example" not in words and "admin@portal.example" not in words
    assert 'aria-current="page"' in page.text  # the nav marks where the visitor is


async def test_the_account_page_is_a_representatives_only(portal: Portal) -> None:
    anonymous = await portal.client.get("/portal/account")
    assert (anonymous.status_code, anonymous.headers["location"]) == (
        303,
        "/portal/sign-in?next=/portal/account",
    )
    for headers in (await credential(portal, JANE_CONTACT_ID), ADMIN):
        refused = await portal.client.get("/portal/account", headers=headers)
        assert refused.status_code == 403
        assert "This page is for a customer representative." in text(refused.text)
        assert "Contoso Retail" not in refused.text

    # A representative whose contact record names no known account: the API's 404, as a page.
    record = {
        "firstname": "Contoso", "lastname": "Representative", "email": "rep@x.example",
        "company": "usmf", "account_number": "US-404", "price_list": "PL-US-001",
        "currency": "USD", "ship_to_country": "US", "language": "en-us",
        "web_roles": ["customer_representative"],
    }  # fmt: skip
    rep = await credential(portal, REP_CONTACT_ID)
    put = await portal.client.put(f"/admin/contacts/{REP_CONTACT_ID}", json=record, headers=ADMIN)
    assert put.status_code == 200, put.text
    lost = await portal.client.get("/portal/account", headers=rep)
    assert lost.status_code == 404
    assert "your contact record names no known customer account" in text(lost.text)
    assert (await portal.client.get("/account", headers=rep)).status_code == 404
