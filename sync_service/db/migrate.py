"""Apply and inspect the Alembic migrations, configured in code (no alembic.ini)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from sync_service.db.engine import DEFAULT_CONNECT_TIMEOUT_S, async_url

__all__ = [
    "MIGRATIONS_DIR",
    "alembic_config",
    "current_revision",
    "head_revision",
    "upgrade_to_head",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Alembic keeps its running context in module globals, so two migrations in threads of one
# process would trample each other. Across processes, env.py's advisory lock takes over.
_alembic_lock = threading.Lock()


def alembic_config(database_url: str) -> Config:
    """The Alembic configuration for this project's migrations against one database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Passed as an attribute, not a main option: ConfigParser would mangle a '%' in a password.
    config.attributes["database_url"] = database_url
    return config


def upgrade_to_head(database_url: str) -> None:
    """Migrate the database to the newest schema; a no-op when it is there already.

    Synchronous and runs its own event loop: call it from a thread (asyncio.to_thread) when an
    event loop is already running.
    """
    with _alembic_lock:
        command.upgrade(alembic_config(database_url), "head")


def head_revision() -> str:
    """The newest revision that the migrations define."""
    head = ScriptDirectory.from_config(alembic_config("postgresql://")).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


def current_revision(database_url: str) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    return asyncio.run(_current_revision(database_url))


async def _current_revision(database_url: str) -> str | None:
    engine = create_async_engine(
        async_url(database_url),
        poolclass=NullPool,
        connect_args={"timeout": DEFAULT_CONNECT_TIMEOUT_S},
    )
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_revision_of)
    finally:
        await engine.dispose()


def _revision_of(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()
