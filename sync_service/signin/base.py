"""The sign-in ports: what the portal's pages ask of sessions, passwords and failed attempts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

__all__ = ["FailureThrottle", "PasswordStore", "PortalSession", "Reservation", "SessionStore"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PortalSession:
    """A signed-in browser: whose it is, its CSRF token and its times."""

    contact_id: UUID
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    """The absolute expiry: however active, the session ends then."""


class SessionStore(Protocol):
    """Browser sessions; the session id (the cookie's value) is known only to the browser."""

    async def open(self, contact_id: UUID) -> tuple[str, PortalSession]:
        """A new session of `contact_id` (a new random id): the cookie's value and the session."""
        ...

    async def resume(self, session_id: str) -> PortalSession | None:
        """The live session with this id, now seen again; None (and gone) if unknown or expired."""
        ...

    async def close(self, session_id: str) -> None:
        """Sign out: the id is worthless from now on."""
        ...


class PasswordStore(Protocol):
    """The password hash of each contact who chose a password."""

    async def password_hash(self, contact_id: UUID) -> str | None:
        """The stored hash, None while the contact has chosen no password."""
        ...

    async def set_password_hash(self, contact_id: UUID, password_hash: str) -> None:
        """Store (or replace) the contact's password hash."""
        ...


@dataclass(frozen=True, slots=True)
class Reservation:
    """An attempt counted in advance: `wait` seconds if refused, else the rows to give back."""

    wait: int | None
    failure_ids: tuple[int, ...] = ()


class FailureThrottle(Protocol):
    """Failed attempts per key in a sliding window, shared by every API process."""

    async def retry_after(self, keys: Sequence[str]) -> int | None:
        """Seconds to wait while any of `keys` has used up its failures; None: go ahead."""
        ...

    async def record_failure(self, keys: Sequence[str]) -> None:
        """Count one failed attempt against each of `keys`."""
        ...

    async def reserve(self, keys: Sequence[str]) -> Reservation:
        """Count an attempt as failed before it is made, unless one of `keys` must wait.

        Checking first and counting after an await lets concurrent attempts all pass the
        check: a reservation is taken atomically, so at most `limit` attempts are under way or
        failed per key. The attempt that succeeds gives its reservation back (`release`).
        """
        ...

    async def release(self, reservation: Reservation) -> None:
        """The attempt succeeded: it no longer counts as a failure."""
        ...
