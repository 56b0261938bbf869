"""Administration (issue 12 item 7): find, create and edit contacts; invite them; invitations;
a contact's credentials, and revoking one (issue 16).

Every save and invitation goes through portal_api.administration, as the JSON routes do; the
pages only turn forms into the API's request bodies and the API's refusals into messages.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Final
from urllib.parse import urlencode
from uuid import UUID, uuid4

from fastapi import Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.requests import Request

from contracts.cds import Contact
from contracts.errors import FieldError
from portal_api.administration import (
    contact_credentials,
    issue_invitation,
    revoke_credential,
    save_contact,
)
from portal_api.problems import Problem, validated
from portal_api.schemas import ContactBody, ContactSearch, CredentialView, InviteBody
from portal_web.pages.admin_forms import (
    CONTACT_FIELDS,
    WEB_ROLE_CHOICES,
    contact_data,
    contact_values,
    invite_data,
    posted_text,
    role_names,
    sort_errors,
    values_with,
)
from portal_web.routing import page_router
from portal_web.templating import render
from portal_web.visitor import AdminVisitor, CheckedForm, PageNotFound, Visitor
from sync_service.settings import Settings
from sync_service.writemodel.base import ListedInvitation, WriteModelReader

__all__ = ["router"]

router = page_router()

PAGE_SIZE: Final = 25
_CONTACT_FORM_FIELDS: Final = [field.name for field in CONTACT_FIELDS] + ["web_roles"]
_INVITE_FORM_FIELDS: Final = ("email", "kind", "max_redemptions", "expires_in_days")


def _reader(request: Request) -> WriteModelReader:
    reader: WriteModelReader = request.app.state.reader
    return reader


def _page_number(text: str) -> int:
    # A page number is the pages' own paging, not an API parameter: a bad one is page 1.
    return int(text) if text.isdigit() and 0 < len(text) < 6 and int(text) > 0 else 1


def _path_id(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise PageNotFound from None


# --- contacts -----------------------------------------------------------------------------


@router.get("/admin/contacts", response_class=HTMLResponse)
async def find_contacts(
    request: Request, visitor: AdminVisitor, email: str = "", page: str = "1"
) -> HTMLResponse:
    """Contacts with an e-mail address (as `GET /admin/contacts?email=`), else all, by name."""
    reader = _reader(request)
    number = _page_number(page)
    context: dict[str, Any] = {"email": email, "email_error": None, "page": number}
    if email.strip():
        try:
            search = validated(ContactSearch, {"email": email})
        except Problem as invalid:
            context |= {"email_error": invalid.errors[0].message, "contacts": [], "more": False}
            return render(
                request,
                visitor,
                "admin/contacts.html",
                status=422,
                title="Contacts",
                role_names=role_names,
                **context,
            )
        found = await reader.contacts_by_email(search.email)
        context |= {"contacts": found, "more": False}
    else:
        listed = await reader.contacts(limit=PAGE_SIZE + 1, offset=(number - 1) * PAGE_SIZE)
        context |= {"contacts": listed[:PAGE_SIZE], "more": len(listed) > PAGE_SIZE}
    return render(
        request, visitor, "admin/contacts.html", title="Contacts", role_names=role_names, **context
    )


@router.get("/admin/contacts/new", response_class=HTMLResponse)
async def new_contact(request: Request, visitor: AdminVisitor) -> HTMLResponse:
    """An empty contact form; its id is chosen now, so that sending it twice makes one contact."""
    return _contact_page(request, visitor, uuid4(), None, values=contact_values(None))


@router.get("/admin/contacts/{contact_id}", response_class=HTMLResponse)
async def edit_contact(
    request: Request,
    visitor: AdminVisitor,
    contact_id: str,
    saved: Annotated[str | None, Query()] = None,
) -> HTMLResponse:
    """The contact's record in a form, its invitations, and Invite."""
    found_id = _path_id(contact_id)
    contact = await _reader(request).contact(found_id)
    if contact is None and saved != "pending":
        raise PageNotFound
    return await _saved_contact_page(request, visitor, found_id, contact, saved=saved)


async def _saved_contact_page(
    request: Request,
    visitor: Visitor,
    contact_id: UUID,
    contact: Contact | None,
    *,
    saved: str | None = None,
    revoke_problem: Problem | None = None,
) -> HTMLResponse:
    """The page of a stored contact: its record, invitations and credentials."""
    credentials: list[CredentialView] = []
    if contact is not None:
        credentials = await contact_credentials(request, contact_id)
    return _contact_page(
        request,
        visitor,
        contact_id,
        contact,
        values=contact_values(contact),
        saved=saved,
        invitations=await _reader(request).invitations(
            datetime.now(UTC), limit=PAGE_SIZE, contact_id=contact_id
        ),
        credentials=credentials,
        revoke_problem=revoke_problem,
    )


@router.post(
    "/admin/contacts/{contact_id}/credentials/{credential_id}/revoke",
    response_class=HTMLResponse,
)
async def revoke_credential_form(
    request: Request, visitor: AdminVisitor, form: CheckedForm, contact_id: str, credential_id: str
) -> Response:
    """Revoke as `POST /admin/contacts/{id}/credentials/{credential_id}/revoke` does."""
    found_id, revoked_id = _path_id(contact_id), _path_id(credential_id)
    try:
        revoked = await revoke_credential(request, visitor.caller, found_id, revoked_id)
    except Problem as refused:
        contact = await _reader(request).contact(found_id)
        if refused.status not in (404, 409) or contact is None:
            raise
        page = await _saved_contact_page(
            request, visitor, found_id, contact, revoke_problem=refused
        )
        page.status_code = refused.status
        return page
    outcome = "yes" if revoked.credential is not None else "pending"
    location = f"/portal/admin/contacts/{found_id}?{urlencode({'revoked': outcome})}"
    return RedirectResponse(location, status_code=303)


