"""Who is looking at a page: the same Caller as the JSON API, found from the portal's session.

A page never decides what a web role may do; it asks the Caller (sync_service.domain.roles),
as the JSON routes do, and answers "not found" where the API answers 404.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated, Final

from fastapi import Depends, Request
from starlette.datastructures import FormData

from contracts.cds import Contact
from portal_api.auth import current_caller
from portal_api.portal_session import signed_in
from portal_web.sessions import form_token
from sync_service.domain.roles import Caller
from sync_service.writemodel.base import WriteModelReader

__all__ = [
    "CSRF_FIELD",
    "AdminVisitor",
    "AnyVisitor",
    "CheckedForm",
    "OrderingVisitor",
    "PageNotFound",
    "PageRefused",
    "RepresentativeVisitor",
    "SignInRequired",
    "SignedInVisitor",
    "Visitor",
    "visitor",
]

CSRF_FIELD: Final = "csrf_token"
"""The hidden field every form posts (templates/forms.html `csrf()`)."""


@dataclass(frozen=True, slots=True)
class Visitor:
    """The caller behind a page request, with what the header and the forms need."""

    caller: Caller
    name: str | None = None
    """The contact's full name for the header; None for the anonymous or bootstrap visitor."""
    csrf_token: str | None = None
    """What this visitor's forms must post back in CSRF_FIELD: the session's token, the anonymous
    visitor's double-submit cookie token; None for a bearer client (no cookie signs it in)."""

    @property
    def signed_in(self) -> bool:
        """False for the anonymous visitor (the Unauthorized user without a contact)."""
        return self.caller != Caller.anonymous()

    @property
    def role_label(self) -> str:
        """The web role in the words of the seed, for the header."""
        caller = self.caller
        if caller.is_admin:
            return "Administrator"
        if caller.is_customer_representative:
            return "Customer representative"
        if caller.is_authorized:
            return "Authorized user"
        return "No web role" if self.signed_in else "Not signed in"


class SignInRequired(Exception):
    """The page needs a signed-in visitor: the answer is a redirect to the sign-in page."""


class PageRefused(Exception):
    """Signed in, but the web role does not open this page (403, said in plain words)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PageNotFound(Exception):
    """Nothing to show, or nothing this visitor may see: 404, as the API answers."""


async def visitor(request: Request) -> Visitor:
    """The visitor of this request: bearer credential, else the portal session, else anonymous."""
    if request.headers.get("authorization"):
        # An API client reading a page: no cookie signs it in, so no CSRF token is needed.
        found = await _named(request, await current_caller(request))
    else:
        found = await _session_visitor(request)
    request.state.visitor = found  # for the refusal pages' header (portal_web.routing)
    return found


async def _session_visitor(request: Request) -> Visitor:
    """The session's contact with the web roles its record has NOW, or the anonymous visitor."""
    found = await signed_in(request)
    if found is not None:
        name = _full_name(found.contact)
        return Visitor(found.caller, name=name, csrf_token=found.session.csrf_token)
    # The anonymous forms (sign-in, invitation) post a double-submit token: login CSRF fails.
    return Visitor(Caller.anonymous(), csrf_token=form_token(request))


async def _named(request: Request, caller: Caller) -> Visitor:
    name = None
    if caller.contact_id is not None:
        reader: WriteModelReader = request.app.state.reader
        contact = await reader.contact(caller.contact_id)
        if contact is not None:
            name = _full_name(contact)
    return Visitor(caller, name=name, csrf_token=None)


def _full_name(contact: Contact) -> str | None:
    return " ".join(p for p in (contact.first_name, contact.last_name) if p) or None


async def _signed_in(found: Annotated[Visitor, Depends(visitor)]) -> Visitor:
    if not found.signed_in:
        raise SignInRequired
    return found


async def _ordering(found: Annotated[Visitor, Depends(_signed_in)]) -> Visitor:
    if not found.caller.may_submit_orders:
        raise PageRefused("Your access to the portal has not been granted yet.")
    return found


async def _representative(found: Annotated[Visitor, Depends(_signed_in)]) -> Visitor:
    if not found.caller.is_customer_representative:
        raise PageRefused("This page is for a customer representative.")
    return found


async def _admin(found: Annotated[Visitor, Depends(_signed_in)]) -> Visitor:
    if not found.caller.is_admin:
        raise PageRefused("This page is for an Administrator.")
    return found


async def _checked_form(request: Request, found: Annotated[Visitor, Depends(visitor)]) -> FormData:
    """The posted form, once its CSRF token matches the visitor's (a bearer client needs none)."""
    form = await request.form()
    if found.csrf_token is None and request.headers.get("authorization"):
        return form
    posted = form.get(CSRF_FIELD)
    expected = found.csrf_token
    if (
        not isinstance(posted, str)
        or not expected
        or not hmac.compare_digest(posted.encode(), expected.encode())
    ):
        raise PageRefused(
            "This form has expired or did not come from the portal. Go back, reload the page "
            "and send it again."
        )
    return form


AnyVisitor = Annotated[Visitor, Depends(visitor)]
SignedInVisitor = Annotated[Visitor, Depends(_signed_in)]
OrderingVisitor = Annotated[Visitor, Depends(_ordering)]
RepresentativeVisitor = Annotated[Visitor, Depends(_representative)]
AdminVisitor = Annotated[Visitor, Depends(_admin)]
CheckedForm = Annotated[FormData, Depends(_checked_form)]
