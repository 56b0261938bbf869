"""The browser's sign-in: the session cookie, the anonymous forms' token, who the e-mail is.

The state lives in PostgreSQL (sync_service.signin); this module only moves it between the
request, the stores on `app.state` and the response's cookies.
"""

from __future__ import annotations

import secrets
from typing import Final
from urllib.parse import urlsplit
from uuid import UUID

from fastapi import Request
from fastapi.responses import Response

from portal_api.portal_session import SESSION_COOKIE
from sync_service.settings import Settings
from sync_service.signin.base import FailureThrottle, PasswordStore, SessionStore
from sync_service.signin.passwords import verify_password
from sync_service.writemodel.base import WriteModelReader

__all__ = [
    "FORM_COOKIE",
    "SESSION_COOKIE",
    "authenticate",
    "end_session",
    "form_token",
    "local_next",
    "passwords",
    "set_form_cookie",
    "sign_in_throttle",
    "start_session",
]

FORM_COOKIE: Final = "dualsync_form"
"""The anonymous forms' double-submit token: a sign-in form from another site cannot match it."""
_FORM_TOKEN_S: Final = 12 * 3600


def _sessions(request: Request) -> SessionStore:
    store: SessionStore = request.app.state.sessions
    return store


def passwords(request: Request) -> PasswordStore:
    """The app's password store (PostgreSQL)."""
    store: PasswordStore = request.app.state.passwords
    return store


def sign_in_throttle(request: Request) -> FailureThrottle:
    """The failed sign-ins of every API process."""
    throttle: FailureThrottle = request.app.state.sign_in_throttle
    return throttle


def _secure(request: Request) -> bool:
    # Behind a TLS-terminating proxy uvicorn's proxy headers make this "https" too.
    return request.url.scheme == "https"


async def start_session(request: Request, response: Response, contact_id: UUID) -> None:
    """Sign `contact_id` in: a new session id every time (a planted id is never adopted)."""
    await end_session(request, response)
    session_id, _ = await _sessions(request).open(contact_id)
    settings: Settings = request.app.state.settings
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=int(settings.session_max_s),
        path="/",
        secure=_secure(request),
        httponly=True,
        samesite="lax",
    )


async def end_session(request: Request, response: Response) -> None:
    """Sign out: the session's row and the cookie are gone."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        await _sessions(request).close(session_id)
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=_secure(request), httponly=True, samesite="lax"
    )


def form_token(request: Request) -> str:
    """The anonymous visitor's form token: the cookie's, or a new one that `render` will set."""
    token = request.cookies.get(FORM_COOKIE)
    if token and 20 <= len(token) <= 100:
        return token
    token = secrets.token_urlsafe(32)
    request.state.new_form_token = token
    return token


def set_form_cookie(request: Request, response: Response) -> None:
    """Send the form token that `form_token` made for this request, if it made one."""
    token = getattr(request.state, "new_form_token", None)
    if token:
        response.set_cookie(
            FORM_COOKIE,
            token,
            max_age=_FORM_TOKEN_S,
            path="/portal",
            secure=_secure(request),
            httponly=True,
            samesite="lax",
        )


async def authenticate(request: Request, email: str, password: str) -> UUID | None:
    """The contact whose e-mail address and password these are; None for any mismatch."""
    reader: WriteModelReader = request.app.state.reader
    store = passwords(request)
    contacts = await reader.contacts_by_email(email.strip()) if email.strip() else []
    for contact in contacts:
        if await verify_password(store, contact.contact_id, password):
            return contact.contact_id
    if not contacts:
        await verify_password(store, None, password)  # as slow as a wrong password
    return None


def local_next(target: str | None) -> str:
    """Where to go after signing in: `target` if it is a page of the portal, else home."""
    if not target or not target.startswith("/portal") or "\\" in target:
        return "/portal/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return "/portal/"
    return target
