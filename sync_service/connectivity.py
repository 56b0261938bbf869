"""Reaching Kafka and PostgreSQL: one look, fail fast (one-off commands), or wait (services)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

from aiokafka import AIOKafkaClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from sync_service.logs import get_logger

__all__ = [
    "DependencyUnavailable",
    "check_database",
    "check_kafka",
    "probe_database",
    "probe_kafka",
    "wait_for_dependencies",
]

_RETRY_PAUSE_S: Final = 0.5
_FIRST_WAIT_S: Final = 0.5
_LONGEST_WAIT_S: Final = 5.0
"""A waiting service looks again at least this often, so it starts soon after an outage."""
_PROBE_TIMEOUT_S: Final = 3.0
log = get_logger(__name__)


class DependencyUnavailable(ConnectionError):
    """Kafka or PostgreSQL could not be reached in time; the message says where we tried.

    A ConnectionError, so that `failures.is_outage` knows it for what it is.
    """


def _reason(error: BaseException) -> str:
    """The error's first line, for a log line or a message that names the address tried."""
    if isinstance(error, TimeoutError) and not str(error):
        return "no answer in time"
    described = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return described.splitlines()[0]


async def probe_kafka(
    bootstrap: str, timeout_s: float = _PROBE_TIMEOUT_S, security: Mapping[str, Any] | None = None
) -> str | None:
    """One look: None when a broker at `bootstrap` answers a metadata request (after accepting
    `security`'s credentials: kafka_access.client_options), else why not."""
    client = AIOKafkaClient(
        bootstrap_servers=bootstrap,
        request_timeout_ms=max(1000, int(timeout_s * 1000)),
        **(security or {}),
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


async def check_kafka(
    bootstrap: str, timeout_s: float, security: Mapping[str, Any] | None = None
) -> None:
    """Return once a broker at `bootstrap` answers a metadata request; raise after `timeout_s`."""
    await _until(
        lambda t: probe_kafka(bootstrap, t, security),
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
    bootstrap: str,
    database_url: str,
    *,
    bound_s: float | None,
    waiting_for: str,
    kafka_security: Mapping[str, Any] | None = None,
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
            probe_kafka(bootstrap, security=kafka_security), probe_database(database_url)
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
