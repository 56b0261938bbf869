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
from contracts.commands import InviteContact, UpsertContact
from portal_api.dispatch import dispatch, refused
from portal_api.problems import Problem
from portal_api.schemas import ContactBody, InvitationCreated, InviteBody
from sync_service.domain.credentials import hash_secret, new_secret
from sync_service.domain.invitations import invitation_expiry, invitation_problems
from sync_service.domain.roles import Caller
from sync_service.metrics import COMMANDS_REFUSED
from sync_service.settings import Settings
from sync_service.writemodel.base import WriteModelReader

__all__ = ["IssuedInvitation", "SavedContact", "issue_invitation", "save_contact"]


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
