"""A running portal: the API app, the command processor on the real Kafka, the demo data."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from contracts.topics import ALL_TOPICS, CDS_EVENTS, PORTAL_COMMANDS
from portal_api.app import create_app
from sync_service.command_processor import CommandProcessor, subscribe_command_processor
from sync_service.db.engine import create_engine
from sync_service.demo_data import seed_demo
from sync_service.eventstore.postgres import PostgresEventStore
from sync_service.kafka_access import client_options
from sync_service.mappings.inbound import InboundWorker
from sync_service.mappings.outbound import OutboundWorker
from sync_service.mappings.workers import inbound_worker, outbound_worker
from sync_service.producer import running_producer
from sync_service.projections.worker import ProjectionsWorker, subscribe_projections
from sync_service.relay import OutboxRelay
from sync_service.settings import Settings
from sync_service.topics import ensure_topics
from tests.kafka_roles import role_broker

# Strong, as the API demands (a weak token is refused at start): fresh for each test run.
ADMIN_TOKEN = secrets.token_urlsafe(32)
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@dataclass
class Portal:
    """What a write-path test talks to."""

    client: httpx.AsyncClient
    store: PostgresEventStore
    settings: Settings
    app: FastAPI
    """The application itself, started: to serve it over a socket as well."""


@asynccontextmanager
async def running_portal(settings: Settings) -> AsyncIterator[Portal]:
    """The API app with the command processor, projections and relay beside it, demo data in."""
    settings = settings.model_copy(
        update={"admin_token": SecretStr(ADMIN_TOKEN), "command_wait_s": 15.0}
    )
    engine = create_engine(settings.database_url)
    store = PostgresEventStore(engine)
    await seed_demo(store)
    await ensure_topics(settings, [PORTAL_COMMANDS, CDS_EVENTS])
    # One broker per role, as `dualsync run all` has them.
    broker = role_broker(settings, "command-processor")
    subscribe_command_processor(
        broker,
        settings,
        CommandProcessor(store, verifier=settings.command_verifier(), max_backoff_s=0.2),
    )
    projections = role_broker(settings, "projections")
    subscribe_projections(projections, settings, ProjectionsWorker(engine))
    await broker.start()
    await projections.start()
    relay = OutboxRelay(settings, engine=engine)
    relaying = asyncio.create_task(relay.run())
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://portal.test", timeout=30
            ) as client:
                yield Portal(client, store, settings, app)
    finally:
        await relay.stop()
        await relaying
        await relay.aclose()
        await projections.stop()
        await broker.stop()
        await engine.dispose()


@pytest.fixture
async def portal(settings: Settings) -> AsyncIterator[Portal]:
    async with running_portal(settings) as running:
        yield running


@asynccontextmanager
async def _mapping_worker(
    portal: Portal, start: Any, role: Literal["outbound", "inbound"]
) -> AsyncIterator[Any]:
    """A mapping worker (`outbound_worker` or `inbound_worker`) next to the portal, as `run all`."""
    await ensure_topics(portal.settings, ALL_TOPICS)
    engine = create_engine(portal.settings.database_url)
    broker = role_broker(portal.settings, role)
    async with running_producer(
        portal.settings.kafka_bootstrap,
        client_id=f"test-{role}",
        security=client_options(portal.settings, role),
    ) as producer:
        worker = start(broker, portal.settings, engine, producer, max_backoff_s=0.1)
        await broker.start()
        try:
            yield worker
        finally:
            await broker.stop()
            await engine.dispose()


@pytest.fixture
async def outbound(portal: Portal) -> AsyncIterator[OutboundWorker]:
    """The outbound mapping worker next to the portal, as `dualsync run all` runs it."""
    async with _mapping_worker(portal, outbound_worker, "outbound") as worker:
        yield worker


@pytest.fixture
async def inbound(portal: Portal) -> AsyncIterator[InboundWorker]:
    """The inbound mapping worker next to the portal, as `dualsync run all` runs it."""
    async with _mapping_worker(portal, inbound_worker, "inbound") as worker:
        yield worker
