"""An event Kafka can never take is dead-lettered by its position; the relay goes on."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.cds import Contact
from contracts.envelope import envelope
from contracts.events import ContactUpserted
from sync_service.eventstore.envelopes import to_new_event
from sync_service.eventstore.postgres import PostgresCheckpointStore, PostgresEventStore
from sync_service.mappings.dead_letter_rows import EVENT_LOG
from sync_service.mappings.tables import dead_letters
from sync_service.relay import RELAY_CHECKPOINT, OutboxRelay
from sync_service.relay.outbox import RELAY_CONSUMER
from sync_service.settings import Settings
from tests.sync_service.relay.conftest import append, eventually, read_topic, running

pytestmark = pytest.mark.integration


async def test_an_event_larger_than_kafka_takes_is_dead_lettered_and_the_log_moves_on(
    settings: Settings, engine: AsyncEngine, store: PostgresEventStore, topic: str
) -> None:
    before = await append(store, "stream-a", 2)
    # 2 MB of text: more than Kafka's default 1 MB for one record, fine for PostgreSQL.
    contact = Contact.model_validate({"contactid": "6f4f4c1e-8b51-4a4e-9d2f-3a1b2c3d4e5f"})
    huge = to_new_event(envelope(ContactUpserted(contact=contact), origin="portal", company="usmf"))
    huge = dataclasses.replace(
        huge,
        payload={
            **huge.payload,
            "contact": {**huge.payload["contact"], "firstname": "x" * 2_000_000},
        },
    )
    [too_large] = await store.append("contact-huge", "contact", 0, [huge])
    after = await append(store, "stream-a", 2)
    relay = OutboxRelay(settings, engine=engine, fallback_poll_s=0.2)

    async with running(relay):
        await eventually(lambda: relay.last_published_position == after[-1].position)
        received = await read_topic(settings.kafka_bootstrap, topic, 4, settle_ms=200)

    assert [r.message_id for r in received if r.key == "stream-a"] == [
        str(event.event_id) for event in [*before, *after]
    ]
    assert str(too_large.event_id) not in {r.message_id for r in received}
    assert await PostgresCheckpointStore(engine).get(RELAY_CHECKPOINT) == after[-1].position
    async with engine.connect() as connection:
        [letter] = (
            await connection.execute(
                select(dead_letters).where(dead_letters.c.consumer == RELAY_CONSUMER)
            )
        ).mappings()
    assert (letter["source_topic"], letter["partition"], letter["offset"]) == (
        EVENT_LOG,
        0,
        too_large.position,
    )
    assert (letter["record_key"], letter["error_class"]) == (
        "contact-huge",
        "MessageSizeTooLargeError",
    )
    assert len(letter["original_value"]) > 2_000_000  # the record kept whole
