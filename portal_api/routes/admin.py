"""Administrators: contact records and invitations (SPEC §7)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from contracts.bounds import SINGLE_LINE_PATTERN
from contracts.cds import Contact
from contracts.commands import InviteContact, UpsertContact
from portal_api.auth import AdminCaller
from portal_api.dispatch import dispatch, pending_response, refused
from portal_api.openapi import (
    ADMIN_ONLY,
    NEEDS_STORE,
    WITH_BODY,
    WITH_PARAMETERS,
    problem_answers,
)
from portal_api.problems import Problem
from portal_api.schemas import (
    CommandPending,
    ContactBody,
    ContactView,
    InvitationCreated,
    InvitationPending,
    InviteBody,
)
from sync_service.domain.credentials import hash_secret, new_secret
from sync_service.domain.invitations import invitation_expiry, invitation_problems
from sync_service.metrics import COMMANDS_REFUSED
from sync_service.settings import Settings
from sync_service.writemodel.base import WriteModelReader

__all__ = ["contact_view", "router"]

router = APIRouter(prefix="/admin", tags=["administration"], responses=NEEDS_STORE)


def contact_view(contact: Contact) -> ContactView:
    """A contact record in the API's JSON names."""
    return ContactView(
        contact_id=contact.contact_id,
        firstname=contact.first_name,
        lastname=contact.last_name,
        email=contact.email,
        company=contact.company,
        account_number=contact.account_number,
        price_list=contact.price_list,
        currency=contact.currency,
        ship_to_country=contact.ship_to_country,
        language=contact.language,
        web_roles=sorted(contact.web_roles or []),
    )


@router.put(
    "/contacts/{contact_id}",
    response_model=ContactView,
    responses={
        202: {"model": CommandPending, "description": "accepted; the outcome is not known yet"},
        **ADMIN_ONLY,
        **WITH_BODY,
    },
)
async def upsert_contact(
    contact_id: UUID, body: ContactBody, caller: AdminCaller, request: Request
) -> Any:
    """Create or update a contact record; 200 once the next invitation can see it."""
    command_id = uuid4()
    command = UpsertContact(
        command_id=command_id, issued_by=caller.actor, contact_id=contact_id, **body.model_dump()
    )
    sent = await dispatch(
        request,
        command,
        company=body.company,
        wait=True,
    )
    if sent.outcome is None:
        return pending_response(command_id)
    if sent.outcome.status == "rejected":
        raise refused(sent.outcome)
    reader: WriteModelReader = request.app.state.reader
    contact = await reader.contact(contact_id)
    if contact is None:  # accepted means written: this would be a bug, not bad input
        raise Problem(500, "the contact was accepted but cannot be read back")
    return contact_view(contact)


@router.get(
    "/contacts", response_model=list[ContactView], responses={**ADMIN_ONLY, **WITH_PARAMETERS}
)
async def find_contacts(
    caller: AdminCaller,
    request: Request,
    email: Annotated[str, Query(min_length=3, max_length=320, pattern=SINGLE_LINE_PATTERN)],
) -> list[ContactView]:
    """Contacts with this email address (case-insensitive)."""
    reader: WriteModelReader = request.app.state.reader
    return [contact_view(contact) for contact in await reader.contacts_by_email(email)]


@router.post(
    "/invitations",
    response_model=InvitationCreated,
    status_code=201,
    responses={
        202: {"model": InvitationPending, "description": "accepted; the outcome is not known yet"},
        **ADMIN_ONLY,
        **problem_answers(404),
        **WITH_BODY,
    },
)
async def invite(body: InviteBody, caller: AdminCaller, request: Request) -> Any:
    """Invite a contact whose Company and Account Number are set; 201 once the code works."""
    settings: Settings = request.app.state.settings
    reader: WriteModelReader = request.app.state.reader
    contact = await reader.contact(body.contact_id)
    max_redemptions = body.max_redemptions or 1
    problems = invitation_problems(caller, contact, kind=body.kind, max_redemptions=max_redemptions)
    if problems:
        status = 404 if contact is None else 422
        reason = "not_found" if contact is None else "invalid"
        COMMANDS_REFUSED.labels(InviteContact.message_type, reason).inc()
        raise Problem(status, "the contact cannot be invited", errors=problems)
    assert contact is not None
    code = new_secret()
    invitation_id, command_id = uuid4(), uuid4()
    expires_at = invitation_expiry(
        datetime.now(UTC), body.expires_in_days or settings.invitation_ttl_days
    )
    command = InviteContact(
        command_id=command_id,
        issued_by=caller.actor,
        invitation_id=invitation_id,
        contact_id=body.contact_id,
        kind=body.kind,
        max_redemptions=max_redemptions,
        code_hash=hash_secret(code),
        expires_at=expires_at,
    )
    sent = await dispatch(
        request,
        command,
        company=contact.company,
        wait=True,
    )
    created = InvitationCreated(
        invitation_id=invitation_id,
        contact_id=body.contact_id,
        code=code,
        kind=body.kind,
        max_redemptions=max_redemptions,
        expires_at=expires_at,
    )
    if sent.outcome is None:
        # The code is shown now or never: it works as soon as the command is accepted.
        return pending_response(command_id, {"invitation": created.model_dump(mode="json")})
    if sent.outcome.status == "rejected":
        raise refused(sent.outcome)
    return JSONResponse(created.model_dump(mode="json"), status_code=201)
