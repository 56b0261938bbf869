"""The outbox relay: publishes the event store's log to cds.events.v1, in order, at least once.

Order: events are read by global position after the checkpoint and sent in that order, keyed by
stream id, by an idempotent producer; Kafka keeps one key's records in order in one partition.
At least once: the checkpoint moves only after every record of a batch is acknowledged by all
in-sync replicas, so a crash between publishing and checkpointing publishes that batch again
(consumers drop duplicates by message id); an event is never skipped, because the store makes
positions gap-free and visible in order (see eventstore/postgres.py).
Promptness: each append's NOTIFY wakes the relay at once; a slow poll covers a lost one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from datetime import UTC, datetime
from types import TracebackType
from typing import Self, TypeVar

from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.topics import CDS_EVENTS
from sync_service.brokers import STOP_GRACE_S
from sync_service.db.engine import create_engine
from sync_service.eventstore.base import CheckpointStore, StoredEvent
from sync_service.eventstore.postgres import PostgresCheckpointStore, PostgresEventStore
from sync_service.logs import get_logger
from sync_service.metrics import RELAY_PUBLISHED
from sync_service.relay.leadership import RelaySession
from sync_service.relay.records import to_record
from sync_service.relay.retries import RetryUntilStopped, Stopped
from sync_service.settings import Settings

__all__ = ["RELAY_CHECKPOINT", "OutboxRelay", "run_relay"]

RELAY_CHECKPOINT = "outbox-relay"
# Bounds each produce request. It does not bound a batch's wait while Kafka is away: an
# idempotent producer holds its records until the broker is back (a stop bounds that instead).
_KAFKA_REQUEST_TIMEOUT_MS = 15_000
_PRODUCER_STOP_S = 2.0
"""A producer's stop flushes what it holds; while Kafka is away that would never end."""

log = get_logger(__name__)
T = TypeVar("T")


