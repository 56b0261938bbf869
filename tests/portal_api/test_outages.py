"""The API while Kafka or PostgreSQL is down (a private stack, really stopped): 503 problems
with Retry-After where a request needs the one that is away, /readyz naming it, /healthz and
/metrics answering, and the same requests succeeding once it is back.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest
from pydantic import SecretStr

from bench.private_stack import PrivateStack
from contracts.topics import CDS_EVENTS, PORTAL_COMMANDS
from portal_api.app import create_app
from sync_service.command_processor import CommandProcessor, subscribe_command_processor
from sync_service.db.engine import create_engine
from sync_service.demo_data import JANE_CONTACT_ID, seed_demo
from sync_service.eventstore.postgres import PostgresEventStore
from sync_service.settings import Settings
from sync_service.topics import ensure_topics
from tests.kafka_roles import role_broker
from tests.portal_api.views_helpers import ORDER

pytestmark = pytest.mark.integration

ADMIN_TOKEN = secrets.token_urlsafe(32)
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
# The bootstrap administrator has no contact: the order names the customer it is for.
ADMIN_ORDER = {**ORDER, "company": "usmf", "customer_account": "US-001"}
JANE = {
    "firstname": "Jane", "lastname": "Contoso", "email": "jane@x.example", "company": "usmf",
    "account_number": "US-001", "price_list": "PL-US-001", "currency": "USD",
    "ship_to_country": "US", "language": "en-us", "web_roles": ["authorized_user"],
}  # fmt: skip
PROMPTLY_S = 5.0
"""An answer during an outage comes within this (the probes' own bound is 1.5 s)."""


@dataclass
class Api:
    """The API app on the private stack, with the command processor beside it."""

    client: httpx.AsyncClient
    settings: Settings


@pytest.fixture
async def api(outage_settings: Settings) -> AsyncIterator[Api]:
    settings = outage_settings.model_copy(
        update={"admin_token": SecretStr(ADMIN_TOKEN), "command_wait_s": 5.0}
    )
    engine = create_engine(settings.database_url)
    store = PostgresEventStore(engine)
    await seed_demo(store)
    await ensure_topics(settings, [PORTAL_COMMANDS, CDS_EVENTS])
    broker = role_broker(settings, "command-processor", graceful_timeout=2.0)
    subscribe_command_processor(
        broker,
        settings,
        CommandProcessor(store, verifier=settings.command_verifier(), max_backoff_s=0.2),
    )
    await broker.start()
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://portal.test", timeout=60
            ) as client:
                yield Api(client, settings)
    finally:
        await broker.stop()
        await engine.dispose()


