"""A contact's own credentials: see them, and revoke one (a lost device, a leaked script)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request

from portal_api.administration import contact_credentials, revoke_credential
from portal_api.auth import IdentifiedCaller
from portal_api.dispatch import pending_response
from portal_api.openapi import NEEDS_STORE, WITH_PARAMETERS, problem_answers
from portal_api.problems import Problem
from portal_api.schemas import CredentialView, RevocationPending
from sync_service.domain.roles import Caller

__all__ = ["router"]

router = APIRouter(prefix="/credentials", tags=["credentials"], responses=NEEDS_STORE)


def _own_contact(caller: Caller) -> UUID:
    if caller.contact_id is None:  # the bootstrap administrator: a setting, not a credential
        raise Problem(404, "the bootstrap administrator has no credentials of its own")
    return caller.contact_id


@router.get("", response_model=list[CredentialView], responses=problem_answers(401, 404))
async def own_credentials(caller: IdentifiedCaller, request: Request) -> list[CredentialView]:
    """The caller's own credentials, newest first (the one in use among them)."""
    return await contact_credentials(request, _own_contact(caller))


@router.post(
    "/{credential_id}/revoke",
    response_model=CredentialView,
    responses={
        202: {"model": RevocationPending, "description": "accepted; the outcome is not known yet"},
        **problem_answers(401, 404, 409),
        **WITH_PARAMETERS,
    },
)
async def revoke_own(credential_id: UUID, caller: IdentifiedCaller, request: Request) -> Any:
    """Revoke one of the caller's own credentials (even the one sending this); 200 once it
    gets 401."""
    revoked = await revoke_credential(request, caller, _own_contact(caller), credential_id)
    if revoked.credential is None:
        return pending_response(revoked.command_id)
    return revoked.credential
