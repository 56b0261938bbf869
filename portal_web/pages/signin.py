"""Signing in and out, and redeeming an invitation in the browser (choosing a password)."""

from __future__ import annotations

from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData
from starlette.requests import Request

from portal_api.problems import Problem
from portal_api.redemption import client_key, redeem_invitation, reserve_or_refuse
from portal_web.routing import page_router
from portal_web.sessions import (
    authenticate,
    end_session,
    local_next,
    passwords,
    sign_in_throttle,
    start_session,
)
from portal_web.templating import render
from portal_web.visitor import AnyVisitor, CheckedForm, Visitor
from sync_service.domain.credentials import hash_secret
from sync_service.signin.passwords import PASSWORD_HINT, password_refusal, set_password
from sync_service.writemodel.base import WriteModelReader

__all__ = ["router"]

router = page_router()

_WRONG = "The e-mail address or the password is not right."
_CODE_WORDS = {
    404: "No invitation has this code. Check the code or the link in your invitation.",
    410: "This invitation has expired. Ask your administrator for a new one.",
    409: "This invitation has already been used. Sign in with your password, or ask your "
    "administrator for a new invitation.",
}


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _too_many(problem: Problem) -> str:
    wait = problem.headers.get("Retry-After", "60")
    return f"Too many failed attempts. Please wait {wait} seconds and try again."


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_page(request: Request, visitor: AnyVisitor, next: str = "") -> HTMLResponse:
    """The sign-in form: e-mail address and password."""
    return _sign_in_form(request, visitor, next=local_next(next))


def _sign_in_form(
    request: Request,
    visitor: Visitor,
    *,
    next: str,
    email: str = "",
    problem: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    return render(
        request,
        visitor,
        "signin/sign_in.html",
        status=status,
        headers=headers,
        title="Sign in",
        next=next,
        email=email,
        problem=problem,
    )


@router.post("/sign-in", response_model=None)
async def sign_in(request: Request, visitor: AnyVisitor, form: CheckedForm) -> Response:
    """Check e-mail and password (throttled per address and per e-mail), then open a session."""
    email, password = _text(form, "email").strip(), _text(form, "password")
    next_page = local_next(_text(form, "next"))
    throttle = sign_in_throttle(request)
    keys = [client_key(request), f"email:{email.casefold()}"]
    try:
        # Counted as failed before the password is checked: concurrent guesses all count.
        reservation = await reserve_or_refuse(throttle, keys)
    except Problem as problem:
        return _sign_in_form(
            request,
            visitor,
            next=next_page,
            email=email,
            problem=_too_many(problem),
            status=429,
            headers=problem.headers,
        )
    contact_id = await authenticate(request, email, password) if email and password else None
    if contact_id is None:
        return _sign_in_form(
            request, visitor, next=next_page, email=email, problem=_WRONG, status=400
        )
    await throttle.release(reservation)
    response = RedirectResponse(next_page, status_code=303)
    await start_session(request, response, contact_id)
    return response


@router.post("/sign-out", response_model=None)
async def sign_out(request: Request, form: CheckedForm) -> Response:
    """End the session: its row and the cookie are gone."""
    response = RedirectResponse("/portal/", status_code=303)
    await end_session(request, response)
    return response


@router.get("/invitation", response_class=HTMLResponse)
async def invitation_page(request: Request, visitor: AnyVisitor, code: str = "") -> HTMLResponse:
    """Redeem an invitation: the code (filled in from the link) and a new password."""
    return _invitation_form(request, visitor, code=code[:200])


def _invitation_form(
    request: Request,
    visitor: Visitor,
    *,
    code: str = "",
    errors: dict[str, str] | None = None,
    problem: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    return render(
        request,
        visitor,
        "signin/invitation.html",
        status=status,
        headers=headers,
        title="Redeem your invitation",
        code=code,
        errors=errors or {},
        problem=problem,
        hint=PASSWORD_HINT,
    )


@router.post("/invitation", response_model=None)
async def redeem(request: Request, visitor: AnyVisitor, form: CheckedForm) -> Response:
    """Redeem the code as `POST /invitations/redeem` does, store the password, sign in."""
    code, password = _text(form, "code").strip(), _text(form, "password")
    confirmation = _text(form, "confirmation")
    errors = await _password_errors(request, code, password, confirmation)
    if not code:
        errors["code"] = "Enter the invitation code from your invitation."
    if errors:
        return _invitation_form(request, visitor, code=code, errors=errors, status=400)
    try:
        redeemed = await redeem_invitation(request, code)
    except Problem as problem:
        if problem.status == 429:
            return _invitation_form(
                request,
                visitor,
                code=code,
                problem=_too_many(problem),
                status=429,
                headers=problem.headers,
            )
        words = _CODE_WORDS.get(problem.status, problem.detail)
        return _invitation_form(request, visitor, code=code, errors={"code": words}, status=400)
    await set_password(passwords(request), redeemed.contact_id, password)
    response = RedirectResponse("/portal/", status_code=303)
    await start_session(request, response, redeemed.contact_id)
    return response


async def _password_errors(
    request: Request, code: str, password: str, confirmation: str
) -> dict[str, str]:
    """The password rule and the confirmation, checked before the code is used up."""
    email = None
    if code:
        # The e-mail address the password must not be: the invited contact's, read only.
        reader: WriteModelReader = request.app.state.reader
        invitation = await reader.invitation_by_code_hash(hash_secret(code))
        contact = None if invitation is None else await reader.contact(invitation.contact_id)
        email = None if contact is None else contact.email
    refusal = password_refusal(password, email)
    if refusal is not None:
        return {"password": refusal}
    if password != confirmation:
        return {"confirmation": "The two passwords are not the same."}
    return {}
