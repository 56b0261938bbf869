"""The one way dualsync opens PostgreSQL: an async SQLAlchemy engine on the asyncpg driver."""

from __future__ import annotations

import functools
import json

from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

__all__ = ["DEFAULT_CONNECT_TIMEOUT_S", "async_url", "create_engine"]

DEFAULT_CONNECT_TIMEOUT_S = 5.0

# Compact JSON for JSONB columns: the server re-encodes it anyway, so spaces are wasted bytes.
_json_serializer = functools.partial(json.dumps, separators=(",", ":"), ensure_ascii=False)


def async_url(database_url: str) -> URL:
    """The URL with the asyncpg driver, accepting plain `postgresql://` URLs too."""
    url = make_url(database_url)
    if url.drivername in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+asyncpg")
    if url.drivername != "postgresql+asyncpg":
        raise ValueError(
            f"dualsync needs PostgreSQL through asyncpg, not {url.drivername!r} "
            "(use postgresql+asyncpg://...)"
        )
    return url


def create_engine(
    database_url: str,
    *,
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
    pool_size: int = 10,
    max_overflow: int = 10,
) -> AsyncEngine:
    """An engine whose connections are checked before use and fail fast when unreachable."""
    return create_async_engine(
        async_url(database_url),
        # A connection killed by a database restart is replaced instead of failing a request.
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=max_overflow,
        # Waiting for a free pooled connection is bounded too, so overload surfaces as an error.
        pool_timeout=30,
        json_serializer=_json_serializer,
        connect_args={
            # asyncpg's own default is 60 s; an unreachable database should fail within seconds.
            "timeout": connect_timeout_s,
            "server_settings": {"application_name": "dualsync"},
        },
    )
