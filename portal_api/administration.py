"""What an administrator's request does, for the JSON routes and the portal's pages alike.

`save_contact` and `issue_invitation` send the command and wait for its outcome; a refusal is
the API's Problem with the fields at fault. The callers only turn the result into an answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID, uuid4

from fastapi import Request

from contracts.cds import Contact
from contracts.commands import InviteContact, RevokeCredential, UpsertContact
from contracts.errors import FieldError
from portal_api.clock import now
from portal_api.dispatch import dispatch, refused
from portal_api.problems import Problem
from portal_api.schemas import ContactBody, CredentialView, InvitationCreated, InviteBody
from sync_service.domain.credentials import (
    REVOKED_BEFORE,
    UNKNOWN_CREDENTIAL,
    CredentialRefusal,
    CredentialState,
    credential_refusal,
    hash_secret,
    new_secret,
    revocation_problems,
)
from sync_service.domain.invitations import invitation_expiry, invitation_problems
from sync_service.domain.roles import Caller
from sync_service.metrics import COMMANDS_REFUSED
from sync_service.settings import Settings
from sync_service.writemodel.base import WriteModelReader

__all__ = [
    "IssuedInvitation",
    "RevokedCredential",
    "SavedContact",
    "contact_credentials",
    "issue_invitation",
    "revoke_credential",
    "save_contact",
]


@dataclass(frozen=True, slots=True)
class SavedContact:
    """An accepted UpsertContact: the record as stored, or None while its outcome is pending."""

    command_id: UUID
    contact: Contact | None


@dataclass(frozen=True, slots=True)
class IssuedInvitation:
    """An InviteContact sent: the code (shown now or never), and whether it is still pending."""

    command_id: UUID
    created: InvitationCreated
    pending: bool


@dataclass(frozen=True, slots=True)
class RevokedCredential:
    """A RevokeCredential sent: the credential as stored once revoked, or None while pending."""

    command_id: UUID
    credential: CredentialView | None


async def save_contact(
    request: Request, caller: Caller, contact_id: UUID, body: ContactBody
) -> SavedContact:
    """Create or update the contact record; a Problem when the command is refused."""
    command_id = uuid4()
    command = UpsertContact(
        command_id=command_id, issued_by=caller.actor, contact_id=contact_id, **body.model_dump()
    )
    sent = await dispatch(request, command, company=body.company, wait=True)
    if sent.outcome is None:
        return SavedContact(command_id, None)
    if sent.outcome.status == "rejected":
        raise refused(sent.outcome)
    reader: WriteModelReader = request.app.state.reader
    contact = await reader.contact(contact_id)
    if contact is None:  # accepted means written: this would be a bug, not bad input
        raise Problem(500, "the contact was accepted but cannot be read back")
    return SavedContact(command_id, contact)


async def issue_invitation(request: Request, caller: Caller, body: InviteBody) -> IssuedInvitation:
    """Invite a contact whose Company and Account Number are set; a Problem naming what is not."""
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
    sent = await dispatch(request, command, company=contact.company, wait=True)
    created = InvitationCreated(
        invitation_id=invitation_id,
        contact_id=body.contact_id,
        code=code,
        kind=body.kind,
        max_redemptions=max_redemptions,
        expires_at=expires_at,
    )
    if sent.outcome is not None and sent.outcome.status == "rejected":
        raise refused(sent.outcome)
    return IssuedInvitation(command_id, created, pending=sent.outcome is None)


def credential_view(credential: CredentialState, at: datetime) -> CredentialView:
    """A credential as administrators see it, with its status at `at`."""
    refusal = credential_refusal(credential, at)
    return CredentialView(
        credential_id=credential.credential_id,
        contact_id=credential.contact_id,
        invitation_id=credential.invitation_id,
        status="active" if refusal is None else refusal.value,
        created_at=credential.created_at,
        expires_at=credential.expires_at,
        revoked_at=credential.revoked_at,
        revoked_by=credential.revoked_by,
    )


async def contact_credentials(request: Request, contact_id: UUID) -> list[CredentialView]:
    """The contact's credentials, newest first; 404 when there is no such contact."""
    reader: WriteModelReader = request.app.state.reader
    if await reader.contact(contact_id) is None:
        raise Problem(404, "no contact has this id")
    at = now(request)
    return [credential_view(found, at) for found in await reader.credentials_of(contact_id)]


async def revoke_credential(
    request: Request, caller: Caller, contact_id: UUID, credential_id: UUID
) -> RevokedCredential:
    """Revoke one of the contact's credentials; once accepted, the very next request with it
    gets 401. A Problem: 404 (no such contact or credential), 409 (revoked before)."""
    reader: WriteModelReader = request.app.state.reader
    contact = await reader.contact(contact_id)
    if contact is None:
        raise Problem(404, "no contact has this id")
    current = {found.credential_id: found for found in await reader.credentials_of(contact_id)}
    problems = revocation_problems(caller, contact_id, current.get(credential_id))
    if problems:
        COMMANDS_REFUSED.labels(RevokeCredential.message_type, "invalid").inc()
        raise _revocation_problem(problems)
    command = RevokeCredential(
        command_id=uuid4(),
        issued_by=caller.actor,
        contact_id=contact_id,
        credential_id=credential_id,
    )
    sent = await dispatch(request, command, company=contact.company, wait=True)
    if sent.outcome is None:
        return RevokedCredential(command.command_id, None)
    if sent.outcome.status == "rejected":
        raise _revocation_problem(sent.outcome.errors)
    revoked = {found.credential_id: found for found in await reader.credentials_of(contact_id)}
    view = credential_view(revoked[credential_id], now(request))
    if view.status != CredentialRefusal.REVOKED.value:  # accepted means written: a bug
        raise Problem(500, "the revocation was accepted but cannot be read back")
    return RevokedCredential(command.command_id, view)


def _revocation_problem(problems: list[FieldError]) -> Problem:
    messages = {problem.message for problem in problems}
    if UNKNOWN_CREDENTIAL in messages:
        return Problem(404, UNKNOWN_CREDENTIAL, errors=problems)
    if REVOKED_BEFORE in messages:
        return Problem(409, REVOKED_BEFORE, errors=problems)
    if any(problem.field == "issued_by" for problem in problems):
        return Problem(403, problems[0].message, errors=problems)
    return Problem(422, "RevokeCredential was refused", errors=problems)
