"""The relay's own PostgreSQL session: it holds the one-publisher lock and hears the appends.

One relay publishes at a time. A relay takes a session-level advisory lock on a dedicated
connection; a second relay process blocks on that lock as a standby and takes over the moment
the first one's session ends (clean stop, crash or lost connection). The same session LISTENs on
the event store's notify channel, so losing it loses both the lock and the wake-ups, and the relay
treats it as one event: it reconnects, waits for the lock again and catches up from its checkpoint.
Between losing the session and noticing, a relay may finish one batch that a new leader also
publishes: duplicates that consumers drop by message id, never a skipped event. Each relay sends
in position order, so even then every event's first copy on a partition is in order.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import asyncpg
from sqlalchemy.engine import URL

from sync_service.db.engine import tls_args
from sync_service.eventstore.postgres import APPEND_LOCK_KEY, NOTIFY_CHANNEL

__all__ = ["RELAY_APPLICATION_NAME", "RELAY_LOCK_KEY", "RelaySession"]

# b"dsrelay!" read as a bigint: a key of its own, so the relay never contends with appends.
RELAY_LOCK_KEY = int.from_bytes(b"dsrelay!", "big")
assert RELAY_LOCK_KEY != APPEND_LOCK_KEY
# Shown in pg_stat_activity, so ops (and tests) can find the session that holds the lock.
RELAY_APPLICATION_NAME = "dualsync-relay"
_CLOSE_TIMEOUT_S = 5.0


class RelaySession:
    """A dedicated asyncpg connection: the advisory lock, and LISTEN that sets `wakeup`."""

    def __init__(self, url: URL, *, wakeup: asyncio.Event, connect_timeout_s: float) -> None:
        # asyncpg takes a plain libpq URL, not SQLAlchemy's `postgresql+asyncpg://`.
        # `?ssl=` is the engine's (asyncpg's) TLS argument, not a libpq one: pass it the same way.
        ssl = url.query.get("ssl")
        plain = url.set(drivername="postgresql").difference_update_query(["ssl"])
        self._dsn = plain.render_as_string(hide_password=False)
        self._tls = {"ssl": ssl} if ssl else tls_args(url)
        self._wakeup = wakeup
        self._connect_timeout_s = connect_timeout_s
        self._connection: Any = None
        self._lost = False

    async def connect(self) -> None:
        """Open the session; raise when PostgreSQL cannot be reached."""
        self._connection = await asyncpg.connect(
            self._dsn,
            timeout=self._connect_timeout_s,
            server_settings={"application_name": RELAY_APPLICATION_NAME},
            **self._tls,
        )
        self._connection.add_termination_listener(self._on_terminated)

    async def try_lock(self) -> bool:
        """Take the relay lock if it is free; False when another relay holds it."""
        return bool(
            await self._connection.fetchval("SELECT pg_try_advisory_lock($1)", RELAY_LOCK_KEY)
        )

    async def lock(self) -> None:
        """Wait for the relay lock: a standby blocks here until the leader's session ends."""
        await self._connection.execute("SELECT pg_advisory_lock($1)", RELAY_LOCK_KEY)

    async def listen(self) -> None:
        """Set `wakeup` on every append from now on."""
        await self._connection.add_listener(NOTIFY_CHANNEL, self._on_notification)

    async def alive(self) -> bool:
        """Whether the session still answers; a silent one counts as lost from now on."""
        if self._lost or self._connection is None or self._connection.is_closed():
            return False
        try:
            await self._connection.execute("SELECT 1", timeout=self._connect_timeout_s)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
            self._lost = True
        return not self._lost

    @property
    def lost(self) -> bool:
        """Whether the session ended under us (the lock and LISTEN with it)."""
        return self._lost

    async def close(self) -> None:
        """End the session, which releases the lock for a standby."""
        connection, self._connection = self._connection, None
        if connection is None or connection.is_closed():
            return
        try:
            await connection.close(timeout=_CLOSE_TIMEOUT_S)
        except Exception:  # a broken session cannot close politely; dropping it still unlocks
            with contextlib.suppress(Exception):
                connection.terminate()

    def _on_notification(self, _connection: Any, _pid: int, _channel: str, _payload: str) -> None:
        self._wakeup.set()

    def _on_terminated(self, _connection: Any) -> None:
        self._lost = True
        self._wakeup.set()  # so an idle relay notices now, not at its next fallback poll
