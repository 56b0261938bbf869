"""A running outbound worker on the real Kafka, over a database with the demo data."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from faststream.kafka import KafkaBroker
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.topics import ALL_TOPICS
from sync_service.eventstore.postgres import PostgresEventStore
from sync_service.mappings.inbound import InboundWorker
from sync_service.mappings.outbound import OutboundWorker
from sync_service.mappings.workers import inbound_worker, outbound_worker
from sync_service.producer import KafkaProducer, running_producer
from sync_service.settings import Settings
from sync_service.topics import ensure_topics


@pytest.fixture
async def topics(settings: Settings) -> None:
    await ensure_topics(settings, ALL_TOPICS)


@pytest.fixture
async def mapping_producer(settings: Settings) -> AsyncIterator[KafkaProducer]:
    """The workers' producer, as `dualsync run outbound|inbound` starts it."""
    async with running_producer(settings.kafka_bootstrap, client_id="test-mapping") as started:
        yield started


@pytest.fixture
async def outbound(
    settings: Settings,
    engine: AsyncEngine,
    demo: PostgresEventStore,
    topics: None,
    mapping_producer: KafkaProducer,
) -> AsyncIterator[OutboundWorker]:
    broker = KafkaBroker(settings.kafka_bootstrap, logger=None)
    worker = outbound_worker(broker, settings, engine, mapping_producer, max_backoff_s=0.1)
    await broker.start()
    try:
        yield worker
    finally:
        await broker.stop()


@pytest.fixture
async def inbound(
    settings: Settings,
    engine: AsyncEngine,
    demo: PostgresEventStore,
    topics: None,
    mapping_producer: KafkaProducer,
) -> AsyncIterator[InboundWorker]:
    broker = KafkaBroker(settings.kafka_bootstrap, logger=None)
    worker = inbound_worker(broker, settings, engine, mapping_producer, max_backoff_s=0.1)
    await broker.start()
    try:
        yield worker
    finally:
        await broker.stop()
