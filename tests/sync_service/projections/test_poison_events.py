"""An event the read models can never take is dead-lettered and skipped; the views go on.

Through the real relay, Kafka and PostgreSQL. Events are appended to the store as raw payloads,
so no model hides a value; database faults no contract foresees come from a trigger.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.envelope import envelope
from contracts.events import OrderSyncStatusChanged
from contracts.topics import CDS_EVENTS
from sync_service.eventstore.base import NewEvent, StoredEvent
from sync_service.eventstore.envelopes import to_new_event
from sync_service.eventstore.postgres import PostgresEventStore
from sync_service.mappings.dead_letter_rows import EVENT_LOG
from sync_service.mappings.tables import dead_letters
from sync_service.projections.tables import LIVE
from sync_service.projections.worker import CONSUMER_GROUP, ProjectionsWorker, subscribe_projections
from sync_service.relay import OutboxRelay
from sync_service.settings import Settings
from sync_service.streams import order_stream
from sync_service.topics import ensure_topics
from tests.kafka_offsets import until_consumed
from tests.kafka_roles import role_broker
from tests.sync_service.projections.test_worker import _order

pytestmark = pytest.mark.integration

POISON_ATTEMPTS = 2


@pytest.fixture
async def pipeline(
    settings: Settings, engine: AsyncEngine, demo: PostgresEventStore
) -> AsyncIterator[OutboxRelay]:
    """The relay and the projections worker, running."""
    await ensure_topics(settings, [CDS_EVENTS])
    broker = role_broker(settings, "projections")
    worker = ProjectionsWorker(engine, poison_attempts=POISON_ATTEMPTS, max_backoff_s=0.05)
    subscribe_projections(broker, settings, worker)
    await broker.start()
    relay = OutboxRelay(settings, engine=engine)
    relaying = asyncio.create_task(relay.run())
    try:
        yield relay
    finally:
        await relay.stop()
        await relaying
        await broker.stop()


def _submitted(order_id: uuid.UUID, **line: Any) -> NewEvent:
    """OrderSubmitted of `order_id` with its line's wire fields changed, no model asked."""
    new = to_new_event(envelope(_order(order_id), origin="portal", company="usmf"))
    payload = dict(new.payload)
    order = dict(payload["order"])
    order["lines"] = [{**order["lines"][0], **line}]
    payload["order"] = order
    return dataclasses.replace(new, payload=payload)


def _status(order_id: uuid.UUID, number: str) -> NewEvent:
    changed = OrderSyncStatusChanged(
        salesorderid=order_id, status="synced", sales_order_number=number
    )
    return to_new_event(envelope(changed, origin="scm", company="usmf"))


async def _append(store: PostgresEventStore, order_id: uuid.UUID, new: NewEvent) -> StoredEvent:
    stream = order_stream(order_id)
    [stored] = await store.append(stream, "order", await store.stream_version(stream), [new])
    return stored


async def _drained(settings: Settings, relay: OutboxRelay, store: PostgresEventStore) -> None:
    """Every stored event is on Kafka and the projections group has committed all of them."""
    head = await store.head_position()
    async with asyncio.timeout(30):
        while True:
            if (relay.last_published_position or 0) >= head:
                break
            await asyncio.sleep(0.05)
    await until_consumed(settings, CDS_EVENTS, CONSUMER_GROUP)


async def _views(engine: AsyncEngine) -> dict[uuid.UUID, str | None]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(LIVE.orders.c.order_id, LIVE.orders.c.sales_order_number)
        )
        return {row.order_id: row.sales_order_number for row in rows}


async def _letters(engine: AsyncEngine) -> list[dict[str, Any]]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(dead_letters).where(dead_letters.c.consumer == CONSUMER_GROUP)
        )
        return [dict(row._mapping) for row in rows]


async def _applied_version(engine: AsyncEngine, order_id: uuid.UUID) -> int:
    async with engine.connect() as connection:
        version = await connection.scalar(
            select(LIVE.versions.c.version).where(
                LIVE.versions.c.stream_id == order_stream(order_id)
            )
        )
    return int(version or 0)


async def test_a_quantity_the_read_model_cannot_hold_is_dead_lettered_and_the_rest_applies(
    settings: Settings,
    engine: AsyncEngine,
    demo: PostgresEventStore,
    pipeline: OutboxRelay,
) -> None:
    before, poison, after = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await _append(demo, before, _submitted(before))
    stored = await _append(demo, poison, _submitted(poison, quantity="1E-20000"))
    await _append(demo, poison, _status(poison, "SO-1"))  # behind it, on its stream
    await _append(demo, after, _submitted(after))
    await _append(demo, after, _status(after, "SO-2"))

    await _drained(settings, pipeline, demo)

    views = await _views(engine)
    assert (views.get(before, "missing"), views.get(after, "missing")) == (None, "SO-2")
    assert poison not in views  # its OrderSubmitted was skipped; the status change found no row
    [letter] = await _letters(engine)
    assert (letter["source_topic"], letter["offset"]) == (EVENT_LOG, stored.position)
    assert (letter["record_key"], letter["status"]) == (order_stream(poison), "open")
    assert "1E-20000" in letter["original_value"]
    assert await _applied_version(engine, poison) == 2  # its stream moved on past it


async def _refuse_marker(engine: AsyncEngine, sqlstate: str) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            text(
                f"""
                CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.sales_order_number = 'MARKER' THEN
                        RAISE EXCEPTION 'refused by the test' USING ERRCODE = '{sqlstate}';
                    END IF;
                    RETURN NEW;
                END $$
                """
            )
        )
        await connection.execute(
            text(
                "CREATE TRIGGER refuse BEFORE UPDATE ON order_views "
                "FOR EACH ROW EXECUTE FUNCTION refuse()"
            )
        )


@pytest.mark.parametrize(("sqlstate", "attempts"), [("22023", 1), ("P0001", POISON_ATTEMPTS)])
async def test_a_database_fault_no_contract_foresees_is_settled_and_the_views_go_on(
    settings: Settings,
    engine: AsyncEngine,
    demo: PostgresEventStore,
    pipeline: OutboxRelay,
    sqlstate: str,
    attempts: int,
) -> None:
    await _refuse_marker(engine, sqlstate)
    refused, other = uuid.uuid4(), uuid.uuid4()
    await _append(demo, refused, _submitted(refused))
    stored = await _append(demo, refused, _status(refused, "MARKER"))
    await _append(demo, refused, _status(refused, "SO-3"))
    await _append(demo, other, _submitted(other))
    await _append(demo, other, _status(other, "SO-4"))

    await _drained(settings, pipeline, demo)

    views = await _views(engine)
    assert (views[refused], views[other]) == ("SO-3", "SO-4")
    [letter] = await _letters(engine)
    assert (letter["offset"], letter["attempts"]) == (stored.position, attempts)
    assert f"SQLSTATE {sqlstate}" in letter["error_message"]
