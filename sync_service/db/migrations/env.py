"""Alembic environment: runs the migrations over the async engine, in an event loop of its own."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from sync_service.db.engine import DEFAULT_CONNECT_TIMEOUT_S, async_url
from sync_service.db.tables import metadata

# Several processes may start at once (`dualsync run all`); this lock lets one migrate at a time.
# The key is b"dsmigrat" read as a bigint: recognisable in pg_locks, distinct from the append lock.
MIGRATION_LOCK_KEY = int.from_bytes(b"dsmigrat", "big")


def _database_url() -> str:
    url = context.config.attributes.get("database_url") or context.config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise RuntimeError("no database URL: pass it through sync_service.db.migrate")
    return str(url)


def _run_migrations(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        # Transaction-scoped, so it is released with the migration transaction's commit.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        context.run_migrations()


async def _run_online() -> None:
    engine = create_async_engine(
        async_url(_database_url()),
        poolclass=NullPool,
        connect_args={"timeout": DEFAULT_CONNECT_TIMEOUT_S},
    )
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_migrations)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_database_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_online())
