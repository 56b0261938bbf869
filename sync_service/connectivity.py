"""Reaching Kafka and PostgreSQL at start-up, failing fast with the address that was tried."""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

__all__ = ["DependencyUnavailable", "check_database", "check_kafka"]

_RETRY_PAUSE_S = 0.5


class DependencyUnavailable(RuntimeError):
    """Kafka or PostgreSQL could not be reached in time; the message says where we tried."""


async def check_kafka(bootstrap: str, timeout_s: float) -> None:
    """Return once a broker at `bootstrap` answers a metadata request; raise after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    last_error = "no answer"
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DependencyUnavailable(
                f"cannot reach Kafka at {bootstrap} (tried for {timeout_s:g}s): {last_error}. "
                "Start it with `make infra` or set DUALSYNC_KAFKA_BOOTSTRAP."
            )
        client = AIOKafkaClient(
            bootstrap_servers=bootstrap, request_timeout_ms=max(1000, int(remaining * 1000))
        )
        try:
            await asyncio.wait_for(client.bootstrap(), timeout=remaining)
            return
        except Exception as exc:  # aiokafka raises its own classes besides OSError
            last_error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        finally:
            await client.close()
        await asyncio.sleep(min(_RETRY_PAUSE_S, max(0.0, deadline - time.monotonic())))


async def check_database(database_url: str, timeout_s: float) -> None:
    """Return once PostgreSQL at `database_url` answers `SELECT 1`; raise after `timeout_s`."""
    shown = make_url(database_url).render_as_string(hide_password=True)
    deadline = time.monotonic() + timeout_s
    last_error = "no answer"
    engine = create_async_engine(database_url, connect_args={"timeout": 3})
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DependencyUnavailable(
                    f"cannot reach PostgreSQL at {shown} (tried for {timeout_s:g}s): "
                    f"{last_error}. Start it with `make infra` or set DUALSYNC_DATABASE_URL."
                )
            try:
                async with asyncio.timeout(remaining):
                    async with engine.connect() as connection:
                        await connection.execute(text("SELECT 1"))
                return
            except Exception as exc:  # asyncpg and SQLAlchemy raise many classes
                last_error = f"{type(exc).__name__}: {exc}".splitlines()[0]
            await asyncio.sleep(min(_RETRY_PAUSE_S, max(0.0, deadline - time.monotonic())))
    finally:
        await engine.dispose()
