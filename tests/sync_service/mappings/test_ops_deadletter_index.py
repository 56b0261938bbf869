"""The dead-letter index: every record of dualsync.deadletter.v1 ends up in `dead_letters`,
once, whoever published it; a replay never reopens what ops closed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from uuid import UUID

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.deadletter import DeadLetter
from contracts.envelope import Envelope, Message, envelope, to_json_bytes
from contracts.topics import CDS_EVENTS, DEADLETTER
from sync_service.kafka_access import client_options
from sync_service.mappings.outbound import OutboundWorker
from sync_service.mappings.redrive import DeadLetterNotRedrivable
from sync_service.mappings.tables import dead_letters
from sync_service.mappings.workers import dead_letter_ops
from sync_service.ops.deadletter_index import DeadLetterIndex, subscribe_deadletter_index
from sync_service.producer import running_producer
from sync_service.settings import Settings
from sync_service.streams import order_stream
from tests.kafka_roles import role_broker
from tests.sync_service.mappings.orders import order_event, portal_order
from tests.sync_service.mappings.wire import read, send, send_raw

pytestmark = pytest.mark.integration


@pytest.fixture
async def index(settings: Settings, engine: AsyncEngine, topics: None) -> AsyncIterator[None]:
    broker = role_broker(settings, "outbound")  # the index runs in the outbound process
    subscribe_deadletter_index(broker, settings, engine)
    await broker.start()
    try:
        yield
    finally:
        await broker.stop()


def _foreign_letter(settings: Settings, source_topic: str, offset: int) -> Envelope[Message]:
    """A dead letter as another deployment of the workers (or a tool) would publish it."""
    order = portal_order("P-9600")
    moment = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    letter = DeadLetter(
        source_topic=source_topic, partition=0, offset=offset,
        original_key=order_stream(order.sales_order_id),
        original_value=to_json_bytes(order_event(order)).decode(), handler="elsewhere",
        error_class="UnknownReference", error_message="lines[0].ProductNumber: unknown",
        attempts=1, first_failed_at=moment, last_failed_at=moment,
    )  # fmt: skip
    return envelope(letter, origin="portal", company="usmf")


async def _rows(engine: AsyncEngine, letter_id: UUID) -> list[dict[str, object]]:
    async with engine.connect() as connection:
        query = select(dead_letters).where(dead_letters.c.dead_letter_id == letter_id)
        return [dict(row) for row in (await connection.execute(query)).mappings()]


async def _indexed(engine: AsyncEngine, letter_id: UUID) -> dict[str, object]:
    async with asyncio.timeout(30):
        while True:
            rows = await _rows(engine, letter_id)
            if rows:
                return rows[0]
            await asyncio.sleep(0.1)


async def test_a_dead_letter_published_elsewhere_is_indexed_once_with_its_filters(
    settings: Settings, engine: AsyncEngine, index: None
) -> None:
    letter = _foreign_letter(settings, settings.topic(CDS_EVENTS), 7)
    await send(settings, DEADLETTER, ("k", letter), ("k", letter))  # and a redelivery

    row = await _indexed(engine, letter.message_id)

    assert (row["consumer"], row["map_name"], row["company"], row["status"]) == (
        "dualsync-outbound", "SalesOrderHeaders", "usmf", "open",
    )  # fmt: skip
    # Another record after both copies: once it is indexed, the copies have been read too.
    marker = _foreign_letter(settings, settings.topic(CDS_EVENTS), 8)
    await send(settings, DEADLETTER, ("k", marker))
    await _indexed(engine, marker.message_id)
    async with engine.connect() as connection:
        assert await connection.scalar(select(func.count()).select_from(dead_letters)) == 2


async def test_a_replay_does_not_reopen_a_closed_dead_letter_and_junk_is_passed_over(
    settings: Settings, engine: AsyncEngine
) -> None:
    index = DeadLetterIndex(engine, settings)
    letter = _foreign_letter(settings, "somewhere.else.v1", 3)
    value = to_json_bytes(letter)
    assert await index.index(value)
    async with engine.begin() as connection:
        await connection.execute(
            dead_letters.update()
            .where(dead_letters.c.dead_letter_id == letter.message_id)
            .values(status="discarded")
        )

    assert not await index.index(value)
    assert not await index.index(b"{not json")
    [row] = await _rows(engine, letter.message_id)
    assert (row["status"], row["consumer"]) == ("discarded", "other")


async def test_our_workers_letters_are_not_indexed_twice(
    settings: Settings, engine: AsyncEngine, outbound: OutboundWorker
) -> None:
    order = portal_order("P-9700")
    await send(settings, CDS_EVENTS, (order_stream(order.sales_order_id), order_event(order)))
    [published] = await read(settings, DEADLETTER, lambda seen: len(seen) >= 1)

    value = to_json_bytes(published.env)
    assert not await DeadLetterIndex(engine, settings).index(value)
    [row] = await _rows(engine, published.env.message_id)
    assert (row["map_name"], row["company"]) == ("SalesOrderHeaders", "usmf")


async def test_a_letter_no_worker_here_handles_can_be_discarded_not_redriven(
    settings: Settings, engine: AsyncEngine
) -> None:
    letter = _foreign_letter(settings, "somewhere.else.v1", 4)
    await DeadLetterIndex(engine, settings).index(to_json_bytes(letter))
    async with running_producer(
        settings.kafka_bootstrap, client_id="test-ops", security=client_options(settings, "ops")
    ) as producer:
        ops = dead_letter_ops(engine, settings, producer.publish)
        with pytest.raises(DeadLetterNotRedrivable):
            await ops.redrive(letter.message_id, actor="cli:ops")
        result = await ops.discard(
            letter.message_id, "handled in the other system", actor="cli:ops"
        )
    assert (result.outcome, result.released) == ("discarded", 0)
    [row] = await _rows(engine, letter.message_id)
    assert (row["status"], row["resolved_by"]) == ("discarded", "cli:ops")


async def test_a_dead_letter_that_cannot_be_stored_as_sent_is_kept_and_the_topic_goes_on(
    settings: Settings, engine: AsyncEngine, index: None
) -> None:
    nul = _foreign_letter(settings, "elsewhere.v1", 1)
    raw = to_json_bytes(nul).replace(b"lines[0].ProductNumber", b"lines[0].Product\\u0000Number")
    after = _foreign_letter(settings, "elsewhere.v1", 2)
    await send_raw(
        settings,
        DEADLETTER,
        ("k", raw),  # its text holds a NUL, which PostgreSQL's text cannot
        ("k", b"[" * 100_000 + b"]" * 100_000),  # not a dead letter, nested too deeply to read
        ("k", to_json_bytes(after)),
    )

    assert (await _indexed(engine, after.message_id))["offset"] == 2
    row = await _indexed(engine, nul.message_id)
    assert row["error_message"] == "lines[0].Product\\u0000Number: unknown"
