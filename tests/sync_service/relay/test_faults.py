"""While Kafka is away the relay retries without moving its checkpoint, then resumes."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

import sync_service.relay.retries as retries
from sync_service.eventstore.postgres import PostgresCheckpointStore, PostgresEventStore
from sync_service.relay import RELAY_CHECKPOINT, OutboxRelay
from sync_service.settings import Settings
from tests.sync_service.relay.conftest import append, eventually, read_topic, running

pytestmark = pytest.mark.integration


class _Recorder:
    """Stands in for the module's structlog logger and keeps each event name."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def __getattr__(self, _level: str) -> Any:
        return lambda event, **_fields: self.events.append(event)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def _bootstrap_proxy(port: int, target: str) -> AsyncIterator[None]:
    """Kafka's bootstrap address "comes back": a TCP proxy on `port` to the real broker."""
    host, target_port = target.rsplit(":", 1)

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(host, int(target_port))
        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    server = await asyncio.start_server(serve, "127.0.0.1", port)
    async with server:
        yield


async def test_kafka_unavailable_holds_the_checkpoint_logs_once_and_resumes(
    settings: Settings,
    engine: AsyncEngine,
    store: PostgresEventStore,
    topic: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recorder = _Recorder()
    monkeypatch.setattr(retries, "log", recorder)
    port = _free_port()
    away = settings.model_copy(update={"kafka_bootstrap": f"127.0.0.1:{port}"})
    relay = OutboxRelay(away, engine=engine, max_backoff_s=0.2)
    checkpoints = PostgresCheckpointStore(engine)
    async with running(relay) as task:
        stored = await append(store, "order-a", 3)
        await asyncio.sleep(2)  # several failed attempts
        assert not task.done()
        assert await checkpoints.get(RELAY_CHECKPOINT) == 0
        assert recorder.events.count("relay.unavailable") == 1

        async with _bootstrap_proxy(port, settings.kafka_bootstrap):
            await eventually(lambda: relay.last_published_position == 3)
        assert await checkpoints.get(RELAY_CHECKPOINT) == 3
        assert recorder.events.count("relay.recovered") == 1

    received = await read_topic(settings.kafka_bootstrap, topic, 3)
    assert sorted(r.message_id for r in received) == sorted(str(e.event_id) for e in stored)


async def test_a_stop_while_kafka_is_away_ends_promptly_and_keeps_the_checkpoint(
    settings: Settings, engine: AsyncEngine, store: PostgresEventStore
) -> None:
    away = settings.model_copy(update={"kafka_bootstrap": f"127.0.0.1:{_free_port()}"})
    relay = OutboxRelay(away, engine=engine)
    task = asyncio.create_task(relay.run())
    await append(store, "order-a", 2)
    await asyncio.sleep(1)
    async with asyncio.timeout(5):
        await relay.stop()
        await task
    assert await PostgresCheckpointStore(engine).get(RELAY_CHECKPOINT) == 0


class _CheckpointThatHangs(PostgresCheckpointStore):
    """Reading the checkpoint never answers: the relay is cancelled inside a retried call."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self.asked = asyncio.Event()

    async def get(self, name: str) -> int:
        self.asked.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def test_cancelling_the_relay_ends_it_at_once_not_as_an_outage(
    settings: Settings, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = _Recorder()
    monkeypatch.setattr(retries, "log", recorder)
    checkpoints = _CheckpointThatHangs(engine)
    relay = OutboxRelay(settings, engine=engine, checkpoints=checkpoints)
    task = asyncio.create_task(relay.run())
    async with asyncio.timeout(30):
        await checkpoints.asked.wait()
    task.cancel()
    # Liveness, not speed: one cancel must end it (a retried cancel would hang here for good).
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(asyncio.shield(task), 30)
    assert task.cancelled()
    assert "relay.unavailable" not in recorder.events
