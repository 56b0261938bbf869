"""The PostgreSQL adapters pass the shared contract, and keep the log gap-free under load."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from sync_service.db.engine import create_engine
from sync_service.db.schema import events
from sync_service.eventstore import CheckpointStore, ConcurrencyConflict, EventStore, StoredEvent
from sync_service.eventstore.postgres import (
    APPEND_LOCK_KEY,
    NOTIFY_CHANNEL,
    PostgresCheckpointStore,
    PostgresEventStore,
)
from tests.sync_service.eventstore.contract import (
    OCCURRED,
    CheckpointStoreContract,
    EventStoreContract,
    new_event,
    numbered,
)

pytestmark = pytest.mark.integration


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    # Room for every writer of the gap-safety test at once, so that they really contend.
    engine = create_engine(database_url, pool_size=25, max_overflow=5)
    yield engine
    await engine.dispose()


@pytest.fixture
def store(engine: AsyncEngine) -> PostgresEventStore:
    return PostgresEventStore(engine)


class TestPostgresEventStore(EventStoreContract):
    @pytest.fixture
    def store(self, engine: AsyncEngine) -> EventStore:
        return PostgresEventStore(engine)


class TestPostgresCheckpointStore(CheckpointStoreContract):
    @pytest.fixture
    def checkpoints(self, engine: AsyncEngine) -> CheckpointStore:
        return PostgresCheckpointStore(engine)


def _raw_row(position: int, stream_id: str, version: int) -> dict[str, object]:
    """An events row written behind the store's back, to stage races the store must survive."""
    return {
        "position": position,
        "stream_id": stream_id,
        "stream_type": "order",
        "version": version,
        "event_id": uuid.uuid4(),
        "event_type": "OrderSubmitted",
        "schema_version": 1,
        "occurred_at": OCCURRED,
        "origin": "portal",
        "company": "usmf",
        "correlation_id": uuid.uuid4(),
        "causation_id": None,
        "payload": {},
    }


async def test_a_follower_sees_every_position_once_in_order_under_concurrent_appends(
    store: PostgresEventStore,
) -> None:
    writers, appends_each = 20, 10
    done = asyncio.Event()
    seen: list[StoredEvent] = []

    async def write(stream_id: str) -> None:
        version = 0
        for append in range(appends_each):
            # Batches of 1 to 3 events, so that positions and versions do not move in lockstep.
            stored = await store.append(stream_id, "order", version, numbered(1 + append % 3))
            version = stored[-1].version

    async def follow() -> None:
        # What a relay does: read after the last position seen, and never look back.
        last = 0
        while True:
            finished = done.is_set()
            batch = await store.read_all(after_position=last, limit=50)
            seen.extend(batch)
            if batch:
                last = batch[-1].position
            elif finished:
                return

    follower = asyncio.create_task(follow())
    try:
        await asyncio.gather(*(write(f"order-{w}") for w in range(writers)))
    finally:
        done.set()
        await follower

    log = await store.read_all(limit=10_000)
    expected_count = writers * sum(1 + v % 3 for v in range(appends_each))
    assert [event.position for event in log] == list(range(1, expected_count + 1))
    assert seen == log
    for w in range(writers):
        stream = await store.read_stream(f"order-{w}")
        assert [event.version for event in stream] == list(range(1, len(stream) + 1))


async def test_an_append_waits_until_the_lock_holder_has_committed(
    store: PostgresEventStore, engine: AsyncEngine
) -> None:
    async with engine.connect() as slow:
        # A slow writer inside its append: lock taken, position 1 written, not yet committed.
        await slow.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPEND_LOCK_KEY})
        await slow.execute(insert(events), [_raw_row(1, "order-slow", 1)])
        fast = asyncio.create_task(store.append("order-fast", "order", 0, numbered(1)))

        done, _ = await asyncio.wait({fast}, timeout=0.5)
        assert not done, "an append took a position while an earlier one was uncommitted"
        assert await store.read_all() == []

        await slow.commit()
        appended = await asyncio.wait_for(fast, timeout=5)

    assert [event.position for event in appended] == [2]
    assert [(e.position, e.stream_id) for e in await store.read_all()] == [
        (1, "order-slow"),
        (2, "order-fast"),
    ]


async def test_the_unique_constraint_turns_a_lockless_racer_into_a_conflict(
    store: PostgresEventStore, engine: AsyncEngine
) -> None:
    async with engine.connect() as racer:
        # A writer that skipped the lock holds version 1 of the stream, uncommitted.
        await racer.execute(insert(events), [_raw_row(1000, "order-a", 1)])
        append = asyncio.create_task(store.append("order-a", "order", 0, numbered(1)))
        await asyncio.sleep(0.3)
        await racer.commit()

        with pytest.raises(ConcurrencyConflict) as caught:
            await asyncio.wait_for(append, timeout=5)

    assert (caught.value.expected_version, caught.value.actual_version) == (0, 1)
    assert [event.position for event in await store.read_all()] == [1000]


@pytest.fixture
async def listener(database_url: str) -> AsyncIterator[asyncio.Queue[str]]:
    """Payloads of notifications on the store's channel, through a raw asyncpg connection."""
    dsn = make_url(database_url).set(drivername="postgresql")
    connection = await asyncpg.connect(dsn.render_as_string(hide_password=False))
    received: asyncio.Queue[str] = asyncio.Queue()
    await connection.add_listener(NOTIFY_CHANNEL, lambda *args: received.put_nowait(args[-1]))
    yield received
    await connection.close()


async def test_a_committed_append_notifies_its_last_position(
    store: PostgresEventStore, listener: asyncio.Queue[str]
) -> None:
    await store.append("order-a", "order", 0, numbered(3))
    assert await asyncio.wait_for(listener.get(), timeout=5) == "3"

    await store.append("order-b", "order", 0, [new_event()])
    assert await asyncio.wait_for(listener.get(), timeout=5) == "4"


async def test_a_refused_append_notifies_nobody(
    store: PostgresEventStore, listener: asyncio.Queue[str]
) -> None:
    await store.append("order-a", "order", 0, numbered(1))
    assert await asyncio.wait_for(listener.get(), timeout=5) == "1"

    with pytest.raises(ConcurrencyConflict):
        await store.append("order-a", "order", 0, numbered(1))
    await asyncio.sleep(0.3)

    assert listener.empty()


async def test_appends_stay_serialised_on_a_repeatable_read_engine(engine: AsyncEngine) -> None:
    # The store pins READ COMMITTED itself; a snapshot from before the lock would reuse positions.
    store = PostgresEventStore(engine.execution_options(isolation_level="REPEATABLE READ"))

    await asyncio.gather(*(store.append(f"order-{k}", "order", 0, numbered(2)) for k in range(10)))

    assert [event.position for event in await store.read_all()] == list(range(1, 21))
