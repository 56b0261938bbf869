"""Submitting an order (SPEC §3): checked at once, then accepted onto Kafka as `pending`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse

from contracts.bounds import SINGLE_LINE_PATTERN
from portal_api.auth import OrderingCaller
from portal_api.openapi import NEEDS_STORE, SIGNED_IN, WITH_BODY
from portal_api.ordering import submit_order as submit
from portal_api.schemas import OrderAccepted, OrderBody

__all__ = ["router"]

router = APIRouter(tags=["orders"], responses=NEEDS_STORE)


@router.post(
    "/orders",
    response_model=OrderAccepted,
    status_code=202,
    responses={**SIGNED_IN, **WITH_BODY},
)
async def submit_order(
    body: OrderBody,
    caller: OrderingCaller,
    request: Request,
    idempotency_key: Annotated[
        str | None, Header(min_length=1, max_length=200, pattern=SINGLE_LINE_PATTERN)
    ] = None,
) -> Any:
    """202 `pending` once the order is durably on Kafka; 422 listing every problem."""
    accepted = await submit(request, caller, body, idempotency_key)
    return JSONResponse(
        accepted.model_dump(mode="json"),
        status_code=202,
        headers={"Location": f"/orders/{accepted.order_id}"},
    )
