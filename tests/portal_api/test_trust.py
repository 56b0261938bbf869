"""The API's trust boundary over HTTP (issue 16): Host names, header sizes, proxy headers and
the throttles, each probed the way an attacker would and shown refused."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from portal_api.app import create_app
from portal_api.ordering import submit_command_id
from portal_api.problems import PROBLEM_JSON
from portal_api.trust import host_name
from sync_service.demo_data import JANE_CONTACT_ID, SAM_CONTACT_ID
from sync_service.service_runner import api_server_config
from sync_service.settings import Settings
from tests.portal_api.conftest import ADMIN, Portal
from tests.portal_api.live_server import LivePortal, live_portal
from tests.portal_api.views_helpers import credential, submit
from tests.stack import Stack

_CODE = {"code": "not-a-code-anyone-was-given"}


@asynccontextmanager
async def _served(app: FastAPI, settings: Settings) -> AsyncIterator[str]:
    """`app` on a free 127.0.0.1 port, as `dualsync run api` serves it (no lifespan)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(api_server_config(app, settings, lifespan="off", log_level="warning"))
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    while not server.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.01)
    host, port = listener.getsockname()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        await serving


def test_host_names_lose_their_port() -> None:
    assert host_name("LocalHost:8000") == "localhost"
    assert host_name("[::1]:8000") == "[::1]"
    assert host_name("127.0.0.1") == "127.0.0.1"
    assert host_name("") == ""


async def test_a_foreign_host_is_refused_as_dns_rebinding_would_send_it() -> None:
    # By default only the loopback names are answered (any port).
    app = create_app(Settings())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
        for host in ("127.0.0.1:8000", "localhost:8000", "[::1]:8000", "LOCALHOST"):
            answer = await client.get("/healthz", headers={"Host": host})
            assert answer.status_code == 200, host
        # A page of attacker.example whose name now resolves to 127.0.0.1 calls the admin API.
        for host in ("attacker.example:8000", "127.0.0.1.attacker.example", ""):
            answer = await client.get("/admin/contacts", headers={"Host": host, **ADMIN})
            assert answer.status_code == 400, host
            assert answer.headers["content-type"] == PROBLEM_JSON
            assert answer.json()["status"] == 400
            assert "Host" in answer.json()["detail"]


async def test_allowed_hosts_come_from_the_setting() -> None:
    app = create_app(Settings(allowed_hosts="portal.example.com, *.internal.example"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
        for host, status in (
            ("portal.example.com", 200),
            ("api.internal.example:443", 200),
            ("internal.example", 400),
            ("127.0.0.1", 400),
        ):
            answer = await client.get("/healthz", headers={"Host": host})
            assert answer.status_code == status, host


async def test_an_8_mb_authorization_header_gets_431_over_a_socket() -> None:
    settings = Settings()
    async with (
        _served(create_app(settings), settings) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=30) as client,
    ):
        huge = {"Authorization": "Bearer " + "x" * (8 * 1024 * 1024)}
        answer = await client.get("/healthz", headers=huge)
        assert answer.status_code == 431
        assert answer.headers["content-type"] == PROBLEM_JSON
        assert (await client.get("/healthz", headers={"Authorization": "Bearer x"})).is_success


def test_proxy_headers_are_believed_only_from_the_configured_proxies() -> None:
    app = FastAPI()
    default = api_server_config(app, Settings())
    assert default.proxy_headers is False  # uvicorn's own default believes 127.0.0.1
    behind = api_server_config(app, Settings(forwarded_allow_ips="10.0.0.7, 10.1.0.0/16"))
    assert behind.proxy_headers is True
    assert behind.forwarded_allow_ips == "10.0.0.7, 10.1.0.0/16"


def test_every_operation_describes_the_answers_any_request_can_get() -> None:
    document: dict[str, Any] = create_app(Settings()).openapi()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert {"400", "431"} <= set(responses), (method, path)
            if "401" in responses:  # a wrong credential counts against the client
                assert responses["429"]["headers"]["Retry-After"]["required"] is True


@pytest.fixture(scope="module")
def live(stack: Stack, template_database: str) -> Iterator[LivePortal]:
    with live_portal(stack, template_database) as running:
        yield running


@pytest.mark.integration
def test_a_made_up_x_forwarded_for_does_not_reset_the_count(live: LivePortal) -> None:
    # uvicorn's default would believe these from 127.0.0.1: a new address per attempt.
    statuses = []
    with httpx.Client(base_url=live.base_url, timeout=30) as client:
        for attempt in range(10):
            spoofed = {"X-Forwarded-For": f"203.0.113.{attempt + 1}"}
            answer = client.post("/invitations/redeem", json=_CODE, headers=spoofed)
            statuses.append(answer.status_code)
    assert statuses[:5] == [404] * 5
    assert statuses[5:] == [429] * 5


@pytest.mark.integration
async def test_concurrent_bad_redemptions_get_at_most_the_limit_judged(portal: Portal) -> None:
    answers = await asyncio.gather(
        *(portal.client.post("/invitations/redeem", json=_CODE) for _ in range(40))
    )
    statuses = [answer.status_code for answer in answers]
    judged = [status for status in statuses if status != 429]
    assert len(judged) <= portal.settings.redeem_failures_per_minute, statuses
    assert set(statuses) <= {404, 429}
    assert all(a.headers["Retry-After"].isdigit() for a in answers if a.status_code == 429)


@pytest.mark.integration
async def test_wrong_bearer_credentials_are_throttled_per_client(portal: Portal) -> None:
    limit = portal.settings.bearer_failures_per_minute
    for attempt in range(limit):
        wrong = {"Authorization": f"Bearer guess-{attempt}"}
        assert (await portal.client.get("/admin/contacts", headers=wrong)).status_code == 401
    answer = await portal.client.get("/admin/contacts", headers={"Authorization": "Bearer guess"})
    assert answer.status_code == 429
    assert answer.headers["content-type"] == PROBLEM_JSON
    assert int(answer.headers["Retry-After"]) >= 1
    # Past the limit even the right credential waits: a guess that hits is not told so.
    assert (await portal.client.get("/admin/contacts", headers=ADMIN)).status_code == 429


@pytest.mark.integration
async def test_a_commands_status_answers_only_its_issuer_and_administrators(
    portal: Portal,
) -> None:
    jane = await credential(portal, JANE_CONTACT_ID)
    sam = await credential(portal, SAM_CONTACT_ID)
    order_id = await submit(portal, jane)
    # Derived from the order id: whoever holds it may ask, and learns nothing.
    status_url = f"/commands/{submit_command_id(uuid.UUID(order_id))}"
    for headers in (jane, ADMIN):
        answer = await portal.client.get(status_url, headers=headers)
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] in ("pending", "accepted")
    answer = await portal.client.get(status_url, headers=sam)
    assert answer.status_code == 404, answer.text
    assert answer.headers["content-type"] == PROBLEM_JSON
    assert (await portal.client.get(status_url)).status_code == 401  # sign in first
    never_sent = await portal.client.get(f"/commands/{uuid.uuid4()}", headers=jane)
    assert never_sent.status_code == 404


async def test_swagger_ui_from_a_cdn_is_off_unless_a_developer_turns_it_on() -> None:
    for docs_ui, status in ((False, 404), (True, 200)):
        app = create_app(Settings(docs_ui=docs_ui))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            assert (await client.get("/docs")).status_code == status
            assert (await client.get("/redoc")).status_code == 404
            assert (await client.get("/openapi.json")).status_code == 200
