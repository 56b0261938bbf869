"""How the mapping workers put a record on Kafka: a port, and its FastStream adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from faststream.kafka import KafkaBroker
from sqlalchemy.ext.asyncio import AsyncEngine

from sync_service.connectivity import check_database, check_kafka
from sync_service.db.engine import create_engine
from sync_service.settings import Settings

__all__ = ["Publish", "Send", "broker_publisher", "broker_sender", "connected"]

Publish = Callable[[str, bytes, bytes, dict[str, str]], Awaitable[None]]
"""(topic, key, value, headers) -> once Kafka has acknowledged the record."""

Send = Callable[[str, bytes, bytes, dict[str, str]], Awaitable[Awaitable[Any]]]
"""(topic, key, value, headers) -> once the record is queued, in call order: its acknowledgement.

For batches: queue every record, then await all acknowledgements, so the producer sends them
together instead of one round trip each."""


def broker_publisher(broker: KafkaBroker) -> Publish:
    """Publish through a started broker's (idempotent, acks=all) producer."""

    async def publish(topic: str, key: bytes, value: bytes, headers: dict[str, str]) -> None:
        await broker.publish(value, topic, key=key, headers=headers)

    return publish


def broker_sender(broker: KafkaBroker) -> Send:
    """Queue records on a started broker's producer; the acknowledgements come later."""

    async def send(topic: str, key: bytes, value: bytes, headers: dict[str, str]) -> Any:
        return await broker.publish(value, topic, key=key, headers=headers, no_confirm=True)

    return send


@asynccontextmanager
async def connected(settings: Settings) -> AsyncIterator[tuple[AsyncEngine, Publish]]:
    """An engine and a publisher for a one-off command, failing fast if either side is away."""
    await check_database(settings.database_url, settings.connect_timeout_s)
    await check_kafka(settings.kafka_bootstrap, settings.connect_timeout_s)
    engine = create_engine(settings.database_url, connect_timeout_s=settings.connect_timeout_s)
    broker = KafkaBroker(settings.kafka_bootstrap, logger=None, enable_idempotence=True)
    try:
        await broker.start()
        yield engine, broker_publisher(broker)
    finally:
        await broker.stop()
        await engine.dispose()
