"""Administrators: contact records, invitations and the contacts' credentials (SPEC §7)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from contracts.bounds import EMAIL_MAX, SINGLE_LINE_PATTERN
from contracts.cds import Contact
from portal_api.administration import (
    contact_credentials,
    issue_invitation,
    revoke_credential,
    save_contact,
)
from portal_api.auth import AdminCaller
from portal_api.dispatch import pending_response
from portal_api.openapi import (
    ADMIN_ONLY,
    NEEDS_STORE,
    WITH_BODY,
    WITH_PARAMETERS,
    problem_answers,
)
from portal_api.schemas import (
    EMAIL_SEARCH_MIN,
    CommandPending,
    ContactBody,
    ContactView,
    CredentialView,
    InvitationCreated,
    InvitationPending,
    InviteBody,
    RevocationPending,
)
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
    saved = await save_contact(request, caller, contact_id, body)
    if saved.contact is None:
        return pending_response(saved.command_id)
    return contact_view(saved.contact)


@router.get(
    "/contacts", response_model=list[ContactView], responses={**ADMIN_ONLY, **WITH_PARAMETERS}
)
async def find_contacts(
    caller: AdminCaller,
    request: Request,
    email: Annotated[
        str,
        Query(min_length=EMAIL_SEARCH_MIN, max_length=EMAIL_MAX, pattern=SINGLE_LINE_PATTERN),
    ],
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
    issued = await issue_invitation(request, caller, body)
    created = issued.created.model_dump(mode="json")
    if issued.pending:
        # The code is shown now or never: it works as soon as the command is accepted.
        return pending_response(issued.command_id, {"invitation": created})
    return JSONResponse(created, status_code=201)


@router.get(
    "/contacts/{contact_id}/credentials",
    response_model=list[CredentialView],
    responses={**ADMIN_ONLY, **problem_answers(404), **WITH_PARAMETERS},
)
async def list_credentials(
    contact_id: UUID, caller: AdminCaller, request: Request
) -> list[CredentialView]:
    """The contact's credentials, newest first, revoked and expired ones too (never a secret)."""
    return await contact_credentials(request, contact_id)


@router.post(
    "/contacts/{contact_id}/credentials/{credential_id}/revoke",
    response_model=CredentialView,
    responses={
        202: {"model": RevocationPending, "description": "accepted; the outcome is not known yet"},
        **ADMIN_ONLY,
        **problem_answers(404, 409),
        **WITH_PARAMETERS,
    },
)
async def revoke(
    contact_id: UUID, credential_id: UUID, caller: AdminCaller, request: Request
) -> Any:
    """Revoke one of the contact's credentials; 200 once it gets 401, from the next request on."""
    revoked = await revoke_credential(request, caller, contact_id, credential_id)
    if revoked.credential is None:
        return pending_response(revoked.command_id)
    return revoked.credential
