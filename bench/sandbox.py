"""A database and a topic prefix of the bench's own, so that a run never touches `make run`'s data.

The database is created on the same PostgreSQL server as `DUALSYNC_DATABASE_URL` (through the
admin connection the tests use), migrated to head and loaded with the demo data; the topics get
a unique prefix. Both are removed at the end unless the run is told to keep them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from sync_service.db.engine import create_engine
from sync_service.db.migrate import upgrade_to_head
from sync_service.demo_data import seed_demo
from sync_service.eventstore.postgres import PostgresEventStore
from sync_service.kafka_access import client_options
from sync_service.kafka_access import environment as kafka_environment
from sync_service.kafka_acls import apply_acls, delete_acls
from sync_service.settings import Settings
from sync_service.topics import ensure_topics

__all__ = ["Sandbox", "asyncpg_dsn", "free_port"]


def asyncpg_dsn(url: str) -> str:
    """A SQLAlchemy URL as a plain DSN that asyncpg accepts."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _new_prefix(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex[:10]}."


def free_port(host: str) -> int:
    """A TCP port on `host` that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@dataclass
class Sandbox:
    """The bench's database and topics, and the settings and environment that point at them."""

    base: Settings
    database: str
    settings: Settings
    created: bool = False
    prefixes: list[str] = field(default_factory=list)
    """Every topic prefix used so far (a fresh pipeline gets a new one), to delete at the end."""
    kind: str = "bench"
    """Who made it (`bench`, `chaos`): the start of its database name and topic prefix."""

    @classmethod
    def plan(cls, base: Settings, kind: str = "bench") -> Sandbox:
        """Names for a new sandbox; nothing is created yet."""
        stamp = datetime.now(UTC).strftime("%Y%m%d_%H%M%S")
        database = f"dualsync_{kind}_{stamp}_{uuid.uuid4().hex[:6]}"
        settings = base.model_copy(
            update={
                "database_url": make_url(base.database_url)
                .set(database=database)
                .render_as_string(hide_password=False),
                "topic_prefix": _new_prefix(kind),
                "admin_token": SecretStr(secrets.token_urlsafe(24)),
                "command_signing_key": SecretStr(secrets.token_urlsafe(32)),
                "command_signing_previous_keys": None,
                "api_port": free_port(base.api_host),
            }
        )
        return cls(base, database, settings, prefixes=[settings.topic_prefix], kind=kind)

    @property
    def admin_token(self) -> str:
        """The bootstrap Administrator credential the bench's API accepts."""
        assert self.settings.admin_token is not None
        return self.settings.admin_token.get_secret_value()

    @property
    def signing_key(self) -> str:
        """The command signing key the bench's API and command processor share."""
        assert self.settings.command_signing_key is not None
        return self.settings.command_signing_key.get_secret_value()

    @property
    def api_url(self) -> str:
        """Where the bench's API listens."""
        return f"http://{self.settings.api_host}:{self.settings.api_port}"

    def env(self) -> dict[str, str]:
        """The environment of a dualsync child process: this sandbox's database and topics."""
        settings = self.settings
        return {
            **os.environ,
            "DUALSYNC_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "DUALSYNC_DATABASE_URL": settings.database_url,
            "DUALSYNC_TOPIC_PREFIX": settings.topic_prefix,
            **kafka_environment(settings),
            "DUALSYNC_ADMIN_TOKEN": self.admin_token,
            "DUALSYNC_COMMAND_SIGNING_KEY": self.signing_key,
            "DUALSYNC_API_HOST": settings.api_host,
            "DUALSYNC_API_PORT": str(settings.api_port),
            # Each worker is a process of its own: a shared metrics port would clash.
            "DUALSYNC_METRICS_PORT": "0",
        }

    async def _admin(self, sql: str) -> None:
        connection = await asyncpg.connect(asyncpg_dsn(self.base.database_url))
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    async def create(self) -> None:
        """Create and migrate the database, create the topics, load the demo data."""
        await self._admin(f'CREATE DATABASE "{self.database}"')
        self.created = True
        await asyncio.to_thread(upgrade_to_head, self.settings.database_url)
        await ensure_topics(self.settings)
        await apply_acls(self.settings)
        engine = create_engine(self.settings.database_url)
        try:
            await seed_demo(PostgresEventStore(engine))
        finally:
            await engine.dispose()

    async def renew_topics(self) -> None:
        """Switch to a new topic prefix with empty topics (a backlog stays behind in the old)."""
        self.settings = self.settings.model_copy(update={"topic_prefix": _new_prefix(self.kind)})
        self.prefixes.append(self.settings.topic_prefix)
        await ensure_topics(self.settings)
        await apply_acls(self.settings)

    async def remove(self) -> None:
        """Drop the database and delete the topics of this sandbox (best effort for topics)."""
        if self.created:
            await self._admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            self.created = False
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.settings.kafka_bootstrap,
            **client_options(self.settings, "admin"),
        )
        await admin.start()
        try:
            prefixes = tuple(self.prefixes)
            mine = [topic for topic in await admin.list_topics() if topic.startswith(prefixes)]
            if mine:
                with contextlib.suppress(Exception):  # leftover topics are harmless, just untidy
                    await admin.delete_topics(mine)
        finally:
            await admin.close()
        with contextlib.suppress(Exception):  # like the topics: leftovers are only untidy
            await delete_acls(self.settings, self.prefixes)
