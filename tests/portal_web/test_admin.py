"""The administration pages over HTTP, with the bootstrap admin's and contacts' bearer credentials.

Saves and invitations go through the real command processor on Kafka and PostgreSQL; what a
page shows is checked against what the JSON API answers for the same request.
"""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from sync_service.demo_data import JANE_CONTACT_ID, SAM_CONTACT_ID
from tests.portal_api.conftest import ADMIN, Portal
from tests.portal_api.views_helpers import credential
from tests.portal_web.admin_pages import page_of

pytestmark = pytest.mark.integration

JANE_PAGE = f"/portal/admin/contacts/{JANE_CONTACT_ID}"


def contact_form(**changes: Any) -> dict[str, Any]:
    """The contact form as a browser posts it: Jane's record, with `changes`."""
    form: dict[str, Any] = {
        "company": "usmf",
        "account_number": "US-001",
        "firstname": "Jane",
        "lastname": "Contoso",
        "email": "jane@x.example",
        "price_list": "PL-US-001",
        "currency": "USD",
        "ship_to_country": "US",
        "language": "en-us",
        "web_roles": ["authorized_user"],
    }
    form.update(changes)
    return form


async def test_an_admin_finds_edits_and_saves_a_contact(portal: Portal) -> None:
    client = portal.client
    listed = await client.get("/portal/admin/contacts", headers=ADMIN)
    assert listed.status_code == 200, listed.text
    page = page_of(listed.text)
    assert JANE_PAGE in page.links and "/portal/admin/contacts/new" in page.links
    assert "/ops" in page.links and "/portal/admin/invitations" in page.links
    assert "May Fabrikam" in page.text and "Authorized user" in page.text
    assert not any("page=" in link for link in page.links)  # five contacts: one page
    past = page_of((await client.get(f"{listed.url}?page=2", headers=ADMIN)).text)
    assert JANE_PAGE not in past.links and "/portal/admin/contacts?page=1" in past.links

    found = page_of((await client.get(f"{listed.url}?email=JANE@X.example", headers=ADMIN)).text)
    contact_links = [link for link in found.links if link.startswith("/portal/admin/contacts/")]
    assert contact_links == ["/portal/admin/contacts/new", JANE_PAGE]

    edit = page_of((await client.get(JANE_PAGE, headers=ADMIN)).text)
    assert (edit.value("f-company"), edit.value("f-account_number")) == ("usmf", "US-001")
    assert edit.checked["web_roles"] == ["authorized_user"]

    roles = ["customer_representative", "authorized_user"]
    form = contact_form(price_list="PL-US-002", language="", web_roles=roles)
    saved = await client.post(JANE_PAGE, data=form, headers=ADMIN)
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == f"{JANE_PAGE}?saved=yes"
    shown = page_of((await client.get(saved.headers["location"], headers=ADMIN)).text)
    assert "The contact is saved." in shown.text
    assert shown.value("f-price_list") == "PL-US-002" and shown.value("f-language") == ""
    assert sorted(shown.checked["web_roles"]) == sorted(roles)

    api = await client.get("/admin/contacts", params={"email": "jane@x.example"}, headers=ADMIN)
    [jane] = api.json()
    assert (jane["price_list"], jane["language"]) == ("PL-US-002", None)
    assert jane["web_roles"] == sorted(roles)


async def test_a_new_contact_is_made_once_however_often_its_form_is_sent(portal: Portal) -> None:
    client = portal.client
    html = (await client.get("/portal/admin/contacts/new", headers=ADMIN)).text
    new = page_of(html)
    assert "New contact" in new.text and new.value("f-email") == ""
    [action] = re.findall(r'action="(/portal/admin/contacts/[0-9a-f-]{36})"', html)
    form = contact_form(firstname="Kim", lastname="Akers", email="kim@x.example")
    for _ in range(2):  # a second click on Save sends the same contact id again
        sent = await client.post(action, data=form, headers=ADMIN)
        assert sent.status_code == 303, sent.text
    api = await client.get("/admin/contacts", params={"email": "kim@x.example"}, headers=ADMIN)
    assert [c["contact_id"] for c in api.json()] == [action.rsplit("/", 1)[1]]


async def test_a_refused_field_is_shown_at_it_in_the_apis_words(portal: Portal) -> None:
    client = portal.client
    form = contact_form(currency="usd", email="jane at x", web_roles=["superuser"])
    refused = await client.post(JANE_PAGE, data=form, headers=ADMIN)
    assert refused.status_code == 422
    page = page_of(refused.text)
    api = await client.put(f"/admin/contacts/{JANE_CONTACT_ID}", json=form, headers=ADMIN)
    assert api.status_code == 422
    words = {error["field"].partition("[")[0]: error["message"] for error in api.json()["errors"]}
    assert set(words) == {"currency", "email", "web_roles"}
    for name, message in words.items():
        assert page.said(f"f-{name}-error") == message
    # What was typed stays in the form; nothing was saved.
    assert page.value("f-currency") == "usd" and page.value("f-email") == "jane at x"
    jane = await client.get("/admin/contacts", params={"email": "jane@x.example"}, headers=ADMIN)
    assert jane.json()[0]["currency"] == "USD"


