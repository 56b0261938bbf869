"""One relay publishes at a time: a second one stands by on the lock and takes over."""

from __future__ import annotations

import asyncio
from collections import Counter

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from sync_service.eventstore.postgres import PostgresEventStore
from sync_service.relay import OutboxRelay
from sync_service.relay.leadership import RELAY_APPLICATION_NAME
from sync_service.settings import Settings
from tests.sync_service.relay.conftest import append, eventually, read_topic, running

pytestmark = pytest.mark.integration


async def test_a_second_relay_stands_by_and_takes_over_when_the_first_stops(
    settings: Settings, engine: AsyncEngine, store: PostgresEventStore, topic: str
) -> None:
    first, second = OutboxRelay(settings), OutboxRelay(settings)
    first_task = asyncio.create_task(first.run())
    await eventually(lambda: first.is_leader)
    async with running(second):
        before = await append(store, "order-a", 3) + await append(store, "order-b", 2)
        await eventually(lambda: first.last_published_position == 5)
        await asyncio.sleep(0.3)
        assert not second.is_leader
        assert second.last_published_position is None  # it never published

        await first.stop()
        await first_task
        await eventually(lambda: second.is_leader)
        after = await append(store, "order-a", 4)
        await eventually(lambda: second.last_published_position == 9)

    received = await read_topic(settings.kafka_bootstrap, topic, 9)
    assert Counter(r.message_id for r in received) == Counter(
        str(e.event_id) for e in before + after
    )


async def test_a_standby_stops_promptly_without_touching_the_leader(
    settings: Settings, engine: AsyncEngine, store: PostgresEventStore, topic: str
) -> None:
    leader = OutboxRelay(settings, engine=engine)
    async with running(leader):
        await eventually(lambda: leader.is_leader)
        standby = OutboxRelay(settings)
        task = asyncio.create_task(standby.run())
        await asyncio.sleep(0.5)
        assert not standby.is_leader and not task.done()
        async with asyncio.timeout(5):
            await standby.stop()
            await task
        await append(store, "order-a")
        await eventually(lambda: leader.last_published_position == 1)
        assert leader.is_leader


async def test_a_lost_session_is_reopened_and_notifications_heard_again(
    settings: Settings, engine: AsyncEngine, store: PostgresEventStore, topic: str
) -> None:
    # The fallback poll is far away: only a re-established LISTEN can deliver in time.
    relay = OutboxRelay(settings, engine=engine, fallback_poll_s=300)
    admin = await asyncpg.connect(
        make_url(settings.database_url)
        .set(drivername="postgresql")
        .render_as_string(hide_password=False)
    )

    async def relay_session() -> int | None:
        pid: int | None = await admin.fetchval(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = $1",
            RELAY_APPLICATION_NAME,
        )
        return pid

    try:
        async with running(relay):
            await eventually(lambda: relay.is_leader and relay.last_published_position == 0)
            before = await relay_session()
            # The LISTEN session is on this machine: no TLS on it (see sync_service/db/engine.py).
            ssl = await admin.fetchval("SELECT ssl FROM pg_stat_ssl WHERE pid = $1", before)
            assert ssl is False
            # Every session of the database, the pooled ones too, as a restart would do.
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            async with asyncio.timeout(10):
                while (after := await relay_session()) in (None, before):  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)  # idle again, listening on the new session
            [event] = await append(store, "order-a")
            await eventually(lambda: relay.last_published_position == event.position, timeout_s=10)
            assert relay.is_leader and after != before
    finally:
        await admin.close()
