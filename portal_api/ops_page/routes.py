"""The ops page: `GET /ops`, its sign-in, and the form actions it posts (redirected back, PRG).

The page's routes answer HTML, never problem JSON: a person reads them. The JSON ops endpoints
live in portal_api.routes and accept the same session cookie (portal_api.auth).
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import parse_qs
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute

from contracts.bounds import MULTI_LINE_PATTERN
from portal_api.auth import caller_for_hash
from portal_api.limits import FailureThrottle
from portal_api.ops_page import backend
from portal_api.ops_page.render import (
    Flash,
    login_page,
    ops_page,
    refused_page,
    unavailable_page,
)
from portal_api.ops_page.session import (
    OPS_COOKIE,
    OPS_COOKIE_PATH,
    SESSION_S,
    ops_sessions,
    same_origin,
)
from portal_api.portal_session import SESSION_COOKIE, signed_in
from portal_api.problems import Problem
from portal_api.unavailable import RETRY_AFTER_S, unavailable_problem
from sync_service.domain.credentials import hash_secret
from sync_service.domain.roles import Caller
from sync_service.settings import Settings
from sync_service.signin.base import SessionStore

__all__ = ["router"]


class _PageRoute(APIRoute):
    """A page route: Kafka or PostgreSQL away is a readable 503 page, not problem JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_or_unavailable(request: Request) -> Response:
            try:
                return await handle(request)
            except Exception as error:
                problem = unavailable_problem(error)
                if problem is None:
                    raise
                response = _html(
                    request, unavailable_page, 503, detail=problem.detail,
                    retry_after_s=RETRY_AFTER_S,
                )  # fmt: skip
                response.headers.update(problem.headers)
                return response

        return handle_or_unavailable


router = APIRouter(prefix="/ops", include_in_schema=False, route_class=_PageRoute)

_FLASH_COOKIE = "dualsync_ops_flash"
_NOT_ADMIN = (
    "This credential belongs to a contact without the Administrator web role; the ops page is "
    "for Administrators only."
)


def _html(request: Request, render: Any, status: int = 200, **fields: Any) -> HTMLResponse:
    """An HTML answer whose inline style and script run only under this response's nonce."""
    nonce = secrets.token_urlsafe(16)
    response = HTMLResponse(render(nonce, **fields), status_code=status)
    response.headers.update(
        {
            "Content-Security-Policy": (
                f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
                "connect-src 'self'; img-src 'self' data:; form-action 'self'; "
                "frame-ancestors 'none'; base-uri 'none'"
            ),
            "Cache-Control": "no-store",
            "Referrer-Policy": "same-origin",
            "X-Content-Type-Options": "nosniff",
        }
    )
    return response


def _storable(text: str) -> bool:
    """Whether a typed reason or note can be recorded (no NUL or other control characters)."""
    return re.fullmatch(MULTI_LINE_PATTERN, text) is not None


_NOT_STORABLE = "can hold no control characters (such as NUL): nothing was done."


def _back(path: str = "/ops", flash: Flash | None = None) -> RedirectResponse:
    response = RedirectResponse(path, status_code=303)
    if flash is not None:
        kind, text = flash
        # A cookie holds about 4 KB: a very long error is cut (the JSON API gives it whole).
        value = base64.urlsafe_b64encode(json.dumps([kind, text[:1500]]).encode()).decode()
        response.set_cookie(
            _FLASH_COOKIE, value, max_age=60, path=OPS_COOKIE_PATH, httponly=True,
            samesite="strict",
        )  # fmt: skip
    return response


def _read_flash(request: Request) -> Flash | None:
    try:
        kind, text = json.loads(base64.urlsafe_b64decode(request.cookies[_FLASH_COOKIE]))
    except (KeyError, ValueError, TypeError):
        return None
    return ("ok" if kind == "ok" else "error", str(text)[:2000])


async def _form(request: Request) -> dict[str, str]:
    """A urlencoded form body (what a browser's form sends) as one value per field."""
    fields = parse_qs((await request.body()).decode("utf-8", "replace"), max_num_fields=20)
    return {name: values[0] for name, values in fields.items()}


async def _session_caller(request: Request) -> Caller | None:
    """The ops session's caller, else the signed-in portal contact's (with its current roles)."""
    credential_hash = ops_sessions(request).credential_hash(request.cookies.get(OPS_COOKIE))
    if credential_hash is not None:
        return await caller_for_hash(request, credential_hash)
    portal = await signed_in(request)
    return None if portal is None else portal.caller


async def _admin_or_answer(request: Request, *, changes: bool) -> Caller | Response:
    """The signed-in Administrator, or the answer to give instead (sign in, 403, CSRF)."""
    caller = await _session_caller(request)
    if caller is None:
        response: Response = _back("/ops/login")
        response.delete_cookie(OPS_COOKIE, path=OPS_COOKIE_PATH)
        return response
    if not caller.is_admin:
        return _html(request, refused_page, 403, detail=_NOT_ADMIN)
    if changes and not same_origin(request):
        detail = "This request did not come from the ops page (no matching Origin); nothing done."
        return _html(request, refused_page, 403, detail=detail)
    return caller


