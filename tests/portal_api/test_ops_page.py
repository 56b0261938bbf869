"""The ops page over HTTP: sign-in, its cookie, who may open it, and the CSRF check.

The browser flow (a dead letter seen and redriven) is in test_ops_page_browser.py.
"""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import select

from sync_service.db.engine import create_engine
from sync_service.demo_data import JANE_CONTACT_ID
from sync_service.mappings.tables import map_states
from tests.portal_api.conftest import ADMIN, ADMIN_TOKEN, Portal
from tests.portal_api.views_helpers import credential

pytestmark = pytest.mark.integration

SAME_ORIGIN = {"Origin": "http://portal.test"}
COOKIE = "dualsync_ops"


async def _sign_in(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/ops/login", data={"credential": token}, headers=SAME_ORIGIN)


async def _session(portal: Portal) -> str:
    """Sign in as the bootstrap admin (the client keeps the cookie); the session id."""
    signed_in = await _sign_in(portal.client, ADMIN_TOKEN)
    assert signed_in.status_code == 303, signed_in.text
    return signed_in.cookies[COOKIE]


def _replayed(session_id: str) -> dict[str, str]:
    """A Cookie header carrying `session_id`, as a client other than the signed-in one sends it."""
    return {"Cookie": f"{COOKIE}={session_id}"}


async def _paused(portal: Portal, name: str) -> bool:
    engine = create_engine(portal.settings.database_url)
    try:
        async with engine.connect() as connection:
            paused = await connection.scalar(
                select(map_states.c.paused).where(map_states.c.name == name)
            )
    finally:
        await engine.dispose()
    return bool(paused)


async def test_without_a_session_the_page_sends_you_to_sign_in(portal: Portal) -> None:
    page = await portal.client.get("/ops")
    assert (page.status_code, page.headers["location"]) == (303, "/ops/login")
    form = await portal.client.get("/ops/login")
    assert form.status_code == 200
    assert 'name="credential"' in form.text
    assert "text/html" in form.headers["content-type"]


async def test_the_admin_token_signs_in_with_a_strict_http_only_cookie(portal: Portal) -> None:
    signed_in = await _sign_in(portal.client, ADMIN_TOKEN)
    assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/ops")
    cookie = signed_in.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    for attribute in ("HttpOnly", "Path=/ops", "SameSite=strict"):
        assert attribute in cookie
    assert ADMIN_TOKEN not in cookie  # the browser keeps a session id, not the credential
    page = await portal.client.get("/ops")
    assert page.status_code == 200
    for section in ('id="lag"', 'id="deadletters"', 'id="maps"', 'id="map-SalesOrderHeaders"'):
        assert section in page.text
    assert "No open dead letters." in page.text
    assert "script-src 'nonce-" in page.headers["content-security-policy"]


async def test_a_wrong_credential_and_a_non_admin_are_refused(portal: Portal) -> None:
    wrong = await _sign_in(portal.client, "not-a-credential")
    assert wrong.status_code == 401
    assert "That credential is not valid." in wrong.text
    jane = (await credential(portal, JANE_CONTACT_ID))["Authorization"].removeprefix("Bearer ")
    refused = await _sign_in(portal.client, jane)
    assert refused.status_code == 403
    assert "Not an Administrator" in refused.text
    assert COOKIE not in refused.cookies
    assert (await portal.client.get("/ops")).status_code == 303


async def test_the_json_ops_endpoints_take_the_session_cookie(portal: Portal) -> None:
    assert (await portal.client.get("/ops/lag")).status_code == 401
    await _session(portal)
    assert (await portal.client.get("/ops/lag")).status_code == 200
    # Bearer stays as it was: a contact's credential is refused whatever cookie comes along.
    jane = await credential(portal, JANE_CONTACT_ID)
    assert (await portal.client.get("/ops/lag", headers=jane)).status_code == 403
    portal.client.cookies.clear()
    assert (await portal.client.get("/ops/lag", headers=ADMIN)).status_code == 200
    gone = _replayed("a-session-that-never-was")
    assert (await portal.client.get("/ops/lag", headers=gone)).status_code == 401


async def test_a_state_change_with_the_cookie_must_come_from_the_page(portal: Portal) -> None:
    await _session(portal)
    pause = "/ops/page/maps/SalesOrderHeaders/pause"
    assert (await portal.client.post(pause)).status_code == 403
    other_site = {"Origin": "http://elsewhere.example"}
    assert (await portal.client.post(pause, headers=other_site)).status_code == 403
    assert not await _paused(portal, "SalesOrderHeaders")

    done = await portal.client.post(pause, headers=SAME_ORIGIN)
    assert (done.status_code, done.headers["location"]) == (303, "/ops")
    assert await _paused(portal, "SalesOrderHeaders")
    page = await portal.client.get("/ops")
    assert "SalesOrderHeaders paused." in page.text
    assert "Resume</button>" in page.text
    assert "SalesOrderHeaders paused." not in (await portal.client.get("/ops")).text  # once

    # The JSON endpoints with the cookie: the page's header, or a matching Origin, is required.
    resume = "/ops/maps/SalesOrderHeaders/resume"
    assert (await portal.client.post(resume)).status_code == 403
    assert await _paused(portal, "SalesOrderHeaders")
    resumed = await portal.client.post(resume, headers={"X-Dualsync-Ops": "1"})
    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["changed_by"] == "admin-token"
    assert not await _paused(portal, "SalesOrderHeaders")


async def test_a_discard_needs_a_reason_and_a_closed_dead_letter_is_reported(
    portal: Portal,
) -> None:
    await _session(portal)
    letter = uuid.uuid4()
    await portal.client.post(
        f"/ops/page/deadletters/{letter}/discard", data={"reason": "  "}, headers=SAME_ORIGIN
    )
    assert "Discarding needs a reason" in (await portal.client.get("/ops")).text
    await portal.client.post(f"/ops/page/deadletters/{letter}/redrive", headers=SAME_ORIGIN)
    assert f"Dead letter {letter} is no longer open" in (await portal.client.get("/ops")).text


async def test_a_reason_or_note_with_nul_is_refused_not_stored(portal: Portal) -> None:
    await _session(portal)
    letter = uuid.uuid4()
    discard = await portal.client.post(
        f"/ops/page/deadletters/{letter}/discard", data={"reason": "a\x00b"}, headers=SAME_ORIGIN
    )
    assert discard.status_code == 303
    assert "The reason can hold no control characters" in (await portal.client.get("/ops")).text
    pause = await portal.client.post(
        "/ops/page/maps/SalesOrderHeaders/pause", data={"note": "a\x00b"}, headers=SAME_ORIGIN
    )
    assert pause.status_code == 303
    assert "The note can hold no control characters" in (await portal.client.get("/ops")).text
    assert not await _paused(portal, "SalesOrderHeaders")


async def test_signing_out_ends_the_session(portal: Portal) -> None:
    session_id = await _session(portal)
    assert (await portal.client.get("/ops")).status_code == 200
    out = await portal.client.post("/ops/logout")
    assert (out.status_code, out.headers["location"]) == (303, "/ops/login")
    assert COOKIE not in portal.client.cookies
    again = await portal.client.get("/ops", headers=_replayed(session_id))
    assert (again.status_code, again.headers["location"]) == (303, "/ops/login")
