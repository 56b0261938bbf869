"""The portal's HTTP API: parses, authorises and calls into sync_service; holds no rules."""

from __future__ import annotations

from fastapi import FastAPI

from portal_api.health import router as health_router
from sync_service.settings import Settings, get_settings

__all__ = ["create_app"]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API application for `settings` (the environment's by default)."""
    app = FastAPI(title="dualsync portal API", version="0.1.0")
    app.state.settings = settings or get_settings()
    app.include_router(health_router)
    return app
