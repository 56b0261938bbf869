"""The engine reaches PostgreSQL through asyncpg, and gives up quickly when it cannot."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from sync_service.db.engine import async_url, create_engine, tls_args


def test_a_plain_postgresql_url_gets_the_asyncpg_driver() -> None:
    url = async_url("postgresql://u:p%25w@db:5432/dualsync")
    assert url.drivername == "postgresql+asyncpg"
    assert url.password == "p%w"


def test_another_driver_is_refused() -> None:
    with pytest.raises(ValueError, match="psycopg2"):
        async_url("postgresql+psycopg2://u:p@db/dualsync")


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u@127.0.0.1/d",
        "postgresql://u@127.0.0.9:5433/d",
        "postgresql://u@localhost/d",
        "postgresql://u@[::1]/d",
        "postgresql://u@/d?host=/var/run/postgresql",
    ],
)
def test_this_machine_is_reached_without_tls(url: str) -> None:
    assert tls_args(async_url(url)) == {"ssl": False}


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u@db.example.com/d",
        "postgresql://u@10.0.0.5/d",
        "postgresql://u@127.0.0.1/d?sslmode=require",
        "postgresql://u@localhost/d?ssl=verify-full",
    ],
)
def test_remote_hosts_and_explicit_tls_keep_asyncpgs_choice(url: str) -> None:
    assert tls_args(async_url(url)) == {}


@pytest.mark.integration
async def test_the_engine_connects(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            assert await connection.scalar(text("SELECT 1")) == 1
            # The test database is on this machine: its session is not encrypted.
            own_ssl = text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            assert await connection.scalar(own_ssl) is False
    finally:
        await engine.dispose()


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """A port that accepts TCP connections and never answers, like a hung database."""
    writers: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    for writer in writers:
        writer.close()
    server.close()
    await server.wait_closed()


async def test_an_unresponsive_database_fails_within_the_connect_timeout(
    silent_server: int,
) -> None:
    engine = create_engine(
        f"postgresql+asyncpg://u:p@127.0.0.1:{silent_server}/db", connect_timeout_s=0.5
    )
    started = time.monotonic()
    try:
        with pytest.raises((TimeoutError, OSError)):
            # The outer bound only keeps a regression (asyncpg's 60 s default) from hanging.
            async with asyncio.timeout(10), engine.connect():
                pass
    finally:
        await engine.dispose()
    assert time.monotonic() - started < 3