class OutboxRelay:
    """Follows the event store and publishes each event to Kafka; one leader, any standbys."""

    def __init__(
        self,
        settings: Settings,
        *,
        engine: AsyncEngine | None = None,
        batch_size: int = 500,
        fallback_poll_s: float = 2.0,
        max_backoff_s: float = 10.0,
        checkpoints: CheckpointStore | None = None,
        checkpoint_name: str = RELAY_CHECKPOINT,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be 1 or more, not {batch_size}")
        self._settings = settings
        self._own_engine = engine is None
        self._engine = engine or create_engine(settings.database_url, pool_size=2, max_overflow=2)
        self._store = PostgresEventStore(self._engine)
        self._checkpoints = checkpoints or PostgresCheckpointStore(self._engine)
        self._checkpoint_name = checkpoint_name
        self._topic = settings.topic(CDS_EVENTS)
        self._batch_size = batch_size
        self._fallback_poll_s = fallback_poll_s
        self._producer: AIOKafkaProducer | None = None
        self._wakeup = asyncio.Event()
        self._stopping = asyncio.Event()
        self._stopped = asyncio.Event()
        self._retry = RetryUntilStopped(self._stopping, max_backoff_s=max_backoff_s)
        self._running = False
        self._session: RelaySession | None = None
        self.is_leader = False
        """Whether this relay holds the lock and is the one publishing."""
        self.last_published_position: int | None = None
        """The checkpoint: every event up to this position is on Kafka (None before a pass)."""
        self.last_published_at: datetime | None = None
        """When this relay last moved the checkpoint (None if it has published nothing)."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        _type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def run(self) -> None:
        """Lead (or stand by), catch up, then follow notifications until stop() or cancellation.

        A relay runs once: when run() returns, its producer and own engine are closed.
        """
        self._stopped.clear()
        self._running = True
        try:
            while not self._stopping.is_set():
                self._session = session = await self._retry.call(self._lead)
                try:
                    await self._follow(session)
                finally:
                    self.is_leader, self._session = False, None
                    await session.close()
        except Stopped:
            pass
        finally:
            await self.aclose()
            self._running = False
            self._stopped.set()
            log.info("relay.stopped", position=self.last_published_position)

    async def stop(self) -> None:
        """Ask run() to end after its in-flight batch, and wait until it has."""
        self._stopping.set()
        self._wakeup.set()
        if self._running:
            await self._stopped.wait()

    async def publish_pending(self) -> int:
        """One catch-up pass: publish every event after the checkpoint; return how many.

        It takes no lock: run() calls it as the leader; elsewhere call it only where no relay runs.
        """
        position = await self._checkpoints.get(self._checkpoint_name)
        self.last_published_position = position
        published = 0
        while not self._stopping.is_set() and not self._lost_lead():
            batch = await self._store.read_all(after_position=position, limit=self._batch_size)
            if not batch:
                break
            await _unless_cancelled(self._publish_batch(batch))
            position = batch[-1].position
            published += len(batch)
            if len(batch) < self._batch_size:
                break  # the log's end: saves one empty read
        return published

    async def aclose(self) -> None:
        """Release the producer, and the engine if the relay created it."""
        producer, self._producer = self._producer, None
        if producer is not None:
            await _stopped(producer)
        if self._own_engine:
            await self._engine.dispose()

    async def _publish_batch(self, batch: list[StoredEvent]) -> None:
        producer = await self._started_producer()
        try:
            deliveries = []
            for event in batch:
                record = to_record(event)
                deliveries.append(
                    await producer.send(
                        self._topic, record.value, key=record.key, headers=record.headers
                    )
                )
            await asyncio.gather(*deliveries)
        except BaseException:
            # A producer that failed may hold records in flight; a new one starts clean.
            self._producer = None
            with contextlib.suppress(Exception):
                await _stopped(producer)
            raise
        await self._checkpoints.set(self._checkpoint_name, batch[-1].position)
        self.last_published_position = batch[-1].position
        self.last_published_at = datetime.now(UTC)
        RELAY_PUBLISHED.inc(len(batch))
        log.debug("relay.published", count=len(batch), position=batch[-1].position)

    def _lost_lead(self) -> bool:
        # Another relay may lead now: stop between batches rather than publish a long backlog twice.
        return self._session is not None and self._session.lost

    async def _started_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = AIOKafkaProducer(
                bootstrap_servers=self._settings.kafka_bootstrap,
                client_id="dualsync-relay",
                # Idempotence: a retried send is not written twice, nor out of order.
                enable_idempotence=True,
                acks="all",
                request_timeout_ms=_KAFKA_REQUEST_TIMEOUT_MS,
            )
            try:
                await producer.start()
            except BaseException:
                await producer.stop()
                raise
            self._producer = producer
        return self._producer

    async def _lead(self) -> RelaySession:
        """Open the relay's session and hold the lock, waiting as a standby while another leads."""
        session = RelaySession(
            self._engine.url,
            wakeup=self._wakeup,
            connect_timeout_s=self._settings.connect_timeout_s,
        )
        try:
            await session.connect()
            if not await session.try_lock():
                log.info("relay.standby", reason="another relay holds the lock")
                await self._retry.unless_stopped(session.lock())
            await session.listen()
        except BaseException:
            await session.close()
            raise
        self.is_leader = True
        log.info("relay.leading", topic=self._topic)
        return session

    async def _follow(self, session: RelaySession) -> None:
        """Publish on every wake-up until stopped or the session is lost."""
        while not self._stopping.is_set():
            # Cleared before the pass: an append during the pass wakes the next one at once.
            self._wakeup.clear()
            await self._retry.call(self.publish_pending)
            self._retry.recovered(position=self.last_published_position)
            try:
                await asyncio.wait_for(self._wakeup.wait(), self._fallback_poll_s)
            except TimeoutError:
                await session.alive()  # a quiet spell: is the LISTEN session still there?
            if session.lost:
                log.warning("relay.session_lost", detail="reconnecting to take the lock again")
                return


async def _unless_cancelled(work: Awaitable[T]) -> T:
    """Finish `work` even if the caller is cancelled, so a stop does not abandon a batch Kafka
    is taking; one that Kafka cannot take within STOP_GRACE_S (it is away) is abandoned: its
    checkpoint stays, and it is published again after a restart."""
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait({task}, timeout=STOP_GRACE_S)
        if not task.done():
            task.cancel()
            await asyncio.wait({task})
        if not task.cancelled():
            task.exception()  # retrieved: the cancellation is what the caller hears about
        raise


async def _stopped(producer: AIOKafkaProducer) -> None:
    """Stop `producer`, dropping what it still holds if Kafka does not take it in time."""
    try:
        await asyncio.wait_for(producer.stop(), _PRODUCER_STOP_S)
    except TimeoutError:
        log.warning("relay.producer_stop_timed_out", detail="unacknowledged records dropped")


async def run_relay(settings: Settings) -> None:
    """Run one outbox relay until cancelled: the service runner's entry point."""
    await OutboxRelay(settings).run()