def _throttle(request: Request) -> FailureThrottle:
    state = request.app.state
    throttle: FailureThrottle | None = getattr(state, "ops_login_throttle", None)
    if throttle is None:
        settings: Settings = state.settings
        throttle = state.ops_login_throttle = FailureThrottle(
            settings.redeem_failures_per_minute, 60.0
        )
    return throttle


@router.get("/login")
async def login_form(request: Request) -> Response:
    """The sign-in form (or the page itself for someone already signed in)."""
    caller = await _session_caller(request)
    if caller is not None and caller.is_admin:
        return _back()
    return _html(request, login_page)


@router.post("/login")
async def login(request: Request) -> Response:
    """Check the pasted credential as AdminCaller does; an Administrator gets a session cookie."""
    if not same_origin(request):
        detail = "This sign-in did not come from the ops page (no matching Origin)."
        return _html(request, refused_page, 403, detail=detail)
    client = request.client.host if request.client else "unknown"
    try:
        _throttle(request).check(client)
    except Problem as problem:
        return _html(request, login_page, 429, error=problem.detail)
    credential = (await _form(request)).get("credential", "").strip()
    if not credential:
        return _html(request, login_page, 422, error="Paste the administrator credential.")
    credential_hash = hash_secret(credential)
    caller = await caller_for_hash(request, credential_hash)
    if caller is None:
        _throttle(request).record_failure(client)
        return _html(request, login_page, 401, error="That credential is not valid.")
    if not caller.is_admin:
        return _html(request, refused_page, 403, detail=_NOT_ADMIN)
    response = _back()
    response.set_cookie(
        OPS_COOKIE, ops_sessions(request).open(credential_hash), max_age=SESSION_S,
        path=OPS_COOKIE_PATH, httponly=True, samesite="strict",
        secure=request.url.scheme == "https",
    )  # fmt: skip
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    """End the session (harmless to forge, so no origin check) and go back to the sign-in form.

    A portal session that opened the page ends too: else the sign-in form would open it again.
    """
    ops_sessions(request).close(request.cookies.get(OPS_COOKIE))
    response = _back("/ops/login")
    response.delete_cookie(OPS_COOKIE, path=OPS_COOKIE_PATH)
    portal_session = request.cookies.get(SESSION_COOKIE)
    if portal_session:
        sessions: SessionStore = request.app.state.sessions
        await sessions.close(portal_session)
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response


@router.get("")
async def page(request: Request) -> Response:
    """The ops page: lag, open dead letters, maps."""
    caller = await _admin_or_answer(request, changes=False)
    if not isinstance(caller, Caller):
        return caller
    dead_letters, more = await backend.open_dead_letters(request)
    response = _html(
        request,
        ops_page,
        actor=await backend.who(request, caller),
        flash=_read_flash(request),
        dead_letters=dead_letters,
        more_dead_letters=more,
        maps=await backend.maps(request),
    )
    response.delete_cookie(_FLASH_COOKIE, path=OPS_COOKIE_PATH)
    return response


@router.post("/page/deadletters/{dead_letter_id}/redrive")
async def redrive(request: Request, dead_letter_id: UUID) -> Response:
    """Redrive one dead letter from the page; the outcome comes back as the flash message."""
    caller = await _admin_or_answer(request, changes=True)
    if not isinstance(caller, Caller):
        return caller
    return _back(flash=await backend.redrive(request, caller, dead_letter_id))


@router.post("/page/deadletters/{dead_letter_id}/discard")
async def discard(request: Request, dead_letter_id: UUID) -> Response:
    """Discard one dead letter with the reason typed beside the button."""
    caller = await _admin_or_answer(request, changes=True)
    if not isinstance(caller, Caller):
        return caller
    reason = (await _form(request)).get("reason", "").strip()
    if not reason:
        return _back(flash=("error", "Discarding needs a reason: nothing was discarded."))
    if not _storable(reason):
        return _back(flash=("error", f"The reason {_NOT_STORABLE}"))
    return _back(flash=await backend.discard(request, caller, dead_letter_id, reason[:500]))


@router.post("/page/maps/{name}/{action}")
async def pause_or_resume(request: Request, name: str, action: str) -> Response:
    """Pause or resume a map from the page."""
    caller = await _admin_or_answer(request, changes=True)
    if not isinstance(caller, Caller):
        return caller
    if action not in ("pause", "resume"):
        return _back(flash=("error", f"Unknown map action {action!r}."))
    note = (await _form(request)).get("note", "").strip()[:500] or None
    if note is not None and not _storable(note):
        return _back(flash=("error", f"The note {_NOT_STORABLE}"))
    flash = await backend.pause_or_resume(request, caller, name, action == "pause", note)
    return _back(flash=flash)