async def _timed(request: Awaitable[httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await request
    return response, time.monotonic() - started


def assert_unavailable(response: httpx.Response, took_s: float, dependency: str) -> None:
    """A 503 problem with Retry-After that names `dependency`, answered promptly."""
    where = f"{response.request.method} {response.request.url.path}"
    assert response.status_code == 503, (where, response.status_code, response.text)
    assert response.headers["content-type"] == "application/problem+json", where
    assert int(response.headers["retry-after"]) > 0, where
    body = response.json()
    assert body["status"] == 503, where
    assert dependency in body["detail"], (where, body)
    assert took_s < PROMPTLY_S, (where, took_s)


async def until_ok(
    request: Callable[[], Awaitable[httpx.Response]], *, timeout_s: float = 60.0
) -> httpx.Response:
    """Repeat `request` as a client honouring Retry-After would, until it is not a 503."""
    async with asyncio.timeout(timeout_s):
        while True:
            response = await request()
            if response.status_code != 503:
                return response
            await asyncio.sleep(min(float(response.headers.get("retry-after", 1)), 1.0))


async def _contact_stored(api: Api, answer: httpx.Response) -> None:
    """200 at once, or 202 and then `accepted` at its status URL."""
    assert answer.status_code in (200, 202), answer.text
    if answer.status_code == 202:
        async with asyncio.timeout(60):
            while True:
                found = await api.client.get(answer.headers["location"], headers=ADMIN)
                if found.json()["status"] == "accepted":
                    return
                await asyncio.sleep(0.2)


async def _ready(api: Api) -> None:
    response = await until_ok(lambda: api.client.get("/readyz"))
    assert response.status_code == 200, response.text


async def test_while_kafka_is_down_commands_are_503_and_succeed_once_it_is_back(
    outage_stack: PrivateStack, api: Api
) -> None:
    client = api.client
    await outage_stack.stop("kafka")

    order = await _timed(client.post("/orders", json=ADMIN_ORDER, headers=ADMIN))
    assert_unavailable(*order, "Kafka")
    jane = f"/admin/contacts/{JANE_CONTACT_ID}"
    assert_unavailable(*await _timed(client.put(jane, json=JANE, headers=ADMIN)), "Kafka")
    # What needs only PostgreSQL still answers.
    assert (await client.get("/orders", headers=ADMIN)).status_code == 200
    found = await client.get("/admin/contacts?email=jane@x.example", headers=ADMIN)
    assert found.status_code == 200
    ready, took_s = await _timed(client.get("/readyz"))
    assert ready.status_code == 503 and took_s < PROMPTLY_S
    assert ready.json()["kafka"].startswith(f"cannot reach Kafka at {api.settings.kafka_bootstrap}")
    assert ready.json()["postgresql"] == "ok"
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/metrics")).status_code == 200

    await outage_stack.start("kafka")
    accepted = await until_ok(lambda: client.post("/orders", json=ADMIN_ORDER, headers=ADMIN))
    assert accepted.status_code == 202, accepted.text
    upserted = await until_ok(lambda: client.put(jane, json=JANE, headers=ADMIN))
    await _contact_stored(api, upserted)
    await _ready(api)


async def _ops_page_session(client: httpx.AsyncClient) -> None:
    signed_in = await client.post(
        "/ops/login",
        data={"credential": ADMIN_TOKEN},
        headers={"Origin": "http://portal.test"},
    )
    assert signed_in.status_code == 303, signed_in.text
    page = await client.get("/ops")
    assert page.status_code == 200, page.text


async def test_while_postgresql_is_down_requests_are_503_and_succeed_once_it_is_back(
    outage_stack: PrivateStack, api: Api
) -> None:
    client = api.client
    await _ops_page_session(client)
    some_map = (await client.get("/ops/maps", headers=ADMIN)).json()["maps"][0]["name"]
    needing_postgresql: list[Callable[[], Awaitable[httpx.Response]]] = [
        lambda: client.post("/orders", json=ADMIN_ORDER, headers=ADMIN),
        lambda: client.get("/orders", headers=ADMIN),
        lambda: client.get("/admin/contacts?email=jane@x.example", headers=ADMIN),
        lambda: client.get("/ops/deadletters", headers=ADMIN),
        lambda: client.get("/ops/maps", headers=ADMIN),
        lambda: client.get("/ops/lag", headers=ADMIN),
        lambda: client.post(f"/ops/maps/{some_map}/pause", headers=ADMIN),
    ]
    await outage_stack.stop("postgres")

    for request in needing_postgresql:
        assert_unavailable(*await _timed(request()), "PostgreSQL")
    # The ops page is for people: a readable page, with the same status and Retry-After.
    page, took_s = await _timed(client.get("/ops"))
    assert (page.status_code, took_s < PROMPTLY_S) == (503, True), page.text
    assert page.headers["content-type"].startswith("text/html")
    assert int(page.headers["retry-after"]) > 0
    assert "PostgreSQL is unavailable" in page.text
    ready, took_s = await _timed(client.get("/readyz"))
    assert ready.status_code == 503 and took_s < PROMPTLY_S
    assert ready.json()["postgresql"].startswith("cannot reach PostgreSQL at")
    assert ready.json()["kafka"] == "ok"
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/metrics")).status_code == 200

    await outage_stack.start("postgres")
    for request in needing_postgresql:
        answer = await until_ok(request)
        assert answer.status_code in (200, 202), (answer.request.url.path, answer.text)
    assert (await client.get("/ops")).status_code == 200
    await _ready(api)
