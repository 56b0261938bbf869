"""SIGTERM to a service process while records flow: it finishes its batch, commits what it
applied, leaves its consumer group and exits 0 within 10 s; after a restart everything arrives
exactly once. Real `dualsync run <service>` processes on the shared stack.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.topics import ALL_TOPICS, CDS_EVENTS, PORTAL_COMMANDS, SCM_SALESORDERS
from sync_service.command_processor import CONSUMER_GROUP as COMMAND_GROUP
from sync_service.command_processor import CommandProcessor, subscribe_command_processor
from sync_service.db.engine import create_engine
from sync_service.db.schema import command_outcomes, events
from sync_service.demo_data import seed_demo
from sync_service.eventstore.postgres import PostgresEventStore
from sync_service.mappings.outbound import OUTBOUND_GROUP
from sync_service.relay import OutboxRelay
from sync_service.settings import Settings
from sync_service.topics import ensure_topics
from tests.kafka_offsets import all_consumed
from tests.kafka_roles import as_role, role_broker
from tests.order_flow import orders_flowing, partitions_of, relay_caught_up
from tests.service_process import ServiceProcess

pytestmark = pytest.mark.integration

T = TypeVar("T")
STOP_WITHIN_S = 10.0


async def eventually(
    probe: Callable[[], Awaitable[T]], done: Callable[[T], bool], timeout_s: float = 120.0
) -> T:
    async with asyncio.timeout(timeout_s):
        while True:
            value = await probe()
            if done(value):
                return value
            await asyncio.sleep(0.1)


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings.database_url)
    await seed_demo(PostgresEventStore(engine))
    await ensure_topics(settings, ALL_TOPICS)
    yield engine
    await engine.dispose()


async def _records(settings: Settings, topic: str) -> list[Any]:
    """Every record of `topic` so far, from the beginning."""
    partitions = await partitions_of(settings, topic)
    consumer = AIOKafkaConsumer(**as_role(settings, "operator"))
    await consumer.start()
    found: list[Any] = []
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            batch = await consumer.getmany(timeout_ms=500)
            found += [record for records in batch.values() for record in records]
    finally:
        await consumer.stop()
    return found


async def _group(settings: Settings, group: str) -> tuple[str, dict[int, int]]:
    """The group's state (`Empty` once its last member left) and its committed offsets."""
    admin = AIOKafkaAdminClient(**as_role(settings, "operator"))
    await admin.start()
    try:
        [described] = await admin.describe_consumer_groups([settings.group(group)])
        committed = await admin.list_consumer_group_offsets(settings.group(group))
    finally:
        await admin.close()
    state = described.to_object()["groups"][0]["state"]
    return state, {tp.partition: meta.offset for tp, meta in committed.items()}


def _below(records: list[Any], committed: dict[int, int]) -> list[Any]:
    return [r for r in records if r.offset < committed.get(r.partition, 0)]


async def _stopped_cleanly(process: ServiceProcess) -> None:
    status, took_s = await process.stop(signal.SIGTERM)
    assert status == 0, process.tail()
    assert took_s < STOP_WITHIN_S, f"took {took_s:.1f}s:\n{process.tail()}"
    assert process.logged("service.stopped") >= 1, process.tail()


_ORDER_STREAMS = select(events.c.stream_id).where(events.c.event_type == "OrderSubmitted")


async def _scalars(engine: AsyncEngine, statement: Any) -> list[Any]:
    async with engine.connect() as connection:
        return list((await connection.execute(statement)).scalars())


