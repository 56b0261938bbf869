"""How the mapping workers put a record on Kafka: the ports that `KafkaProducer` fills."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from sync_service.connectivity import check_database, check_kafka
from sync_service.db.engine import create_engine
from sync_service.kafka_access import client_options
from sync_service.producer import running_producer
from sync_service.settings import Settings

__all__ = ["Publish", "Send", "connected"]

Publish = Callable[[str, bytes, bytes, dict[str, str]], Awaitable[None]]
"""(topic, key, value, headers) -> once Kafka has acknowledged the record."""

Send = Callable[[str, bytes, bytes, dict[str, str]], Awaitable[Awaitable[Any]]]
"""(topic, key, value, headers) -> once the record is queued, in call order: its acknowledgement.

For batches: queue every record, then await all acknowledgements, so the producer sends them
together instead of one round trip each."""


@asynccontextmanager
async def connected(settings: Settings) -> AsyncIterator[tuple[AsyncEngine, Publish]]:
    """An engine and a publisher for a one-off command, failing fast if either side is away."""
    await check_database(settings.database_url, settings.connect_timeout_s)
    security = client_options(settings, "ops")  # a redrive publishes what the outbound map makes
    await check_kafka(settings.kafka_bootstrap, settings.connect_timeout_s, security)
    engine = create_engine(settings.database_url, connect_timeout_s=settings.connect_timeout_s)
    try:
        async with running_producer(
            settings.kafka_bootstrap, client_id="dualsync-cli", security=security
        ) as producer:
            yield engine, producer.publish
    finally:
        await engine.dispose()
