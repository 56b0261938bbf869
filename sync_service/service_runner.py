"""Runs dualsync's long-lived services in one process until a signal stops them."""

from __future__ import annotations

import asyncio

from sync_service.logs import get_logger
from sync_service.metrics import serve_metrics
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


async def _run_relay(settings: Settings) -> None:
    from sync_service.relay import run_relay

    await run_relay(settings)


async def _run_command_processor(settings: Settings) -> None:
    from sync_service.command_processor import run_command_processor

    await run_command_processor(settings)


async def _run_projections(settings: Settings) -> None:
    from sync_service.projections.worker import run_projections

    await run_projections(settings)


async def _run_outbound(settings: Settings) -> None:
    from sync_service.mappings.workers import run_outbound

    await run_outbound(settings)


async def _run_inbound(settings: Settings) -> None:
    from sync_service.mappings.workers import run_inbound

    await run_inbound(settings)


async def _run_erp_sim(settings: Settings) -> None:
    from sync_service.erp_sim import run_erp_sim

    await run_erp_sim(settings)


async def run_services(settings: Settings, service: str) -> None:
    """Run `service` ("all" for every one) until interrupted."""
    services = {
        "api": _serve_api,
        "relay": _run_relay,
        "command-processor": _run_command_processor,
        "projections": _run_projections,
        "outbound": _run_outbound,
        "inbound": _run_inbound,
    }
    chosen = list(services) if service == "all" else [service]
    # Added after "all" is resolved: the ERP simulator plays the other side, not a dualsync
    # service, so `run all` leaves it out (`make run` starts it as a process of its own).
    services["erp-sim"] = _run_erp_sim
    tasks = [asyncio.create_task(services[name](settings), name=name) for name in chosen]
    if settings.metrics_port and "api" not in chosen:  # else the API's /metrics has them all
        tasks.append(asyncio.create_task(serve_metrics(settings), name="metrics"))
    try:
        # The API ends on SIGINT/SIGTERM (uvicorn handles them); a service may also fail.
        # Either way the process stops as a whole rather than limping on half-alive.
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
    for task, result in zip(tasks, results, strict=True):
        if task in done and isinstance(result, Exception):
            log.error("service.failed", service=task.get_name(), error=repr(result))
            raise result
        log.info("service.stopped", service=task.get_name())
