"""Invitation rules (SPEC §3): who may be invited, expiry, and when a code may be redeemed.

A Single invitation is redeemed once; a Group invitation up to `max_redemptions` times. Either
kind names one contact, and every redemption is by that contact: each one issues a further
credential for it (e.g. one per device or integration). So a redemption never creates or
chooses a contact, and a code can never sign somebody in as a contact an admin did not invite.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from contracts.cds import Contact
from contracts.errors import FieldError
from sync_service.domain.roles import Caller

__all__ = [
    "InvitationState",
    "InvitationStatus",
    "RedemptionRefusal",
    "invitation_expiry",
    "invitation_problems",
    "invitation_status",
    "redemption_refusal",
]


class RedemptionRefusal(enum.Enum):
    """Why a code cannot be redeemed; each has its own API answer."""

    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED_UP = "used_up"
    WRONG_CONTACT = "wrong_contact"

    @property
    def message(self) -> str:
        """A sentence for the API's problem details."""
        return _MESSAGES[self]


_MESSAGES = {
    RedemptionRefusal.UNKNOWN: "no invitation has this code",
    RedemptionRefusal.EXPIRED: "the invitation has expired",
    RedemptionRefusal.USED_UP: "the invitation has been redeemed as often as it may be",
    RedemptionRefusal.WRONG_CONTACT: "the invitation was issued to another contact",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class InvitationState:
    """An issued invitation as the write model holds it."""

    invitation_id: UUID
    contact_id: UUID
    kind: str
    max_redemptions: int
    redemptions: int
    expires_at: datetime


def invitation_expiry(now: datetime, ttl_days: int) -> datetime:
    """When a code issued at `now` stops working (`settings.invitation_ttl_days`)."""
    return now + timedelta(days=ttl_days)


def invitation_problems(
    caller: Caller, contact: Contact | None, *, kind: str = "single", max_redemptions: int = 1
) -> list[FieldError]:
    """Every reason `caller` may not invite `contact` this way; empty when it may."""
    problems: list[FieldError] = []
    if not caller.may_invite:
        problems.append(FieldError(field="issued_by", message="only an administrator may invite"))
    if contact is None:
        problems.append(FieldError(field="contact_id", message="no contact has this id"))
    else:
        # The seed's prerequisite: the legal entity and customer account decide what they see.
        if not contact.company:
            problems.append(_missing("contact.company", "Company (legal entity)"))
        if not contact.account_number:
            problems.append(_missing("contact.account_number", "Account Number"))
    if kind not in ("single", "group"):
        problems.append(FieldError(field="kind", message="must be single or group"))
    elif kind == "single" and max_redemptions != 1:
        problems.append(
            FieldError(field="max_redemptions", message="a single invitation is redeemed once")
        )
    elif max_redemptions < 1:
        problems.append(FieldError(field="max_redemptions", message="must be 1 or more"))
    return problems


def redemption_refusal(
    invitation: InvitationState | None, now: datetime, contact_id: UUID | None = None
) -> RedemptionRefusal | None:
    """Why the invitation cannot be redeemed at `now` (by `contact_id`, if given), or None."""
    if invitation is None:
        return RedemptionRefusal.UNKNOWN
    if _expired(invitation, now):
        return RedemptionRefusal.EXPIRED
    if _used_up(invitation):
        return RedemptionRefusal.USED_UP
    if contact_id is not None and contact_id != invitation.contact_id:
        return RedemptionRefusal.WRONG_CONTACT
    return None


class InvitationStatus(enum.Enum):
    """Where an invitation stands, as an administrator sees it in the list."""

    OPEN = "open"
    REDEEMED = "redeemed"
    EXPIRED = "expired"


def invitation_status(invitation: InvitationState, now: datetime) -> InvitationStatus:
    """Open while its code may be redeemed; redeemed once used up (also after it expired)."""
    # Used up first: an invitation that did its job is "redeemed", not "expired", for ever.
    if _used_up(invitation):
        return InvitationStatus.REDEEMED
    if _expired(invitation, now):
        return InvitationStatus.EXPIRED
    return InvitationStatus.OPEN


def _expired(invitation: InvitationState, now: datetime) -> bool:
    return now >= invitation.expires_at


def _used_up(invitation: InvitationState) -> bool:
    return invitation.redemptions >= invitation.max_redemptions


def _missing(field: str, label: str) -> FieldError:
    return FieldError(field=field, message=f"the contact's {label} must be set before inviting")
