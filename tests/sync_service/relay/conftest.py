"""A real event store and a real cds.events.v1 topic for the relay, and ways to read both."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from itertools import cycle
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.envelope import envelope
from contracts.topics import CDS_EVENTS
from sync_service.db.engine import create_engine
from sync_service.eventstore.base import StoredEvent
from sync_service.eventstore.envelopes import to_new_event
from sync_service.eventstore.postgres import PostgresEventStore
from sync_service.relay import OutboxRelay
from sync_service.settings import Settings
from sync_service.topics import ensure_topics
from tests.contracts.samples import SAMPLES
from tests.kafka_roles import as_role

_PAYLOADS = cycle(sorted(SAMPLES.items()))


@dataclass(frozen=True)
class Received:
    """One record read back from the topic."""

    key: str
    value: bytes
    headers: dict[str, str]
    partition: int
    offset: int

    @property
    def message_id(self) -> str:
        return self.headers["message_id"]


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    # Room for every concurrent appender of the gap-safety test.
    engine = create_engine(database_url, pool_size=25, max_overflow=5)
    yield engine
    await engine.dispose()


@pytest.fixture
def store(engine: AsyncEngine) -> PostgresEventStore:
    return PostgresEventStore(engine)


@pytest.fixture
async def topic(settings: Settings) -> str:
    """The test's cds.events.v1, with the contract's three partitions so that keys spread."""
    await ensure_topics(settings, [CDS_EVENTS])
    return settings.topic(CDS_EVENTS)


async def append(store: PostgresEventStore, stream_id: str, count: int = 1) -> list[StoredEvent]:
    """Append `count` sample events, one append each, to the end of `stream_id`."""
    stored: list[StoredEvent] = []
    for _ in range(count):
        _, payload = next(_PAYLOADS)
        event = to_new_event(envelope(payload, origin="portal", company="usmf"))
        version = await store.stream_version(stream_id)
        stored += await store.append(stream_id, "Test", version, [event])
    return stored


async def read_topic(
    bootstrap: str, topic: str, count: int, *, timeout_s: float = 30, settle_ms: int = 1000
) -> list[Received]:
    """At least `count` records, then whatever else arrives within `settle_ms` (duplicates)."""
    consumer = AIOKafkaConsumer(
        topic,
        **as_role(Settings(kafka_bootstrap=bootstrap), "operator"),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    seen: list[Received] = []

    def take(batch: dict[Any, list[Any]]) -> None:
        for records in batch.values():
            seen.extend(
                Received(
                    key=record.key.decode(),
                    value=record.value,
                    headers={k: v.decode() for k, v in record.headers},
                    partition=record.partition,
                    offset=record.offset,
                )
                for record in records
            )

    try:
        async with asyncio.timeout(timeout_s):
            while len(seen) < count:
                take(await consumer.getmany(timeout_ms=200))
        take(await consumer.getmany(timeout_ms=settle_ms))
    finally:
        await consumer.stop()
    return seen


@asynccontextmanager
async def running(relay: OutboxRelay) -> AsyncIterator[asyncio.Task[None]]:
    """`relay.run()` in a task for the block; stopped after it, and any failure re-raised."""
    task = asyncio.create_task(relay.run(), name=f"relay-{uuid.uuid4().hex[:6]}")
    try:
        yield task
    finally:
        async with asyncio.timeout(30):
            await relay.stop()
            await task


async def eventually(condition: Callable[[], object], *, timeout_s: float = 30) -> None:
    """Wait until `condition()` is true."""
    async with asyncio.timeout(timeout_s):
        # Polls: the state belongs to a relay task or the database, with no event to await.
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.02)
