"""Redeeming an invitation code: the one path of `POST /invitations/redeem` and the portal's page.

Anyone may try; failures are counted in the shared throttle (every API process alike) and past
its limit the client gets 429 with Retry-After.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid4

from fastapi import Request

from contracts.commands import RedeemInvitation
from portal_api.clock import now
from portal_api.dispatch import dispatch
from portal_api.problems import Problem
from sync_service.domain.credentials import (
    credential_expiry,
    credential_id,
    hash_secret,
    new_secret,
)
from sync_service.domain.invitations import RedemptionRefusal, redemption_refusal
from sync_service.metrics import COMMANDS_REFUSED
from sync_service.settings import Settings
from sync_service.signin.base import FailureThrottle, Reservation
from sync_service.writemodel.base import WriteModelReader

__all__ = [
    "Redemption",
    "client_key",
    "redeem_invitation",
    "refuse_while_throttled",
    "reserve_or_refuse",
]

# A distinct answer for each refusal, so that the portal can tell the person what to do.
_REFUSALS = {
    RedemptionRefusal.UNKNOWN: 404,
    RedemptionRefusal.EXPIRED: 410,
    RedemptionRefusal.USED_UP: 409,
    RedemptionRefusal.WRONG_CONTACT: 409,
}
_REFUSAL_TEXT = {refusal.message: refusal for refusal in RedemptionRefusal}


@dataclass(frozen=True, slots=True, kw_only=True)
class Redemption:
    """A redeemed invitation: the contact's new API credential (shown once) and its state."""

    contact_id: UUID
    credential: str
    credential_id: UUID
    expires_at: datetime
    command_id: UUID
    accepted: bool
    """False: the command is on Kafka but its outcome did not arrive within the wait."""


def client_key(request: Request) -> str:
    """The throttle's key for the client that sent `request`: its address."""
    return f"address:{request.client.host if request.client else 'unknown'}"


async def refuse_while_throttled(throttle: FailureThrottle, keys: list[str]) -> None:
    """Raise 429 with Retry-After while one of `keys` has used up its failed attempts."""
    wait = await throttle.retry_after(keys)
    if wait is not None:
        raise Problem(
            429, "too many failed attempts; try again later", headers={"Retry-After": str(wait)}
        )


async def reserve_or_refuse(throttle: FailureThrottle, keys: list[str]) -> Reservation:
    """Reserve an attempt for `keys`, or raise 429 with Retry-After while one must wait."""
    reservation = await throttle.reserve(keys)
    if reservation.wait is not None:
        raise Problem(
            429,
            "too many failed attempts; try again later",
            headers={"Retry-After": str(reservation.wait)},
        )
    return reservation


def _refusal_problem(refusal: RedemptionRefusal) -> Problem:
    return Problem(
        _REFUSALS[refusal],
        refusal.message,
        type_=f"urn:dualsync:problem:invitation-{refusal.value.replace('_', '-')}",
        extra={"reason": refusal.value},
    )


async def redeem_invitation(request: Request, code: str) -> Redemption:
    """Redeem `code`: its contact and new credential, or a Problem (404/409/410/429)."""
    throttle: FailureThrottle = request.app.state.redeem_throttle
    client = [client_key(request)]
    # Counted as failed before anything is awaited (concurrent guesses cannot all pass a
    # check made first); given back unless the code is refused.
    reservation = await reserve_or_refuse(throttle, client)
    refused = False
    try:
        return await _redeem(request, code)
    except Problem as problem:
        refused = problem.status in _REFUSED  # not a 503: the code was never judged
        raise
    finally:
        if not refused:
            await throttle.release(reservation)


_REFUSED = frozenset(_REFUSALS.values())


async def _redeem(request: Request, code: str) -> Redemption:
    reader: WriteModelReader = request.app.state.reader
    code_hash = hash_secret(code)
    invitation = await reader.invitation_by_code_hash(code_hash)
    settings: Settings = request.app.state.settings
    redeemed_at = now(request)
    refusal = redemption_refusal(invitation, redeemed_at)
    if refusal is not None:
        COMMANDS_REFUSED.labels(RedeemInvitation.message_type, refusal.value).inc()
        raise _refusal_problem(refusal)
    assert invitation is not None
    credential, command_id = new_secret(), uuid4()
    expires_at = credential_expiry(redeemed_at, settings.credential_ttl_days)
    command = RedeemInvitation(
        command_id=command_id,
        issued_by=str(invitation.contact_id),
        invitation_id=invitation.invitation_id,
        code_hash=code_hash,
        contact_id=invitation.contact_id,
        credential_hash=hash_secret(credential),
        credential_expires_at=expires_at,
    )
    contact = await reader.contact(invitation.contact_id)
    sent = await dispatch(request, command, company=contact.company if contact else None, wait=True)
    if sent.outcome is not None and sent.outcome.status == "rejected":
        # Lost a race (e.g. the last redemption of a group code went to another request).
        messages = [error.message for error in sent.outcome.errors]
        known = [_REFUSAL_TEXT[m] for m in messages if m in _REFUSAL_TEXT]
        if known:
            raise _refusal_problem(known[0])
        raise Problem(409, "the invitation could not be redeemed", errors=sent.outcome.errors)
    return Redemption(
        contact_id=invitation.contact_id,
        credential=credential,
        credential_id=credential_id(hash_secret(credential)),
        expires_at=expires_at,
        command_id=command_id,
        accepted=sent.outcome is not None,
    )
