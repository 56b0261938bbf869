"""Liveness, readiness and Prometheus metrics: what ops probes and scrapers read."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from sync_service.connectivity import DependencyUnavailable, check_database, check_kafka
from sync_service.settings import Settings

__all__ = ["router"]

router = APIRouter(tags=["ops"])

_READINESS_TIMEOUT_S = 2.0


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


async def _probe(check: Awaitable[None]) -> str:
    try:
        await check
    except DependencyUnavailable as exc:
        return str(exc)
    return "ok"


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Kafka or PostgreSQL does not answer"}},
)
async def readyz(request: Request) -> JSONResponse:
    """Kafka and PostgreSQL both answer; 503 naming the one that does not."""
    settings: Settings = request.app.state.settings
    kafka, postgresql = await asyncio.gather(
        _probe(check_kafka(settings.kafka_bootstrap, _READINESS_TIMEOUT_S)),
        _probe(check_database(settings.database_url, _READINESS_TIMEOUT_S)),
    )
    ready = kafka == "ok" and postgresql == "ok"
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "kafka": kafka, "postgresql": postgresql},
        status_code=200 if ready else 503,
    )


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={200: {"description": "Prometheus text exposition format"}},
)
async def metrics() -> Response:
    """Prometheus exposition of every `dualsync_` metric of this process."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
