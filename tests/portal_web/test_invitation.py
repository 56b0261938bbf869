"""Redeeming an invitation in the browser: the API's redemption, a password, a session."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from sync_service.demo_data import JANE_CONTACT_ID
from tests.portal_api.conftest import ADMIN, Portal

pytestmark = pytest.mark.integration

PASSWORD = "a long enough secret"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]*)"')


async def _code(portal: Portal, contact_id: Any = JANE_CONTACT_ID) -> str:
    invited = await portal.client.post(
        "/admin/invitations", json={"contact_id": str(contact_id)}, headers=ADMIN
    )
    assert invited.status_code == 201, invited.text
    return str(invited.json()["code"])


async def _redeem(
    client: httpx.AsyncClient, code: str, password: str, confirmation: str | None = None
) -> httpx.Response:
    page = await client.get(f"/portal/invitation?code={quote(code)}")
    found = _TOKEN.search(page.text)
    assert found is not None, page.text
    body = {
        "csrf_token": found.group(1),
        "code": code,
        "password": password,
        "confirmation": password if confirmation is None else confirmation,
    }
    return await client.post("/portal/invitation", data=body)


def _error_at(page: httpx.Response, field: str) -> str:
    found = re.search(rf'<p class="error" id="f-{field}-error">([^<]*)</p>', page.text)
    assert found is not None, page.text
    return found.group(1)


async def test_the_link_fills_in_the_code_and_says_the_password_rule(portal: Portal) -> None:
    page = await portal.client.get("/portal/invitation?code=abc%2Fdef")
    assert page.status_code == 200
    assert 'value="abc/def"' in page.text
    assert "At least 10 characters" in page.text and "not your e-mail address" in page.text


async def test_a_refused_password_keeps_the_code_unused(portal: Portal) -> None:
    client, code = portal.client, await _code(portal)
    short = await _redeem(client, code, "short")
    assert short.status_code == 400
    assert "at least 10 characters" in _error_at(short, "password")
    own_address = await _redeem(client, code, "JANE@x.example")
    assert "not be your e-mail address" in _error_at(own_address, "password")
    mismatch = await _redeem(client, code, PASSWORD, PASSWORD + "!")
    assert "not the same" in _error_at(mismatch, "confirmation")
    assert client.cookies.get("dualsync_session") is None

    done = await _redeem(client, code, PASSWORD)
    assert done.status_code == 303 and done.headers["location"] == "/portal/"
    home = await client.get("/portal/")
    assert "Jane Contoso" in home.text and "Authorized user" in home.text


async def test_unknown_and_used_codes_are_told_at_the_code(portal: Portal) -> None:
    code = await _code(portal)
    unknown = await _redeem(portal.client, "no-such-code-0123456789", PASSWORD)
    assert unknown.status_code == 400
    assert "No invitation has this code" in _error_at(unknown, "code")
    assert (await _redeem(portal.client, code, PASSWORD)).status_code == 303
    used = await _redeem(portal.client, code, PASSWORD)
    assert "already been used" in _error_at(used, "code")


async def test_the_page_and_the_api_count_failed_redemptions_together(portal: Portal) -> None:
    limit = portal.settings.redeem_failures_per_minute
    for _ in range(limit - 1):
        api = await portal.client.post("/invitations/redeem", json={"code": "x" * 20})
        assert api.status_code == 404
    assert (await _redeem(portal.client, "y" * 20, PASSWORD)).status_code == 400
    page = await _redeem(portal.client, await _code(portal), PASSWORD)
    assert page.status_code == 429 and "Too many failed attempts" in page.text
    assert int(page.headers["retry-after"]) >= 1
    api = await portal.client.post("/invitations/redeem", json={"code": "x" * 20})
    assert api.status_code == 429 and "retry-after" in api.headers


async def test_the_password_chosen_signs_in_afterwards(portal: Portal) -> None:
    client = portal.client
    assert (await _redeem(client, await _code(portal), PASSWORD)).status_code == 303
    client.cookies.clear()
    form = await client.get("/portal/sign-in")
    token = _TOKEN.search(form.text)
    assert token is not None
    body = {"csrf_token": token.group(1), "email": "jane@x.example", "password": PASSWORD}
    assert (await client.post("/portal/sign-in", data=body)).status_code == 303
    assert "Jane Contoso" in (await client.get("/portal/")).text