async def test_only_an_administrator_opens_the_administration_pages(portal: Portal) -> None:
    client = portal.client
    jane = await credential(portal, JANE_CONTACT_ID)
    paths = ["/portal/admin/contacts", JANE_PAGE, "/portal/admin/invitations"]
    for path in [*paths, "/portal/admin/contacts/new"]:
        refused = await client.get(path, headers=jane)
        assert refused.status_code == 403, path
        assert "This page is for an Administrator." in page_of(refused.text).text
        anonymous = await client.get(path)
        assert anonymous.status_code == 303
        assert anonymous.headers["location"] == f"/portal/sign-in?next={path}"
    posted = await client.post(
        JANE_PAGE, data=contact_form(web_roles=["administrator"]), headers=jane
    )
    assert posted.status_code == 403
    invited = await client.post(
        "/portal/admin/invitations", data={"contact_id": str(JANE_CONTACT_ID)}, headers=jane
    )
    assert invited.status_code == 403
    api = await client.get("/admin/contacts", params={"email": "jane@x.example"}, headers=ADMIN)
    assert api.json()[0]["web_roles"] == ["authorized_user"]
    assert (await client.get("/portal/admin/contacts/not-a-uuid", headers=ADMIN)).status_code == 404
    unknown = await client.get(f"/portal/admin/contacts/{uuid.uuid4()}", headers=ADMIN)
    assert unknown.status_code == 404


async def test_an_invitation_is_refused_naming_the_missing_company_and_account(
    portal: Portal,
) -> None:
    client = portal.client
    new = uuid.uuid4()
    body = {"lastname": "Newcontact", "email": "new@x.example", "web_roles": ["authorized_user"]}
    assert (await client.put(f"/admin/contacts/{new}", json=body, headers=ADMIN)).status_code == 200
    refused = await client.post(
        "/portal/admin/invitations", data={"email": "NEW@x.example"}, headers=ADMIN
    )
    assert refused.status_code == 422
    page = page_of(refused.text)
    top = page.said("problems")
    api = await client.post("/admin/invitations", json={"contact_id": str(new)}, headers=ADMIN)
    messages = [error["message"] for error in api.json()["errors"]]
    assert len(messages) == 2 and all(message in top for message in messages)
    assert "Company (legal entity)" in top and "Account Number" in top
    assert f"/portal/admin/contacts/{new}" in page.links  # where to fix it
    assert page.value("f-email") == "NEW@x.example"
    nobody = await client.post(
        "/portal/admin/invitations", data={"email": "nobody@x.example"}, headers=ADMIN
    )
    assert nobody.status_code == 422
    assert page_of(nobody.text).said("f-email-error") == "no contact has this e-mail address"


async def test_an_invitation_shows_its_link_once_and_is_listed_open_then_redeemed(
    portal: Portal,
) -> None:
    client = portal.client
    # Invite, as the contact's edit page does.
    invited = await client.post(
        "/portal/admin/invitations", data={"contact_id": str(SAM_CONTACT_ID)}, headers=ADMIN
    )
    assert invited.status_code == 201, invited.text
    page = page_of(invited.text)
    link = page.said("invitation-link")
    assert link.startswith("http://portal.test/portal/invitation?code=")
    code = parse_qs(urlsplit(link).query)["code"][0]
    assert page.said("invitation-code") == code
    assert "Invitation created for Sam Contoso" in page.text and "expires 20" in page.text

    listed = (await client.get("/portal/admin/invitations", headers=ADMIN)).text
    assert code not in listed  # shown once: never again
    assert _statuses(listed) == [("Sam Contoso", "0 of 1", "Open")]

    # A group invitation by e-mail, as the invitations page's form sends it.
    group = await client.post(
        "/portal/admin/invitations",
        data={"email": "jane@x.example", "kind": "group", "max_redemptions": "3",
              "expires_in_days": "2"},
        headers=ADMIN,
    )  # fmt: skip
    assert group.status_code == 201, group.text
    assert "Group invitation, 3 redemptions" in page_of(group.text).text

    redeemed = await client.post("/invitations/redeem", json={"code": code})
    assert redeemed.status_code == 200, redeemed.text
    listed = (await client.get("/portal/admin/invitations", headers=ADMIN)).text
    assert sorted(_statuses(listed)) == [
        ("Jane Contoso", "0 of 3", "Open"),
        ("Sam Contoso", "1 of 1", "Redeemed"),
    ]
    sams = page_of(
        (await client.get(f"/portal/admin/contacts/{SAM_CONTACT_ID}", headers=ADMIN)).text
    )
    assert "Redeemed" in sams.text and "Invite" in sams.text

    wrong = await client.post(
        "/portal/admin/invitations",
        data={"email": "jane@x.example", "kind": "single", "max_redemptions": "2"},
        headers=ADMIN,
    )
    assert wrong.status_code == 422
    assert page_of(wrong.text).said("f-max_redemptions-error") == (
        "a single invitation is redeemed once"
    )


def _statuses(html: str) -> list[tuple[str, str, str]]:
    """(contact, redeemed, status) of each row of the invitations table."""
    rows = re.findall(
        r'<a href="/portal/admin/contacts/[^"]+">([^<]+)</a>.*?'
        r'<td class="num">(\d+ of \d+)</td>.*?class="badge[^"]*">(\w+)</span>',
        html,
        flags=re.S,
    )
    return [(name, count, status) for name, count, status in rows]