@router.post("/admin/contacts/{contact_id}", response_class=HTMLResponse)
async def save_contact_form(
    request: Request, visitor: AdminVisitor, form: CheckedForm, contact_id: str
) -> Response:
    """Create or update the contact as `PUT /admin/contacts/{contact_id}` does, then show it."""
    found_id = _path_id(contact_id)
    data = contact_data(form)
    try:
        saved = await save_contact(request, visitor.caller, found_id, validated(ContactBody, data))
    except Problem as refused:
        if refused.status != 422:
            raise
        current = await _reader(request).contact(found_id)
        return _contact_page(
            request, visitor, found_id, current, values=values_with(data), problem=refused
        )
    outcome = "yes" if saved.contact is not None else "pending"
    location = f"/portal/admin/contacts/{found_id}?{urlencode({'saved': outcome})}"
    return RedirectResponse(location, status_code=303)


def _contact_page(
    request: Request,
    visitor: Visitor,
    contact_id: UUID,
    contact: Contact | None,
    *,
    values: dict[str, Any],
    saved: str | None = None,
    invitations: list[ListedInvitation] | None = None,
    credentials: list[CredentialView] | None = None,
    revoke_problem: Problem | None = None,
    problem: Problem | None = None,
) -> HTMLResponse:
    errors = sort_errors(problem.errors if problem else [], _CONTACT_FORM_FIELDS)
    heading = "New contact" if contact is None else "Contact"
    settings: Settings = request.app.state.settings
    return render(
        request,
        visitor,
        "admin/contact.html",
        status=problem.status if problem else 200,
        title=heading,
        heading=heading,
        contact=contact,
        contact_id=contact_id,
        values=values,
        errors=errors.at_field,
        problems=[error.message for error in errors.other],
        saved=saved,
        invitations=invitations or [],
        credentials=credentials or [],
        revoked=request.query_params.get("revoked"),
        revoke_problem=revoke_problem.detail if revoke_problem else None,
        fields=CONTACT_FIELDS,
        role_choices=WEB_ROLE_CHOICES,
        ttl_days=settings.invitation_ttl_days,
    )


# --- invitations --------------------------------------------------------------------------


@router.get("/admin/invitations", response_class=HTMLResponse)
async def invitations(request: Request, visitor: AdminVisitor, page: str = "1") -> HTMLResponse:
    """The invitation form, and every invitation with its status (open, redeemed, expired)."""
    return await _invitations_page(request, visitor, page=_page_number(page))


@router.post("/admin/invitations", response_class=HTMLResponse)
async def invite(request: Request, visitor: AdminVisitor, form: CheckedForm) -> HTMLResponse:
    """Invite as `POST /admin/invitations` does; the new code is shown on this answer only."""
    typed = {name: posted_text(form, name) for name in _INVITE_FORM_FIELDS}
    contact_id = posted_text(form, "contact_id") or None
    try:
        contact_id = contact_id or await _contact_id_by_email(request, typed["email"])
        body = validated(InviteBody, invite_data(form, contact_id))
        issued = await issue_invitation(request, visitor.caller, body)
    except Problem as refused:
        if refused.status not in (404, 422):
            raise
        return await _invitations_page(
            request, visitor, typed=typed, problem=refused, contact_id=contact_id
        )
    code = issued.created.code
    return await _invitations_page(
        request,
        visitor,
        status=201,
        issued=issued,
        issued_to=await _reader(request).contact(issued.created.contact_id),
        link=f"{str(request.base_url).rstrip('/')}/portal/invitation?{urlencode({'code': code})}",
    )


async def _contact_id_by_email(request: Request, email: str) -> str:
    """The one contact with this e-mail address (found as `GET /admin/contacts?email=`)."""
    search = validated(ContactSearch, {"email": email})
    found = await _reader(request).contacts_by_email(search.email)
    if len(found) == 1:
        return str(found[0].contact_id)
    message = (
        "several contacts have this e-mail address: invite from the contact's page"
        if found
        else "no contact has this e-mail address"
    )
    raise Problem(422, message, errors=[FieldError(field="email", message=message)])


def _about_contact(field: str) -> bool:
    return field.startswith("contact.")


async def _invitations_page(
    request: Request,
    visitor: Visitor,
    *,
    page: int = 1,
    status: int = 200,
    typed: dict[str, Any] | None = None,
    problem: Problem | None = None,
    contact_id: str | None = None,
    **context: Any,
) -> HTMLResponse:
    settings: Settings = request.app.state.settings
    errors = sort_errors(problem.errors if problem else [], _INVITE_FORM_FIELDS)
    listed = await _reader(request).invitations(
        datetime.now(UTC), limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE
    )
    return render(
        request,
        visitor,
        "admin/invitations.html",
        status=problem.status if problem else status,
        title="Invitations",
        values=typed or dict.fromkeys(_INVITE_FORM_FIELDS, ""),
        errors=errors.at_field,
        problems=[error.message for error in errors.other],
        # A refusal about the contact record links to the page that fixes it.
        fix_contact_id=contact_id if any(_about_contact(e.field) for e in errors.other) else None,
        ttl_days=settings.invitation_ttl_days,
        invitations=listed[:PAGE_SIZE],
        more=len(listed) > PAGE_SIZE,
        page=page,
        **{"issued": None, "issued_to": None, "link": None} | context,
    )
