"""The API does not start with a weak DUALSYNC_ADMIN_TOKEN, unless development says so."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from portal_api.app import create_app
from sync_service.domain.admin_token import WeakAdminToken
from sync_service.settings import Settings


@pytest.mark.parametrize("token", ["test-admin-token", "change-me-admin-token", "x" * 64])
def test_the_api_refuses_to_start_with_a_weak_token(token: str) -> None:
    settings = Settings(admin_token=SecretStr(token))
    with pytest.raises(WeakAdminToken, match=r"^DUALSYNC_ADMIN_TOKEN is refused: "):
        create_app(settings)


async def test_the_development_setting_lets_a_weak_token_open_the_api(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Read from the environment as a deployment sets it.
    monkeypatch.setenv("DUALSYNC_ADMIN_TOKEN", "admin")
    monkeypatch.setenv("DUALSYNC_ALLOW_WEAK_ADMIN_TOKEN", "true")
    monkeypatch.setenv("DUALSYNC_ALLOWED_HOSTS", "portal.test")
    app = create_app(Settings())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
        # /healthz needs neither Kafka nor PostgreSQL; the token is what is tested.
        assert (await client.get("/healthz")).status_code == 200
    assert app.state.settings.allow_weak_admin_token is True
