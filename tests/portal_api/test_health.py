"""Ops probes: liveness always, readiness only with Kafka and PostgreSQL reachable."""

from __future__ import annotations

import socket

import httpx
import pytest
from sqlalchemy.engine import make_url

from portal_api.app import create_app
from sync_service.settings import Settings

pytestmark = pytest.mark.integration


def _client(settings: Settings) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(settings))
    return httpx.AsyncClient(transport=transport, base_url="http://portal.test")


async def test_ready_when_kafka_and_postgres_answer(settings: Settings) -> None:
    async with _client(settings) as client:
        live = await client.get("/healthz")
        ready = await client.get("/readyz")
    assert live.status_code == 200
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "kafka": "ok", "postgresql": "ok"}


async def test_not_ready_names_the_unreachable_broker(settings: Settings) -> None:
    broken = settings.model_copy(update={"kafka_bootstrap": "127.0.0.1:1"})
    async with _client(broken) as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 503
    body = ready.json()
    assert body["postgresql"] == "ok"
    assert "cannot reach Kafka at 127.0.0.1:1" in body["kafka"]


async def test_not_ready_names_the_unreachable_database(settings: Settings) -> None:
    url = make_url(settings.database_url).set(port=_closed_port())
    broken = settings.model_copy(update={"database_url": url.render_as_string(hide_password=False)})
    async with _client(broken) as client:
        live = await client.get("/healthz")
        ready = await client.get("/readyz")
    assert live.status_code == 200
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "not ready"
    assert body["kafka"] == "ok"
    assert (
        f"cannot reach PostgreSQL at {url.render_as_string(hide_password=True)}"
        in body["postgresql"]
    )
    assert "dualsync:dualsync@" not in body["postgresql"]  # the password is never shown


def _closed_port() -> int:
    """A local port nobody listens on: bound, then released."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_metrics_are_prometheus_text(settings: Settings) -> None:
    async with _client(settings) as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "python_info" in response.text
