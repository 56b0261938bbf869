"""Session-wide real Kafka and PostgreSQL, and per-test isolation on top of them.

Isolation: every test that asks for `settings` gets its own topic prefix and its own database,
cloned from a migrated template database (cheap: PostgreSQL copies files). The prefix's topics
exist and every role's ACLs on them are in place (services may not create topics), so a test
runs each service as its own principal, exactly as a deployment does.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg  # type: ignore[import-untyped]
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy.engine import make_url

from sync_service.db.migrate import upgrade_to_head
from sync_service.kafka_access import client_options
from sync_service.kafka_acls import apply_acls, delete_acls
from sync_service.settings import Settings
from sync_service.topics import ensure_topics
from tests.command_signing import new_signing_key
from tests.stack import Stack, provide_stack

# The private stack that outage tests stop and start (never the shared one below).
pytest_plugins = ("tests.outage_stack",)

_PREFIXES: set[str] = set()
"""Every topic prefix handed out in this session: their topics are deleted when it ends."""


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    with provide_stack() as running:
        yield running


@pytest.fixture(scope="session")
async def _test_topics_deleted(stack: Stack) -> AsyncIterator[None]:
    """At the session's end, delete the topics of every prefix it handed out.

    A long-lived development broker would otherwise gather thousands of test topics over many
    runs, until its controller runs out of heap.
    """
    yield
    if not _PREFIXES:
        return
    settings = Settings(kafka_bootstrap=stack.kafka_bootstrap)
    admin = AIOKafkaAdminClient(
        bootstrap_servers=stack.kafka_bootstrap, **client_options(settings, "admin")
    )
    await admin.start()
    try:
        mine = [t for t in await admin.list_topics() if t.startswith(tuple(_PREFIXES))]
        for start in range(0, len(mine), 200):
            await admin.delete_topics(mine[start : start + 200])
    finally:
        await admin.close()
    await delete_acls(settings, _PREFIXES)


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


async def _drop(stack: Stack, name: str) -> None:
    """Drop a test database, waiting out PostgreSQL's own sessions on it.

    WITH (FORCE) ends the tests' leftover connections, but not an autovacuum worker that a
    busy test set off there: our role may not signal it, and PostgreSQL says so
    (InsufficientPrivilegeError). The worker is done in moments; try again, for a bounded time.
    """
    for _ in range(40):
        try:
            await _admin(stack, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except (asyncpg.InsufficientPrivilegeError, asyncpg.ObjectInUseError):
            await asyncio.sleep(0.25)
    await _admin(stack, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _admin(stack: Stack, sql: str) -> None:
    connection = await asyncpg.connect(_asyncpg_dsn(stack.database_url))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
async def template_database(stack: Stack) -> AsyncIterator[str]:
    """A database migrated to the newest schema, to clone per test."""
    name = f"dualsync_test_tpl_{uuid.uuid4().hex[:8]}"
    await _admin(stack, f'CREATE DATABASE "{name}"')
    await asyncio.to_thread(upgrade_to_head, _with_database(stack.database_url, name))
    yield name
    await _drop(stack, name)


@pytest.fixture
async def database_url(stack: Stack, template_database: str) -> AsyncIterator[str]:
    """A fresh, migrated database of this test's own."""
    name = f"dualsync_test_{uuid.uuid4().hex[:12]}"
    await _admin(stack, f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"')
    yield _with_database(stack.database_url, name)
    await _drop(stack, name)


@pytest.fixture
def topic_prefix(_test_topics_deleted: None) -> str:
    """A topic prefix of this test's own, so that tests never read each other's records."""
    prefix = f"test-{uuid.uuid4().hex[:10]}."
    _PREFIXES.add(prefix)
    return prefix


@pytest.fixture
def kafka_bootstrap(stack: Stack) -> str:
    return stack.kafka_bootstrap


@pytest.fixture
async def settings(stack: Stack, database_url: str, topic_prefix: str) -> Settings:
    """Settings that point at the real stack, with this test's database and topics (created,
    with every role's ACLs on them)."""
    settings = Settings(
        kafka_bootstrap=stack.kafka_bootstrap,
        database_url=database_url,
        topic_prefix=topic_prefix,
        connect_timeout_s=10.0,
        # The ASGI clients' base URL (http://portal.test) and the live servers' 127.0.0.1.
        allowed_hosts="portal.test,127.0.0.1,localhost",
        command_signing_key=new_signing_key(),
    )
    await ensure_topics(settings)
    await apply_acls(settings)
    return settings
