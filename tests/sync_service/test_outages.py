"""Services and outages, on a private stack: they wait for Kafka and PostgreSQL to start, ride
out a restart of either while orders flow, and lose or repeat nothing.

The services run as real processes (`dualsync run all`, `dualsync erp-sim`); each order is
checked end to end (tests.order_flow) once every consumer group has caught up.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from bench.private_stack import PrivateStack
from contracts.topics import ALL_TOPICS
from sync_service.db.engine import create_engine
from sync_service.demo_data import seed_demo
from sync_service.eventstore.postgres import PostgresEventStore
from sync_service.settings import Settings
from sync_service.topics import ensure_topics
from tests.order_flow import arrivals, orders_flowing, pipeline_idle, send_orders
from tests.service_process import ServiceProcess, free_port

pytestmark = pytest.mark.integration

T = TypeVar("T")
ADMIN_TOKEN = secrets.token_urlsafe(32)
STOP_WITHIN_S = 10.0


async def eventually(
    probe: Callable[[], Awaitable[T]], done: Callable[[T], bool], timeout_s: float = 120.0
) -> T:
    """Probe until `done` holds; the pipeline catches up within seconds of an outage's end."""
    async with asyncio.timeout(timeout_s):
        while True:
            value = await probe()
            if done(value):
                return value
            await asyncio.sleep(0.2)


async def _seed(settings: Settings, *, topics: bool = True) -> None:
    engine = create_engine(settings.database_url)
    try:
        await seed_demo(PostgresEventStore(engine))
    finally:
        await engine.dispose()
    if topics:
        await ensure_topics(settings, ALL_TOPICS)


class Pipeline:
    """`dualsync run all` and the ERP simulator as processes, and the API's address."""

    def __init__(self, settings: Settings, log_dir: Path) -> None:
        self.port = free_port()
        self.all = ServiceProcess.start(
            ["run", "all"], settings, log_dir,
            DUALSYNC_API_PORT=str(self.port), DUALSYNC_ADMIN_TOKEN=ADMIN_TOKEN,
        )  # fmt: skip
        # Numbering only (Active, then nothing): one status event per order.
        self.erp_sim = ServiceProcess.start(
            ["erp-sim", "--confirm-after", "0", "--ship-after", "0", "--invoice-after", "0"],
            settings, log_dir,
        )  # fmt: skip
        self.processes = (self.all, self.erp_sim)

    async def readyz(self) -> httpx.Response | None:
        """GET /readyz of the API, or None while it does not listen yet."""
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.port}") as client:
            try:
                return await client.get("/readyz", timeout=10)
            except httpx.TransportError:
                return None

    async def started(self) -> None:
        """Until every service has started consuming and the API is ready."""
        await self.all.wait_logged("command_processor.started")
        await self.all.wait_logged("projections.started")
        await self.all.wait_logged("mapping.started", 2)
        await self.all.wait_logged("relay.leading")
        await self.erp_sim.wait_logged("erp_sim.started")
        await eventually(self.readyz, lambda r: r is not None and r.status_code == 200)

    def assert_alive(self) -> None:
        for process in self.processes:
            assert process.alive, f"a service exited:\n{process.tail()}"
            assert process.logged("service.failed") == 0, process.tail()

    async def stop(self) -> None:
        """SIGTERM both: each exits 0 within the 10 s a supervisor grants."""
        stopped = await asyncio.gather(*(p.stop() for p in self.processes))
        for process, (status, took_s) in zip(self.processes, stopped, strict=True):
            assert status == 0, process.tail()
            assert took_s < STOP_WITHIN_S, f"took {took_s:.1f}s to stop:\n{process.tail()}"

    def kill(self) -> None:
        for process in self.processes:
            process.kill()


@contextlib.asynccontextmanager
async def pipeline(settings: Settings, log_dir: Path) -> AsyncIterator[Pipeline]:
    """The pipeline, killed on the way out if the test did not stop it."""
    running = Pipeline(settings, log_dir)
    try:
        yield running
    finally:
        running.kill()


async def _delivered_exactly_once(settings: Settings, order_ids: list[uuid.UUID]) -> None:
    """Wait until nothing is left to deliver, then check each order arrived exactly once."""

    async def idle_and_synced() -> bool:
        if not await pipeline_idle(settings):
            return False
        found = await arrivals(settings, order_ids)
        return all(found.views.get(o, ("", None))[0] == "synced" for o in order_ids)

    await eventually(idle_and_synced, bool)
    found = await arrivals(settings, order_ids)
    assert found.exactly_once(order_ids) == []


