"""Runs dualsync's long-lived services in one process until a signal stops them."""

from __future__ import annotations

import asyncio

from sync_service.logs import get_logger
from sync_service.settings import Settings

__all__ = ["run_services"]

log = get_logger(__name__)


async def _serve_api(settings: Settings) -> None:
    import uvicorn

    from portal_api.app import create_app

    config = uvicorn.Config(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        log_config=None,  # keep our structlog handler
        access_log=False,
    )
    log.info("api.listening", url=f"http://{settings.api_host}:{settings.api_port}")
    await uvicorn.Server(config).serve()


async def run_services(settings: Settings, service: str) -> None:
    """Run `service` ("all" for every one) until interrupted."""
    services = {"api": _serve_api}
    chosen = list(services) if service == "all" else [service]
    await asyncio.gather(*(services[name](settings) for name in chosen))
