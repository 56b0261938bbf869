"""The sign-in ports on PostgreSQL: every API process reads and writes the same rows."""

from __future__ import annotations

import math
import secrets
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Final
from uuid import UUID

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sync_service.domain.credentials import hash_secret
from sync_service.signin.base import PortalSession, Reservation
from sync_service.signin.tables import portal_passwords, portal_sessions, signin_failures

__all__ = ["PostgresFailureThrottle", "PostgresPasswords", "PostgresSessions"]

Clock = Callable[[], datetime]

_TOUCH_EVERY: Final = timedelta(seconds=30)
"""last_seen_at is written at most this often per session (or a quarter of the idle time, if
shorter): not one write per page."""


def _now() -> datetime:
    return datetime.now(UTC)


@asynccontextmanager
async def _autocommit(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as connection:
        # Each statement stands alone: no BEGIN/COMMIT round trips.
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        yield connection


class PostgresSessions:
    """A SessionStore: sessions end `idle` after their last request or `absolute` after sign-in."""

    def __init__(
        self, engine: AsyncEngine, *, idle: timedelta, absolute: timedelta, clock: Clock = _now
    ) -> None:
        self._engine = engine
        self.idle = idle
        self.absolute = absolute
        self._clock = clock
        self._touch_every = min(_TOUCH_EVERY, idle / 4)

    async def open(self, contact_id: UUID) -> tuple[str, PortalSession]:
        """A new session of `contact_id` (a new random id): the cookie's value and the session."""
        now = self._clock()
        session_id = secrets.token_urlsafe(32)
        session = PortalSession(
            contact_id=contact_id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
            expires_at=now + self.absolute,
        )
        async with _autocommit(self._engine) as connection:
            await connection.execute(
                portal_sessions.insert().values(
                    session_hash=hash_secret(session_id),
                    contact_id=contact_id,
                    csrf_token=session.csrf_token,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=session.expires_at,
                )
            )
            # Each sign-in sweeps away the sessions that ended unnoticed (closed tabs).
            await connection.execute(
                delete(portal_sessions).where(
                    or_(
                        portal_sessions.c.expires_at <= now,
                        portal_sessions.c.last_seen_at <= now - self.idle,
                    )
                )
            )
        return session_id, session

    async def resume(self, session_id: str) -> PortalSession | None:
        """The live session with this id, now seen again; None (and gone) if unknown or expired."""
        now = self._clock()
        key = hash_secret(session_id)
        async with _autocommit(self._engine) as connection:
            query = select(portal_sessions).where(portal_sessions.c.session_hash == key)
            row = (await connection.execute(query)).mappings().first()
            if row is None:
                return None
            session = PortalSession(
                contact_id=row["contact_id"],
                csrf_token=row["csrf_token"],
                created_at=row["created_at"],
                last_seen_at=row["last_seen_at"],
                expires_at=row["expires_at"],
            )
            if session.expires_at <= now or session.last_seen_at + self.idle <= now:
                await connection.execute(
                    delete(portal_sessions).where(portal_sessions.c.session_hash == key)
                )
                return None
            if now - session.last_seen_at >= self._touch_every:
                await connection.execute(
                    update(portal_sessions)
                    .where(portal_sessions.c.session_hash == key)
                    .values(last_seen_at=now)
                )
                session = PortalSession(
                    contact_id=session.contact_id,
                    csrf_token=session.csrf_token,
                    created_at=session.created_at,
                    last_seen_at=now,
                    expires_at=session.expires_at,
                )
            return session

    async def close(self, session_id: str) -> None:
        """Sign out: the id is worthless from now on."""
        async with _autocommit(self._engine) as connection:
            await connection.execute(
                delete(portal_sessions).where(
                    portal_sessions.c.session_hash == hash_secret(session_id)
                )
            )


class PostgresPasswords:
    """A PasswordStore over `portal_passwords`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def password_hash(self, contact_id: UUID) -> str | None:
        """The stored hash, None while the contact has chosen no password."""
        async with _autocommit(self._engine) as connection:
            query = select(portal_passwords.c.password_hash).where(
                portal_passwords.c.contact_id == contact_id
            )
            found: str | None = (await connection.execute(query)).scalar_one_or_none()
            return found

    async def set_password_hash(self, contact_id: UUID, password_hash: str) -> None:
        """Store (or replace) the contact's password hash."""
        values = {"password_hash": password_hash, "updated_at": _now()}
        statement = insert(portal_passwords).values(contact_id=contact_id, **values)
        statement = statement.on_conflict_do_update(
            index_elements=[portal_passwords.c.contact_id], set_=values
        )
        async with _autocommit(self._engine) as connection:
            await connection.execute(statement)


class PostgresFailureThrottle:
    """A FailureThrottle: past `limit` failures of a key within `window`, the key must wait.

    The window is measured by PostgreSQL's clock, so that processes on hosts whose clocks
    differ still agree.
    """

    def __init__(self, engine: AsyncEngine, scope: str, *, limit: int, window: timedelta) -> None:
        self._engine = engine
        self.scope = scope
        self.limit = limit
        self.window = window

    async def retry_after(self, keys: Sequence[str]) -> int | None:
        """Seconds to wait while any of `keys` has used up its failures; None: go ahead."""
        if not keys:
            return None
        async with _autocommit(self._engine) as connection:
            return await self._wait(connection, keys)

    async def _wait(self, connection: AsyncConnection, keys: Sequence[str]) -> int | None:
        failures = signin_failures.c
        query = (
            select(
                failures.client,
                func.count(),
                func.extract("epoch", func.min(failures.failed_at) + self.window - func.now()),
            )
            .where(
                failures.scope == self.scope,
                failures.client.in_(list(keys)),
                failures.failed_at > func.now() - self.window,
            )
            .group_by(failures.client)
        )
        rows = (await connection.execute(query)).all()
        waits = [max(1, math.ceil(float(left))) for _, count, left in rows if count >= self.limit]
        return max(waits) if waits else None

    async def reserve(self, keys: Sequence[str]) -> Reservation:
        """Count an attempt as failed before it is made, unless one of `keys` must wait.

        One transaction per attempt, holding an advisory lock per key until it commits: two
        attempts of one key (from any process) count one after the other, never both before.
        """
        if not keys:
            return Reservation(wait=None)
        async with self._engine.begin() as connection:
            for key in sorted(set(keys)):
                lock = func.pg_advisory_xact_lock(func.hashtextextended(f"{self.scope}\n{key}", 0))
                await connection.execute(select(lock))
            wait = await self._wait(connection, keys)
            if wait is not None:
                return Reservation(wait=wait)
            rows = [{"scope": self.scope, "client": key, "failed_at": func.now()} for key in keys]
            inserted = await connection.execute(
                signin_failures.insert().values(rows).returning(signin_failures.c.failure_id)
            )
            reserved = tuple(inserted.scalars().all())
            await connection.execute(
                delete(signin_failures).where(
                    signin_failures.c.scope == self.scope,
                    signin_failures.c.failed_at <= func.now() - self.window,
                )
            )
            return Reservation(wait=None, failure_ids=reserved)

    async def release(self, reservation: Reservation) -> None:
        """The attempt succeeded: its reservation no longer counts as a failure."""
        if not reservation.failure_ids:
            return
        async with _autocommit(self._engine) as connection:
            await connection.execute(
                delete(signin_failures).where(
                    signin_failures.c.failure_id.in_(list(reservation.failure_ids))
                )
            )

    async def record_failure(self, keys: Sequence[str]) -> None:
        """Count one failed attempt against each of `keys` (and forget those out of the window)."""
        if not keys:
            return
        failures = signin_failures.c
        async with _autocommit(self._engine) as connection:
            await connection.execute(
                signin_failures.insert().values(
                    [{"scope": self.scope, "client": key, "failed_at": func.now()} for key in keys]
                )
            )
            await connection.execute(
                delete(signin_failures).where(
                    failures.scope == self.scope, failures.failed_at <= func.now() - self.window
                )
            )
