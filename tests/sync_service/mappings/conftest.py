"""A running outbound worker on the real Kafka, over a database with the demo data."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.topics import ALL_TOPICS
from sync_service.eventstore.postgres import PostgresEventStore
from sync_service.kafka_access import client_options
from sync_service.mappings.inbound import InboundWorker
from sync_service.mappings.outbound import OutboundWorker
from sync_service.mappings.workers import inbound_worker, outbound_worker
from sync_service.producer import KafkaProducer, running_producer
from sync_service.settings import Settings
from sync_service.topics import ensure_topics
from tests.kafka_roles import role_broker


@pytest.fixture
async def topics(settings: Settings) -> None:
    await ensure_topics(settings, ALL_TOPICS)


@asynccontextmanager
async def _worker_producer(
    settings: Settings, role: Literal["outbound", "inbound"]
) -> AsyncIterator[KafkaProducer]:
    """A worker's producer, as `dualsync run outbound|inbound` starts it (as its role)."""
    async with running_producer(
        settings.kafka_bootstrap, client_id=f"test-{role}", security=client_options(settings, role)
    ) as started:
        yield started


@pytest.fixture
async def outbound(
    settings: Settings, engine: AsyncEngine, demo: PostgresEventStore, topics: None
) -> AsyncIterator[OutboundWorker]:
    broker = role_broker(settings, "outbound")
    async with _worker_producer(settings, "outbound") as producer:
        worker = outbound_worker(broker, settings, engine, producer, max_backoff_s=0.1)
        await broker.start()
        try:
            yield worker
        finally:
            await broker.stop()


@pytest.fixture
async def inbound(
    settings: Settings, engine: AsyncEngine, demo: PostgresEventStore, topics: None
) -> AsyncIterator[InboundWorker]:
    broker = role_broker(settings, "inbound")
    async with _worker_producer(settings, "inbound") as producer:
        worker = inbound_worker(broker, settings, engine, producer, max_backoff_s=0.1)
        await broker.start()
        try:
            yield worker
        finally:
            await broker.stop()
