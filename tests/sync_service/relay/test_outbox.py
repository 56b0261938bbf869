"""The relay puts every stored event on cds.events.v1: in order, at least once, never skipping."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.envelope import to_json_bytes
from contracts.registry import decode
from sync_service.eventstore.envelopes import to_envelope
from sync_service.eventstore.postgres import PostgresCheckpointStore, PostgresEventStore
from sync_service.relay import RELAY_CHECKPOINT, OutboxRelay
from sync_service.settings import Settings
from tests.sync_service.relay.conftest import append, eventually, read_topic, running

pytestmark = pytest.mark.integration


async def test_publishes_each_event_keyed_by_stream_in_position_order(
    settings: Settings, engine: AsyncEngine, store: PostgresEventStore, topic: str
) -> None:
    stored = []
    for _ in range(4):  # interleaved, so that global order and stream order differ
        for stream in ("order-a", "order-b", "contact-c"):
            stored += await append(store, stream)

    async with OutboxRelay(settings, engine=engine) as relay:
        assert await relay.publish_pending() == len(stored)
    received = await read_topic(settings.kafka_bootstrap, topic, len(stored))

    assert sorted(r.message_id for r in received) == sorted(str(e.event_id) for e in stored)
    by_id = {str(event.event_id): event for event in stored}
    for record in received:
        event = by_id[record.message_id]
        assert record.key == event.stream_id
        assert decode(record.value) == to_envelope(event)
        # Sent without re-validation, yet the same JSON value as the validated envelope's.
        assert json.loads(record.value) == json.loads(to_json_bytes(to_envelope(event)))
        assert record.headers["type"] == event.event_type
        assert record.headers["correlation_id"] == str(event.correlation_id)
        assert record.headers["content-type"] == "application/json"
    for stream in ("order-a", "order-b", "contact-c"):
        mine = [r for r in received if r.key == stream]
        assert len({r.partition for r in mine}) == 1
        positions = [by_id[r.message_id].position for r in sorted(mine, key=lambda r: r.offset)]
        assert positions == sorted(positions) and len(positions) == 4
    checkpoint = await PostgresCheckpointStore(engine).get(RELAY_CHECKPOINT)
    assert checkpoint == stored[-1].position == relay.last_published_position
    assert relay.last_published_at is not None


async def test_a_restarted_relay_resumes_from_its_checkpoint(
    settings: Settings, engine: AsyncEngine, store: PostgresEventStore, topic: str
) -> None:
    first = await append(store, "order-a", 5)
    async with OutboxRelay(settings, engine=engine, batch_size=2) as relay:
        assert await relay.publish_pending() == 5
    later = await append(store, "order-a", 3)
    async with OutboxRelay(settings, engine=engine, batch_size=2) as restarted:
        assert await restarted.publish_pending() == 3
        assert await restarted.publish_pending() == 0

    received = await read_topic(settings.kafka_bootstrap, topic, 8)
    assert [r.message_id for r in received] == [str(e.event_id) for e in first + later]


async def test_concurrent_appenders_each_event_on_the_topic_exactly_once(
    settings: Settings, engine: AsyncEngine, store: PostgresEventStore, topic: str
) -> None:
    relay = OutboxRelay(settings, engine=engine, batch_size=50)
    async with running(relay):
        results = await asyncio.gather(
            *(append(store, f"stream-{writer}", 10) for writer in range(20))
        )
        stored = [event for events in results for event in events]
        head = await store.head_position()
        await eventually(lambda: relay.last_published_position == head)

    assert len(stored) == head == 200
    received = await read_topic(settings.kafka_bootstrap, topic, len(stored))
    counts = Counter(r.message_id for r in received)
    assert counts == Counter(str(event.event_id) for event in stored)  # none missing, no twice
    by_id = {str(event.event_id): event for event in stored}
    for writer in range(20):
        mine = sorted((r for r in received if r.key == f"stream-{writer}"), key=lambda r: r.offset)
        assert [by_id[r.message_id].version for r in mine] == list(range(1, 11))


class _CrashOnSecondSave(PostgresCheckpointStore):
    """Saves the first checkpoint, then fails once, as a process killed before saving would."""

    saves = 0

    async def set(self, name: str, position: int) -> None:
        self.saves += 1
        if self.saves == 2:
            raise ConnectionResetError("killed between publishing and checkpointing")
        await super().set(name, position)


async def test_a_crash_before_checkpointing_republishes_that_batch_and_skips_nothing(
    settings: Settings, engine: AsyncEngine, store: PostgresEventStore, topic: str
) -> None:
    stored = await append(store, "order-a", 7) + await append(store, "order-b", 5)
    crashing = OutboxRelay(
        settings, engine=engine, batch_size=5, checkpoints=_CrashOnSecondSave(engine)
    )
    with pytest.raises(ConnectionResetError):
        await crashing.publish_pending()
    await crashing.aclose()
    assert await PostgresCheckpointStore(engine).get(RELAY_CHECKPOINT) == 5

    async with OutboxRelay(settings, engine=engine, batch_size=5) as restarted:
        assert await restarted.publish_pending() == 7  # positions 6..12, from the checkpoint
        later = await append(store, "order-a", 2)
        assert await restarted.publish_pending() == 2

    everything = stored + later
    received = await read_topic(settings.kafka_bootstrap, topic, len(everything) + 5)
    counts = Counter(r.message_id for r in received)
    assert set(counts) == {str(e.event_id) for e in everything}  # nothing skipped
    twice = {message_id for message_id, seen in counts.items() if seen > 1}
    assert twice == {str(e.event_id) for e in stored[5:10]}  # exactly the lost batch
    assert max(counts.values()) == 2
    by_id = {str(event.event_id): event for event in everything}
    for stream in ("order-a", "order-b"):
        mine = sorted((r for r in received if r.key == stream), key=lambda r: r.offset)
        first_seen = list(dict.fromkeys(by_id[r.message_id].version for r in mine))
        assert first_seen == sorted(first_seen)  # a redelivery never reorders first sightings


async def test_an_append_to_an_idle_relay_arrives_by_notification_not_by_polling(
    settings: Settings, engine: AsyncEngine, store: PostgresEventStore, topic: str
) -> None:
    # A fallback poll far beyond the wait below: only LISTEN/NOTIFY can deliver in time.
    relay = OutboxRelay(settings, engine=engine, fallback_poll_s=300)
    async with running(relay):
        await eventually(lambda: relay.is_leader and relay.last_published_position == 0)
        await asyncio.sleep(0.5)  # the initial catch-up pass has found nothing and is idle
        stored = []
        for _ in range(5):  # one at a time: each needs its own notification
            [event] = await append(store, "order-a")
            await eventually(
                lambda e=event: relay.last_published_position == e.position, timeout_s=15
            )
            stored.append(event)
    received = await read_topic(settings.kafka_bootstrap, topic, 5)
    assert [r.message_id for r in received] == [str(e.event_id) for e in stored]
