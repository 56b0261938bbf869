"""Redeeming an invitation code for an API credential (anyone may try; failures are throttled)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from contracts.commands import RedeemInvitation
from portal_api.dispatch import dispatch, pending_response
from portal_api.limits import FailureThrottle
from portal_api.openapi import NEEDS_STORE, WITH_BODY, problem_answers
from portal_api.problems import Problem
from portal_api.schemas import RedeemBody, Redeemed, RedemptionPending
from sync_service.domain.credentials import hash_secret, new_secret
from sync_service.domain.invitations import RedemptionRefusal, redemption_refusal
from sync_service.metrics import COMMANDS_REFUSED
from sync_service.writemodel.base import WriteModelReader

__all__ = ["router"]

router = APIRouter(prefix="/invitations", tags=["invitations"], responses=NEEDS_STORE)

# A distinct answer for each refusal, so that the portal can tell the person what to do.
_REFUSALS = {
    RedemptionRefusal.UNKNOWN: 404,
    RedemptionRefusal.EXPIRED: 410,
    RedemptionRefusal.USED_UP: 409,
    RedemptionRefusal.WRONG_CONTACT: 409,
}
_REFUSAL_TEXT = {refusal.message: refusal for refusal in RedemptionRefusal}


def _refusal_problem(refusal: RedemptionRefusal) -> Problem:
    return Problem(
        _REFUSALS[refusal],
        refusal.message,
        type_=f"urn:dualsync:problem:invitation-{refusal.value.replace('_', '-')}",
        extra={"reason": refusal.value},
    )


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


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
    throttle: FailureThrottle = request.app.state.redeem_throttle
    reader: WriteModelReader = request.app.state.reader
    client = _client(request)
    throttle.check(client)
    code_hash = hash_secret(body.code)
    invitation = await reader.invitation_by_code_hash(code_hash)
    refusal = redemption_refusal(invitation, datetime.now(UTC))
    if refusal is not None:
        throttle.record_failure(client)
        COMMANDS_REFUSED.labels(RedeemInvitation.message_type, refusal.value).inc()
        raise _refusal_problem(refusal)
    assert invitation is not None
    credential, command_id = new_secret(), uuid4()
    command = RedeemInvitation(
        command_id=command_id,
        issued_by=str(invitation.contact_id),
        invitation_id=invitation.invitation_id,
        code_hash=code_hash,
        contact_id=invitation.contact_id,
        credential_hash=hash_secret(credential),
    )
    contact = await reader.contact(invitation.contact_id)
    sent = await dispatch(
        request,
        command,
        company=contact.company if contact else None,
        wait=True,
    )
    if sent.outcome is None:
        extra = {"credential": credential, "contact_id": str(invitation.contact_id)}
        return pending_response(command_id, extra)
    if sent.outcome.status == "rejected":
        # Lost a race (e.g. the last redemption of a group code went to another request).
        messages = [error.message for error in sent.outcome.errors]
        known = [_REFUSAL_TEXT[m] for m in messages if m in _REFUSAL_TEXT]
        throttle.record_failure(client)
        if known:
            raise _refusal_problem(known[0])
        raise Problem(409, "the invitation could not be redeemed", errors=sent.outcome.errors)
    contact = await reader.contact(invitation.contact_id)
    roles = sorted(contact.web_roles) if contact else []
    answer = Redeemed(credential=credential, contact_id=invitation.contact_id, web_roles=roles)
    return JSONResponse(answer.model_dump(mode="json"))