async def test_sigterm_stops_the_command_processor_cleanly_mid_stream(
    settings: Settings, engine: AsyncEngine, tmp_path: Path
) -> None:
    outcomes = select(command_outcomes.c.command_id)
    started = [ServiceProcess.start(["run", "command-processor"], settings, tmp_path)]
    try:
        await started[0].wait_logged("command_processor.started")
        async with orders_flowing(settings) as sent:
            await eventually(lambda: _scalars(engine, outcomes), lambda found: len(found) >= 40)
            await _stopped_cleanly(started[0])  # while orders keep coming
        state, committed = await _group(settings, COMMAND_GROUP)
        assert state == "Empty"  # it left the group rather than timing out of it

        # Committed is exactly what was applied: no batch half-done, none applied uncommitted.
        applied = set(await _scalars(engine, outcomes))
        records = _below(await _records(settings, PORTAL_COMMANDS), committed)
        assert applied == {uuid.UUID(json.loads(r.value)["payload"]["command_id"]) for r in records}
        assert len(applied) < len(sent)  # stopped mid-stream: some orders were still to come

        started.append(ServiceProcess.start(["run", "command-processor"], settings, tmp_path))
        await eventually(lambda: all_consumed(settings, PORTAL_COMMANDS, COMMAND_GROUP), bool)
        await _stopped_cleanly(started[1])
    finally:
        for process in started:
            process.kill()
    submitted = Counter(await _scalars(engine, _ORDER_STREAMS))
    assert len(submitted) == len(sent) and set(submitted.values()) == {1}
    assert len(await _scalars(engine, outcomes)) == len(sent)


@contextlib.asynccontextmanager
async def write_path(settings: Settings, engine: AsyncEngine) -> AsyncIterator[None]:
    """The command processor and the relay in this process: orders become cds.events.v1."""
    broker = role_broker(settings, "command-processor", graceful_timeout=2.0)
    store = PostgresEventStore(engine)
    subscribe_command_processor(
        broker,
        settings,
        CommandProcessor(store, verifier=settings.command_verifier(), max_backoff_s=0.2),
    )
    await broker.start()
    relay = OutboxRelay(settings, engine=engine)
    relaying = asyncio.create_task(relay.run())
    try:
        yield
    finally:
        await relay.stop()
        await relaying
        await broker.stop()


def _scm_sources(records: list[Any]) -> Counter[uuid.UUID]:
    """Source event id (the causation id) -> how many sales orders on SCM came of it."""
    return Counter(uuid.UUID(json.loads(r.value)["causation_id"]) for r in records)


async def test_sigterm_stops_the_outbound_worker_cleanly_mid_stream(
    settings: Settings, engine: AsyncEngine, tmp_path: Path
) -> None:
    async with write_path(settings, engine):
        started = [ServiceProcess.start(["run", "outbound"], settings, tmp_path)]
        try:
            await started[0].wait_logged("mapping.started")
            async with orders_flowing(settings) as sent:
                await eventually(
                    lambda: _records(settings, SCM_SALESORDERS), lambda found: len(found) >= 40
                )
                await _stopped_cleanly(started[0])  # while orders keep coming
            state, committed = await _group(settings, OUTBOUND_GROUP)
            assert state == "Empty"

            # What it published is exactly what it committed: every order event below the
            # committed offsets is on SCM once, and nothing after them.
            published = _scm_sources(await _records(settings, SCM_SALESORDERS))
            below = [
                json.loads(r.value) for r in _below(await _records(settings, CDS_EVENTS), committed)
            ]
            assert set(published) == {
                uuid.UUID(data["message_id"]) for data in below if data["type"] == "OrderSubmitted"
            }
            assert set(published.values()) == {1}

            # Every order stored and relayed, then the worker again until it has caught up.
            await eventually(
                lambda: _scalars(engine, _ORDER_STREAMS), lambda found: len(found) == len(sent)
            )
            await eventually(lambda: relay_caught_up(settings), bool)
            started.append(ServiceProcess.start(["run", "outbound"], settings, tmp_path))
            await eventually(lambda: all_consumed(settings, CDS_EVENTS, OUTBOUND_GROUP), bool)
            await _stopped_cleanly(started[1])
        finally:
            for process in started:
                process.kill()
    published = _scm_sources(await _records(settings, SCM_SALESORDERS))
    assert len(published) == len(sent) and set(published.values()) == {1}
