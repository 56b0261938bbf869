"""Fixtures for tests of the write path: an engine, the event store, the demo data."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncEngine

from sync_service.command_processor import CommandProcessor
from sync_service.db.engine import create_engine
from sync_service.demo_data import seed_demo
from sync_service.eventstore.postgres import PostgresEventStore
from sync_service.settings import Settings
from sync_service.writemodel.postgres import PostgresWriteModelReader
from tests.kafka_roles import as_role


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings.database_url, pool_size=20, max_overflow=5)
    yield engine
    await engine.dispose()


@pytest.fixture
def pg_store(engine: AsyncEngine) -> PostgresEventStore:
    return PostgresEventStore(engine)


@pytest.fixture
def reader(engine: AsyncEngine) -> PostgresWriteModelReader:
    return PostgresWriteModelReader(engine)


@pytest.fixture
async def demo(pg_store: PostgresEventStore) -> PostgresEventStore:
    """The store with SPEC §8's demo data loaded."""
    await seed_demo(pg_store)
    return pg_store


@pytest.fixture
def processor(demo: PostgresEventStore, settings: Settings) -> CommandProcessor:
    return CommandProcessor(demo, verifier=settings.command_verifier(), max_backoff_s=0.2)


@pytest.fixture
async def producer(settings: Settings) -> AsyncIterator[AIOKafkaProducer]:
    """A client that may write the commands topic: the API's principal, the only one."""
    producer = AIOKafkaProducer(**as_role(settings, "api"), acks="all")
    await producer.start()
    yield producer
    await producer.stop()
