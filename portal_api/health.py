"""Liveness, readiness and Prometheus metrics: what ops probes and scrapers read.

None of them needs Kafka or PostgreSQL to answer: /healthz and /metrics answer from memory, and
/readyz takes one short look at each (in parallel), so it answers within about a second and a
half even while one of them is away.
"""

from __future__ import annotations

import asyncio
from typing import Final, Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy.engine import make_url

from portal_api.command_bus import CommandBus
from portal_api.unavailable import RETRY_AFTER_S
from sync_service.connectivity import probe_database, probe_kafka
from sync_service.kafka_access import client_options
from sync_service.settings import Settings

__all__ = ["router"]

router = APIRouter(tags=["ops"])

_READINESS_TIMEOUT_S: Final = 1.5


class Liveness(BaseModel):
    """The process answers."""

    status: Literal["ok"]


class Readiness(BaseModel):
    """Whether Kafka and PostgreSQL answer: `ok`, or why not."""

    status: Literal["ready", "not ready"]
    kafka: str
    postgresql: str


@router.get("/healthz", response_model=Liveness)
async def healthz() -> dict[str, str]:
    """The process is alive and serving."""
    return {"status": "ok"}


async def _kafka(settings: Settings, bus: CommandBus | None) -> str:
    reason = await probe_kafka(
        settings.kafka_bootstrap, _READINESS_TIMEOUT_S, client_options(settings, "api")
    )
    if reason is not None:
        return f"cannot reach Kafka at {settings.kafka_bootstrap}: {reason}"
    if bus is not None and not bus.connected:
        return f"Kafka at {settings.kafka_bootstrap} answers; the API's producer is connecting"
    return "ok"


async def _postgresql(settings: Settings) -> str:
    reason = await probe_database(settings.database_url, _READINESS_TIMEOUT_S)
    if reason is None:
        return "ok"
    shown = make_url(settings.database_url).render_as_string(hide_password=True)
    return f"cannot reach PostgreSQL at {shown}: {reason}"


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Kafka or PostgreSQL does not answer"}},
)
async def readyz(request: Request) -> JSONResponse:
    """Kafka and PostgreSQL both answer; 503 naming the one that does not."""
    settings: Settings = request.app.state.settings
    bus: CommandBus | None = getattr(request.app.state, "bus", None)
    kafka, postgresql = await asyncio.gather(_kafka(settings, bus), _postgresql(settings))
    ready = kafka == "ok" and postgresql == "ok"
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "kafka": kafka, "postgresql": postgresql},
        status_code=200 if ready else 503,
        headers=None if ready else {"Retry-After": str(RETRY_AFTER_S)},
    )


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={200: {"description": "Prometheus text exposition format"}},
)
async def metrics() -> Response:
    """Prometheus exposition of every `dualsync_` metric of this process."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
