"""Redeeming an invitation code for an API credential (anyone may try; failures are throttled)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from portal_api.dispatch import pending_response
from portal_api.openapi import NEEDS_STORE, WITH_BODY, problem_answers
from portal_api.redemption import redeem_invitation
from portal_api.schemas import RedeemBody, Redeemed, RedemptionPending
from sync_service.writemodel.base import WriteModelReader

__all__ = ["router"]

router = APIRouter(prefix="/invitations", tags=["invitations"], responses=NEEDS_STORE)


@router.post(
    "/redeem",
    response_model=Redeemed,
    responses={
        202: {"model": RedemptionPending, "description": "accepted; the outcome is not known yet"},
        **problem_answers(404, 409, 410, 429),
        **WITH_BODY,
    },
)
async def redeem(body: RedeemBody, request: Request) -> Any:
    """200 with a credential for the invited contact; 404/410/409 for unknown/expired/used."""
    redeemed = await redeem_invitation(request, body.code)
    if not redeemed.accepted:
        extra = {
            "credential": redeemed.credential,
            "credential_id": str(redeemed.credential_id),
            "expires_at": redeemed.expires_at.isoformat(),
            "contact_id": str(redeemed.contact_id),
        }
        return pending_response(redeemed.command_id, extra)
    reader: WriteModelReader = request.app.state.reader
    contact = await reader.contact(redeemed.contact_id)
    roles = sorted(contact.web_roles) if contact else []
    answer = Redeemed(
        credential=redeemed.credential,
        credential_id=redeemed.credential_id,
        expires_at=redeemed.expires_at,
        contact_id=redeemed.contact_id,
        web_roles=roles,
    )
    return JSONResponse(answer.model_dump(mode="json"))
