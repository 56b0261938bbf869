"""Errors that are no outage: still a problem (500, logged), never text/plain, never a 503."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from portal_api.app import create_app
from sync_service.settings import Settings

ADMIN_TOKEN = secrets.token_urlsafe(32)
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


class _FailingReader:
    """A write-model reader whose contact search fails with `error` (a bug, not an outage)."""

    def __init__(self, error: Exception) -> None:
        self._error = error

    async def contacts_by_email(self, email: str) -> Any:
        raise self._error


async def _find_contacts(settings: Settings, error: Exception) -> httpx.Response:
    app = create_app(settings.model_copy(update={"admin_token": SecretStr(ADMIN_TOKEN)}))
    app.state.reader = _FailingReader(error)
    # Starlette re-raises an unhandled error after answering, for the server's log.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
        return await client.get("/admin/contacts?email=jane@x.example", headers=ADMIN)


def _assert_server_error(response: httpx.Response) -> None:
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 500
    assert "retry-after" not in response.headers


async def test_an_unexpected_error_is_a_problem_500(settings: Settings) -> None:
    _assert_server_error(await _find_contacts(settings, RuntimeError("a bug")))


@pytest.mark.integration
async def test_a_database_error_that_is_no_outage_is_a_problem_500(
    settings: Settings, database_url: str
) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            try:
                await connection.execute(text("SELECT 1/0"))
            except Exception as error:
                division = error
    finally:
        await engine.dispose()
    _assert_server_error(await _find_contacts(settings, division))
