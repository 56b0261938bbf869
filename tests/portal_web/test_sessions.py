"""Signing in over HTTP: cookies, CSRF, the throttle across two API processes, roles, ops page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from portal_api.app import create_app
from sync_service.demo_data import ADMIN_CONTACT_ID, JANE_CONTACT_ID, MAY_CONTACT_ID
from tests.portal_api.conftest import ADMIN, Portal
from tests.portal_api.views_helpers import credential
from tests.portal_web.browser import give_password

pytestmark = pytest.mark.integration

PASSWORD = "a long enough secret"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]*)"')
_EXPIRED = "did not come from the portal"


def _token(page: httpx.Response) -> str:
    found = _TOKEN.search(page.text)
    assert found is not None, page.text
    return found.group(1)


async def _sign_in(
    client: httpx.AsyncClient, email: str, password: str, next_page: str = ""
) -> httpx.Response:
    form = await client.get("/portal/sign-in")
    body = {"csrf_token": _token(form), "email": email, "password": password, "next": next_page}
    return await client.post("/portal/sign-in", data=body)


async def _page_with(portal: Portal, path: str, **cookies: str) -> httpx.Response:
    """GET `path` from a browser that holds only `cookies` (e.g. an old session's)."""
    transport = httpx.ASGITransport(app=portal.app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://portal.test", cookies=cookies
    ) as client:
        return await client.get(path)


@asynccontextmanager
async def _another_process(portal: Portal) -> AsyncIterator[httpx.AsyncClient]:
    """A second API application over the same database and Kafka, as a second process is."""
    app = create_app(portal.settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
            yield client


async def _roles(portal: Portal, contact_id: Any, roles: list[str]) -> None:
    found = await portal.client.get(
        "/admin/contacts", params={"email": "jane@x.example"}, headers=ADMIN
    )
    [record] = [c for c in found.json() if c["contact_id"] == str(contact_id)]
    body = {k: v for k, v in record.items() if k != "contact_id"} | {"web_roles": roles}
    put = await portal.client.put(f"/admin/contacts/{contact_id}", json=body, headers=ADMIN)
    assert put.status_code == 200, put.text


async def test_the_session_cookie_is_httponly_lax_and_new_at_every_sign_in(
    portal: Portal,
) -> None:
    await give_password(portal, JANE_CONTACT_ID, PASSWORD)
    client = portal.client
    client.cookies.set("dualsync_session", "planted-by-someone-else", domain="portal.test")
    signed_in = await _sign_in(client, "Jane@X.example", PASSWORD)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/portal/"
    cookie = signed_in.headers["set-cookie"]
    assert "dualsync_session=" in cookie and "planted" not in cookie
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http here; https below
    first = client.cookies.get("dualsync_session", domain="portal.test")
    home = await client.get("/portal/")
    assert "Jane Contoso" in home.text and "Authorized user" in home.text

    again = await _sign_in(client, "jane@x.example", PASSWORD)
    assert again.status_code == 303
    second = client.cookies.get("dualsync_session", domain="portal.test")
    assert second and first and second != first
    # The session the first cookie named was ended by the second sign-in.
    assert "Jane Contoso" in (await _page_with(portal, "/portal/", dualsync_session=second)).text
    stale = await _page_with(portal, "/portal/", dualsync_session=first)
    assert "Jane Contoso" not in stale.text

    secure = httpx.AsyncClient(transport=client._transport, base_url="https://portal.test")
    async with secure:
        over_tls = await _sign_in(secure, "jane@x.example", PASSWORD)
    assert over_tls.status_code == 303 and "Secure" in over_tls.headers["set-cookie"]


async def test_signing_out_deletes_the_session_and_the_cookie(portal: Portal) -> None:
    await give_password(portal, JANE_CONTACT_ID, PASSWORD)
    client = portal.client
    assert (await _sign_in(client, "jane@x.example", PASSWORD)).status_code == 303
    session_id = client.cookies.get("dualsync_session", domain="portal.test")
    token = _token(await client.get("/portal/"))

    refused = await client.post("/portal/sign-out", data={})
    assert refused.status_code == 403 and _EXPIRED in refused.text
    wrong = await client.post("/portal/sign-out", data={"csrf_token": token + "x"})
    assert wrong.status_code == 403
    assert "Jane Contoso" in (await client.get("/portal/")).text  # still signed in

    out = await client.post("/portal/sign-out", data={"csrf_token": token})
    assert out.status_code == 303 and out.headers["location"] == "/portal/"
    assert 'dualsync_session=""' in out.headers["set-cookie"]
    assert "Max-Age=0" in out.headers["set-cookie"]
    replayed = await _page_with(portal, "/portal/", dualsync_session=session_id or "")
    assert "Jane Contoso" not in replayed.text and "Sign in" in replayed.text


async def test_an_anonymous_form_needs_its_double_submit_token(portal: Portal) -> None:
    await give_password(portal, JANE_CONTACT_ID, PASSWORD)
    client = portal.client
    body = {"email": "jane@x.example", "password": PASSWORD}
    # Another site's form: no token, or a token without the cookie that goes with it.
    no_token = await client.post("/portal/sign-in", data=body)
    assert no_token.status_code == 403 and _EXPIRED in no_token.text
    foreign = await client.post("/portal/sign-in", data=body | {"csrf_token": "A" * 43})
    assert foreign.status_code == 403
    assert client.cookies.get("dualsync_session") is None
    # The page's own form carries the token of its cookie: it signs in.
    assert (await _sign_in(client, "jane@x.example", PASSWORD)).status_code == 303


async def test_a_bearer_client_posts_a_form_without_a_token(portal: Portal) -> None:
    jane = await credential(portal, JANE_CONTACT_ID)
    out = await portal.client.post("/portal/sign-out", data={}, headers=jane)
    assert out.status_code == 303
    home = await portal.client.get("/portal/", headers=jane)
    assert "Jane Contoso" in home.text and 'name="csrf_token"' not in home.text


async def test_next_leads_only_to_a_page_of_the_portal(portal: Portal) -> None:
    await give_password(portal, JANE_CONTACT_ID, PASSWORD)
    for asked, landed in [
        ("/portal/terms", "/portal/terms"),
        ("https://evil.example/portal/", "/portal/"),
        ("//evil.example/portal", "/portal/"),
        ("/\\evil.example", "/portal/"),
        ("/ops", "/portal/"),
    ]:
        answer = await _sign_in(portal.client, "jane@x.example", PASSWORD, asked)
        assert (answer.status_code, answer.headers["location"]) == (303, landed), asked


async def test_failed_sign_ins_are_throttled_across_two_api_processes(portal: Portal) -> None:
    await give_password(portal, JANE_CONTACT_ID, PASSWORD)
    limit = portal.settings.signin_failures_per_minute
    unknown = await _sign_in(portal.client, "nobody@x.example", PASSWORD)
    wrong = await _sign_in(portal.client, "jane@x.example", "not the password")
    # Never which of the two was wrong: the same words for an unknown address.
    assert unknown.status_code == wrong.status_code == 400
    said = "The e-mail address or the password is not right."
    assert said in unknown.text and said in wrong.text
    async with _another_process(portal) as other:
        for _ in range(limit - 2):
            assert (await _sign_in(other, "jane@x.example", "still wrong")).status_code == 400
        # Now even the right password waits, in either process.
        for client in (portal.client, other):
            throttled = await _sign_in(client, "jane@x.example", PASSWORD)
            assert throttled.status_code == 429, throttled.text
            assert 1 <= int(throttled.headers["retry-after"]) <= 60
            assert "Too many failed attempts" in throttled.text


async def test_a_role_taken_away_takes_the_pages_away_at_the_next_request(
    portal: Portal,
) -> None:
    await _roles(portal, JANE_CONTACT_ID, ["administrator"])
    await give_password(portal, JANE_CONTACT_ID, PASSWORD)
    client = portal.client
    assert (await _sign_in(client, "jane@x.example", PASSWORD)).status_code == 303
    ops = await client.get("/ops")
    assert ops.status_code == 200, ops.text
    assert (await client.get("/ops/lag")).status_code == 200  # the page's JSON, same session

    await _roles(portal, JANE_CONTACT_ID, [])
    refused = await client.get("/ops")
    assert refused.status_code == 403 and "Administrator" in refused.text
    assert (await client.get("/ops/lag")).status_code == 403
    home = await client.get("/portal/")
    assert "No web role" in home.text and "has not been granted" in home.text


async def test_the_ops_page_refuses_a_signed_in_contact_who_is_not_an_administrator(
    portal: Portal,
) -> None:
    await give_password(portal, MAY_CONTACT_ID, PASSWORD)
    assert (await _sign_in(portal.client, "may@y.example", PASSWORD)).status_code == 303
    assert (await portal.client.get("/ops")).status_code == 403
    assert (await portal.client.get("/ops/lag")).status_code == 403
    portal.client.cookies.clear()
    assert (await portal.client.get("/ops")).headers["location"] == "/ops/login"


async def test_an_administrators_portal_session_opens_the_ops_page(portal: Portal) -> None:
    await give_password(portal, ADMIN_CONTACT_ID, PASSWORD)
    assert (await _sign_in(portal.client, "admin@portal.example", PASSWORD)).status_code == 303
    page = await portal.client.get("/ops")
    assert page.status_code == 200 and "Dead letters" in page.text
    # A change from the page needs its Origin, as with the ops sign-in.
    pause = "/ops/page/maps/SalesOrderHeaders/pause"
    assert (await portal.client.post(pause, data={"note": "x"})).status_code == 403
    out = await portal.client.post("/ops/logout", headers={"Origin": "http://portal.test"})
    assert out.headers["location"] == "/ops/login"
    assert "Sign in" in (await portal.client.get("/portal/")).text
