"""Reaching Kafka and PostgreSQL: one look, fail fast (one-off commands), or wait (services)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Final

import asyncpg
from aiokafka import AIOKafkaClient
from aiokafka.errors import KafkaConnectionError, KafkaError
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import create_async_engine

from sync_service.logs import get_logger

__all__ = [
    "DependencyUnavailable",
    "check_database",
    "check_kafka",
    "is_outage",
    "probe_database",
    "probe_kafka",
    "wait_for_dependencies",
]

_RETRY_PAUSE_S: Final = 0.5
_FIRST_WAIT_S: Final = 0.5
_LONGEST_WAIT_S: Final = 5.0
"""A waiting service looks again at least this often, so it starts soon after an outage."""
_PROBE_TIMEOUT_S: Final = 3.0
# PostgreSQL's "cannot reach me now": connection exceptions (class 08, but not 08P01, a protocol
# violation), shutting down or starting up (57P01-57P03), too many connections (53300).
_UNAVAILABLE_SQLSTATES: Final = frozenset(
    {"08000", "08001", "08003", "08004", "08006", "08007", "57P01", "57P02", "57P03", "53300"}
)
_ASYNCPG_UNAVAILABLE: Final = (
    asyncpg.PostgresConnectionError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
)

# OSErrors about files, and PostgreSQL's protocol violation (class 08 like a lost connection, but
# raised by a value the server refuses, such as a NUL in text): the request's fault, no outage.
_NOT_OUTAGES: Final = (
    FileNotFoundError,
    FileExistsError,
    IsADirectoryError,
    NotADirectoryError,
    PermissionError,
    asyncpg.ProtocolViolationError,
)

log = get_logger(__name__)


class DependencyUnavailable(RuntimeError):
    """Kafka or PostgreSQL could not be reached in time; the message says where we tried."""


def is_outage(error: BaseException) -> bool:
    """Whether `error` says Kafka or PostgreSQL cannot be reached now (not that a request is bad).

    Connections refused or reset, timeouts, a database shutting down or starting up, a broker
    or its partition leaders away, a connection pool with none to give.
    """
    if isinstance(error, _NOT_OUTAGES):
        return False
    if isinstance(error, DependencyUnavailable | OSError | PoolTimeout | DisconnectionError):
        # OSError: refused, reset, timed out, or asyncio's "Multiple exceptions" of a connect.
        return True
    if isinstance(error, KafkaError):
        return isinstance(error, KafkaConnectionError) or bool(getattr(error, "retriable", False))
    if isinstance(error, _ASYNCPG_UNAVAILABLE):
        return True
    if isinstance(error, DBAPIError):
        sqlstate = str(getattr(error.orig, "sqlstate", None) or "")
        cause = getattr(error.orig, "__cause__", None)
        return (
            error.connection_invalidated
            or sqlstate in _UNAVAILABLE_SQLSTATES
            or (cause is not None and is_outage(cause))
        )
    return False


def _reason(error: BaseException) -> str:
    """The error's first line, for a log line or a message that names the address tried."""
    if isinstance(error, TimeoutError) and not str(error):
        return "no answer in time"
    described = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return described.splitlines()[0]


async def probe_kafka(bootstrap: str, timeout_s: float = _PROBE_TIMEOUT_S) -> str | None:
    """One look: None when a broker at `bootstrap` answers a metadata request, else why not."""
    client = AIOKafkaClient(
        bootstrap_servers=bootstrap, request_timeout_ms=max(1000, int(timeout_s * 1000))
    )
    try:
        await asyncio.wait_for(client.bootstrap(), timeout=timeout_s)
    except Exception as exc:  # aiokafka raises its own classes besides OSError
        return _reason(exc)
    finally:
        await client.close()
    return None


async def probe_database(database_url: str, timeout_s: float = _PROBE_TIMEOUT_S) -> str | None:
    """One look: None when PostgreSQL at `database_url` answers `SELECT 1`, else why not."""
    engine = create_async_engine(database_url, connect_args={"timeout": timeout_s})
    try:
        async with asyncio.timeout(timeout_s):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except Exception as exc:  # asyncpg and SQLAlchemy raise many classes
        return _reason(exc)
    finally:
        await engine.dispose()
    return None


def _kafka_unreachable(bootstrap: str, waited_s: float, reason: str) -> DependencyUnavailable:
    return DependencyUnavailable(
        f"cannot reach Kafka at {bootstrap} (tried for {waited_s:g}s): {reason}. "
        "Start it with `make infra` or set DUALSYNC_KAFKA_BOOTSTRAP."
    )


def _database_unreachable(database_url: str, waited_s: float, reason: str) -> DependencyUnavailable:
    shown = make_url(database_url).render_as_string(hide_password=True)
    return DependencyUnavailable(
        f"cannot reach PostgreSQL at {shown} (tried for {waited_s:g}s): {reason}. "
        "Start it with `make infra` or set DUALSYNC_DATABASE_URL."
    )


async def _until(
    probe: Callable[[float], Awaitable[str | None]],
    timeout_s: float,
    unreachable: Callable[[str], DependencyUnavailable],
) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        remaining = deadline - time.monotonic()
        reason = await probe(max(0.1, min(remaining, _PROBE_TIMEOUT_S)))
        if reason is None:
            return
        if deadline - time.monotonic() <= 0:
            raise unreachable(reason)
        await asyncio.sleep(min(_RETRY_PAUSE_S, max(0.0, deadline - time.monotonic())))


async def check_kafka(bootstrap: str, timeout_s: float) -> None:
    """Return once a broker at `bootstrap` answers a metadata request; raise after `timeout_s`."""
    await _until(
        lambda t: probe_kafka(bootstrap, t),
        timeout_s,
        lambda reason: _kafka_unreachable(bootstrap, timeout_s, reason),
    )


async def check_database(database_url: str, timeout_s: float) -> None:
    """Return once PostgreSQL at `database_url` answers `SELECT 1`; raise after `timeout_s`."""
    await _until(
        lambda t: probe_database(database_url, t),
        timeout_s,
        lambda reason: _database_unreachable(database_url, timeout_s, reason),
    )


async def wait_for_dependencies(
    bootstrap: str, database_url: str, *, bound_s: float | None, waiting_for: str
) -> None:
    """Return once Kafka and PostgreSQL both answer, logging each look and the pause after it.

    `waiting_for` names who waits (a service); after `bound_s` seconds (None: never) raise
    DependencyUnavailable naming the one still away.
    """
    started = time.monotonic()
    pause = _FIRST_WAIT_S
    attempt = 0
    while True:
        attempt += 1
        kafka, postgresql = await asyncio.gather(
            probe_kafka(bootstrap), probe_database(database_url)
        )
        waited_s = round(time.monotonic() - started, 1)
        if kafka is None and postgresql is None:
            if attempt > 1:
                log.info("dependencies.available", service=waiting_for, waited_s=waited_s)
            return
        if bound_s is not None and waited_s >= bound_s:
            if kafka is not None:
                raise _kafka_unreachable(bootstrap, waited_s, kafka)
            raise _database_unreachable(database_url, waited_s, postgresql or "")
        if bound_s is not None:
            pause = min(pause, max(0.1, bound_s - waited_s))
        # A warning each look: an operator sees what the service waits for, and that it is alive.
        log.warning(
            "dependencies.waiting",
            service=waiting_for,
            kafka=kafka or "ok",
            postgresql=postgresql or "ok",
            attempt=attempt,
            waited_s=waited_s,
            retry_in_s=round(pause, 1),
        )
        await asyncio.sleep(pause)
        pause = min(pause * 2, _LONGEST_WAIT_S)
