"""The ops page's sign-in: a random session id in a cookie, its credential's hash kept server-side.

Why not the credential itself in the cookie: a browser's cookie store then never holds the
administrator credential (nor its hash, which would let a weak bootstrap token be guessed
offline). The sessions live in the API process's memory: a restart signs ops out, which is the
safe side. The caller behind a session is resolved again on every request, so a contact whose
Administrator role was taken away loses the page at once.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit

from starlette.requests import Request

__all__ = [
    "OPS_COOKIE",
    "OPS_COOKIE_PATH",
    "OPS_HEADER",
    "SESSION_S",
    "OpsSessions",
    "ops_sessions",
    "same_origin",
]

OPS_COOKIE: Final = "dualsync_ops"
OPS_COOKIE_PATH: Final = "/ops"
OPS_HEADER: Final = "x-dualsync-ops"
"""Sent (value "1") by the page's own fetch calls; a cross-site page cannot set it."""
SESSION_S: Final = 8 * 3600
"""How long an ops sign-in lasts: a working day."""


@dataclass
class OpsSessions:
    """Signed-in ops sessions of this API process: session id -> (credential hash, expiry)."""

    clock: Callable[[], float] = time.monotonic
    _sessions: dict[str, tuple[str, float]] = field(default_factory=dict)

    def open(self, credential_hash: str) -> str:
        """A new session for the credential with this hash; returns the cookie's value."""
        self._forget_expired()
        session_id = secrets.token_urlsafe(32)
        self._sessions[session_id] = (credential_hash, self.clock() + SESSION_S)
        return session_id

    def credential_hash(self, session_id: str | None) -> str | None:
        """The credential hash behind a live session, None for an unknown or expired one."""
        if not session_id:
            return None
        found = self._sessions.get(session_id)
        if found is None:
            return None
        if found[1] <= self.clock():
            del self._sessions[session_id]
            return None
        return found[0]

    def close(self, session_id: str | None) -> None:
        """Sign out: the session id is worthless from now on."""
        if session_id:
            self._sessions.pop(session_id, None)

    def _forget_expired(self) -> None:
        now = self.clock()
        for session_id in [s for s, (_, expiry) in self._sessions.items() if expiry <= now]:
            del self._sessions[session_id]


def ops_sessions(request: Request) -> OpsSessions:
    """The app's sessions, made on first use (the app factory need not know about them)."""
    state = request.app.state
    sessions: OpsSessions | None = getattr(state, "ops_sessions", None)
    if sessions is None:
        sessions = state.ops_sessions = OpsSessions()
    return sessions


def same_origin(request: Request) -> bool:
    """Whether a state-changing request comes from the API's own pages (the CSRF check).

    The page's fetch calls send `X-Dualsync-Ops: 1`, which another site cannot send without a
    CORS preflight this API never grants; a plain form POST carries Origin (or at least Referer),
    which must name the host the request was sent to.
    """
    if request.headers.get(OPS_HEADER) == "1":
        return True
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null":
        return False
    host = request.headers.get("host", "")
    return bool(host) and urlsplit(source).netloc.lower() == host.lower()
