"""The portal's browser session as the API sees it: the cookie, resolved to a signed-in contact.

The pages (portal_web) sign people in and out; the ops page and its JSON endpoints accept the
same session for an Administrator. Resolved on every request to the contact's CURRENT web
roles, so that a role taken away takes the pages away at the next request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from fastapi import Request

from contracts.cds import Contact
from sync_service.domain.roles import Caller
from sync_service.signin.base import PortalSession, SessionStore
from sync_service.writemodel.base import WriteModelReader

__all__ = ["SESSION_COOKIE", "SignedIn", "signed_in"]

SESSION_COOKIE: Final = "dualsync_session"


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A live portal session, its contact record and the Caller with the roles it has now."""

    caller: Caller
    contact: Contact
    session: PortalSession


async def signed_in(request: Request) -> SignedIn | None:
    """The request's live portal session; None without one (an expired one is gone)."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        return None
    sessions: SessionStore = request.app.state.sessions
    session = await sessions.resume(session_id)
    if session is None:
        return None
    reader: WriteModelReader = request.app.state.reader
    contact = await reader.contact(session.contact_id)
    if contact is None:
        return None
    caller = Caller.contact(contact.contact_id, list(contact.web_roles))
    return SignedIn(caller, contact, session)
