"""The one way dualsync opens PostgreSQL: an async SQLAlchemy engine on the asyncpg driver."""

from __future__ import annotations

import functools
import ipaddress
import json
from typing import Any

from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

__all__ = ["DEFAULT_CONNECT_TIMEOUT_S", "async_url", "create_engine", "tls_args"]

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


def tls_args(url: URL) -> dict[str, Any]:
    """asyncpg's `ssl` argument for `url`: off for this machine unless the URL asks for TLS.

    asyncpg's default (`prefer`) negotiates TLS whenever the server offers it, even on
    127.0.0.1, where it protects nothing and its handshake and encryption cost CPU on every
    connection and query. An explicit `sslmode` or `ssl` in the URL always wins; remote hosts
    keep asyncpg's default.
    """
    if "sslmode" in url.query or "ssl" in url.query:
        return {}
    hosts = url.query.get("host") or url.host
    names = [hosts] if isinstance(hosts, str) or hosts is None else list(hosts)
    return {"ssl": False} if all(_is_local(name) for name in names) else {}


def _is_local(host: str | None) -> bool:
    """Loopback (127.0.0.0/8, ::1, localhost) or a Unix socket (no host, or a directory)."""
    if not host or host.startswith("/") or host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def create_engine(
    database_url: str,
    *,
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
    pool_size: int = 10,
    max_overflow: int = 10,
) -> AsyncEngine:
    """An engine whose connections are checked before use and fail fast when unreachable."""
    url = async_url(database_url)
    return create_async_engine(
        url,
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
            **tls_args(url),
        },
    )