def _waiting_for(part: str) -> Callable[[dict[str, Any]], bool]:
    return lambda line: line.get(part) != "ok"


async def test_services_started_while_kafka_is_down_wait_for_it_then_work(
    outage_stack: PrivateStack, outage_settings: Settings, tmp_path: Path
) -> None:
    await _seed(outage_settings, topics=False)
    await outage_stack.stop("kafka")
    async with pipeline(outage_settings, tmp_path) as running:
        # Both wait with a logged backoff rather than exit; the API serves, not ready.
        await running.all.wait_logged("dependencies.waiting", 3, where=_waiting_for("kafka"))
        await running.erp_sim.wait_logged("dependencies.waiting", 3, where=_waiting_for("kafka"))
        not_ready = await eventually(running.readyz, lambda r: r is not None)
        assert not_ready is not None and not_ready.status_code == 503
        assert "cannot reach Kafka" in not_ready.json()["kafka"]
        assert not_ready.json()["postgresql"] == "ok"
        running.assert_alive()

        await outage_stack.start("kafka")
        await running.started()
        order_ids = await send_orders(outage_settings, 20)
        await _delivered_exactly_once(outage_settings, order_ids)
        running.assert_alive()
        await running.stop()


async def test_services_started_while_postgresql_is_down_wait_for_it_then_work(
    outage_stack: PrivateStack, outage_settings: Settings, tmp_path: Path
) -> None:
    await _seed(outage_settings)
    await outage_stack.stop("postgres")
    async with pipeline(outage_settings, tmp_path) as running:
        await running.all.wait_logged("dependencies.waiting", 3, where=_waiting_for("postgresql"))
        await running.erp_sim.wait_logged(
            "dependencies.waiting", 3, where=_waiting_for("postgresql")
        )
        not_ready = await eventually(running.readyz, lambda r: r is not None)
        assert not_ready is not None and not_ready.status_code == 503
        assert "cannot reach PostgreSQL" in not_ready.json()["postgresql"]
        running.assert_alive()

        await outage_stack.start("postgres")
        await running.started()
        order_ids = await send_orders(outage_settings, 20)
        await _delivered_exactly_once(outage_settings, order_ids)
        running.assert_alive()
        await running.stop()


async def _more_sent(sent: list[uuid.UUID], count: int) -> None:
    """Until `count` more orders than now have been sent."""
    baseline = len(sent)
    await eventually(lambda: asyncio.sleep(0, len(sent)), lambda n: n >= baseline + count)


async def test_a_postgresql_restart_under_running_services_loses_and_repeats_nothing(
    outage_stack: PrivateStack, outage_settings: Settings, tmp_path: Path
) -> None:
    await _seed(outage_settings)
    async with pipeline(outage_settings, tmp_path) as running:
        await running.started()
        async with orders_flowing(outage_settings, per_batch=3, pause_s=0.1) as sent:
            await _more_sent(sent, 15)
            await outage_stack.stop("postgres")
            # Down until the command processor has met it (retried, and will be redelivered),
            # with orders waiting behind.
            await running.all.wait_logged("command.failed_will_redeliver")
            await outage_stack.start("postgres")
            await _more_sent(sent, 15)
        await _delivered_exactly_once(outage_settings, sent)
        running.assert_alive()
        await running.stop()


async def test_a_kafka_restart_under_running_services_loses_and_repeats_nothing(
    outage_stack: PrivateStack, outage_settings: Settings, tmp_path: Path
) -> None:
    await _seed(outage_settings)
    async with pipeline(outage_settings, tmp_path) as running:
        await running.started()
        before = await send_orders(outage_settings, 60)
        await outage_stack.stop("kafka")
        await outage_stack.start("kafka")
        after = await send_orders(outage_settings, 30)
        await _delivered_exactly_once(outage_settings, before + after)
        running.assert_alive()
        await running.stop()


async def test_sigterm_during_a_kafka_outage_stops_within_10_s_and_loses_nothing(
    outage_stack: PrivateStack, outage_settings: Settings, tmp_path: Path
) -> None:
    await _seed(outage_settings)
    async with pipeline(outage_settings, tmp_path) as running:
        await running.started()
        order_ids = await send_orders(outage_settings, 40)
        await outage_stack.stop("kafka")
        # Batches Kafka cannot take are abandoned uncommitted (the relay's checkpoint stays).
        await running.stop()
    await outage_stack.start("kafka")
    async with pipeline(outage_settings, tmp_path) as again:
        await again.started()
        await _delivered_exactly_once(outage_settings, order_ids)
        again.assert_alive()
        await again.stop()
