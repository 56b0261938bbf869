"""Fixtures of the outage tests: a private Kafka and PostgreSQL they may stop and start.

One private stack for the whole session (started by the first test that asks for it, about
ten seconds), so the shared stack that every other test uses is never stopped. Each test gets
its own database, cloned from a template migrated once, and its own topic prefix, and finds
both parts up when it starts, whatever a failed test before it left down.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from bench.private_stack import PrivateStack, private_stack
from sync_service.db.migrate import upgrade_to_head
from sync_service.kafka_acls import apply_acls
from sync_service.settings import Settings
from sync_service.topics import ensure_topics
from tests.command_signing import new_signing_key
from tests.conftest import _admin, _drop, _with_database


@pytest.fixture(scope="session")
def outage_stack() -> Iterator[PrivateStack]:
    """A Kafka and a PostgreSQL of this session's own, on free ports."""
    with private_stack() as stack:
        yield stack


@pytest.fixture(scope="session")
async def outage_template(outage_stack: PrivateStack) -> str:
    """A migrated database on the private PostgreSQL, to clone per test."""
    name = f"dualsync_outage_tpl_{uuid.uuid4().hex[:8]}"
    await _admin(outage_stack, f'CREATE DATABASE "{name}"')
    await asyncio.to_thread(upgrade_to_head, _with_database(outage_stack.database_url, name))
    return name


@pytest.fixture
async def outage_settings(
    outage_stack: PrivateStack, outage_template: str
) -> AsyncIterator[Settings]:
    """Settings on the private stack, with a database and topic prefix of this test's own."""
    await outage_stack.start("kafka")  # no-ops when up
    await outage_stack.start("postgres")
    name = f"dualsync_test_{uuid.uuid4().hex[:12]}"
    await _admin(outage_stack, f'CREATE DATABASE "{name}" TEMPLATE "{outage_template}"')
    settings = Settings(
        kafka_bootstrap=outage_stack.kafka_bootstrap,
        kafka_passwords=outage_stack.kafka_passwords(),  # its own, not the shared stack's
        database_url=_with_database(outage_stack.database_url, name),
        topic_prefix=f"outage-{uuid.uuid4().hex[:10]}.",
        connect_timeout_s=5.0,
        allowed_hosts="portal.test,127.0.0.1,localhost",  # the ASGI clients, the live servers
        command_signing_key=new_signing_key(),
    )
    await ensure_topics(settings)
    await apply_acls(settings)
    yield settings
    await outage_stack.start("postgres")
    await _drop(outage_stack, name)
