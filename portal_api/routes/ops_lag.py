"""`GET /ops/lag`: a fresh lag sample for ops (Administrator only)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from portal_api.auth import AdminCaller
from portal_api.openapi import ADMIN_ONLY, NEEDS_STORE
from sync_service.ops.lag import LagSampler
from sync_service.ops.lag_report import LagReport

__all__ = ["router"]

router = APIRouter(prefix="/ops", tags=["ops"], responses=NEEDS_STORE)


@router.get("/lag", response_model=LagReport, responses=ADMIN_ONLY)
async def lag(request: Request, caller: AdminCaller) -> LagReport:
    """Lag per consumer group and partition, per map and projection, and of the relay."""
    sampler: LagSampler = request.app.state.lag_sampler
    return await sampler.sample()  # Kafka or PostgreSQL away: 503 (portal_api.unavailable)
