"""The outbox relay: publishes the event store's log to cds.events.v1, in order, at least once.

Order: events are read by global position after the checkpoint and sent in that order, keyed by
stream id, by an idempotent producer; Kafka keeps one key's records in order in one partition.
At least once: the checkpoint moves only after every record of a batch is acknowledged by all
in-sync replicas, so a crash between publishing and checkpointing publishes that batch again
(consumers drop duplicates by message id); an event is never skipped, because the store makes
positions gap-free and visible in order (see eventstore/postgres.py).
Promptness: each append's NOTIFY wakes the relay at once; a slow poll covers a lost one.
Poison: an event Kafka can never take (larger than it accepts, say), or one whose sending fails
unexpectedly `poison_attempts` times, is stored as a dead letter of consumer `dualsync-relay`
naming its position, and the checkpoint moves past it: such an event is in the store (the
projections and a rebuild see it) but never on cds.events.v1, so the outbound worker never maps
it; at-least-once holds for every other event. Transient Kafka faults block, as ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable
from datetime import UTC, datetime
from types import TracebackType
from typing import Self, TypeVar
from uuid import uuid4

from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.deadletter import DeadLetter
from contracts.topics import CDS_EVENTS
from sync_service.brokers import STOP_GRACE_S
from sync_service.db.engine import create_engine
from sync_service.eventstore.base import CheckpointStore, StoredEvent
from sync_service.eventstore.postgres import PostgresCheckpointStore, PostgresEventStore
from sync_service.failures import Fault, classify, describe, is_transient
from sync_service.kafka_access import client_options
from sync_service.logs import get_logger
from sync_service.mappings.dead_letter_rows import EVENT_LOG, store_dead_letter
from sync_service.metrics import RELAY_PUBLISHED
from sync_service.poison import count_settled, storable_text
from sync_service.relay.leadership import RelaySession
from sync_service.relay.records import to_record
from sync_service.relay.retries import RetryUntilStopped, Stopped
from sync_service.settings import Settings

__all__ = ["RELAY_CHECKPOINT", "RELAY_CONSUMER", "OutboxRelay", "run_relay"]

RELAY_CHECKPOINT = "outbox-relay"
RELAY_CONSUMER = "dualsync-relay"
"""The consumer its dead letters name."""
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
        self._unexpected: dict[int, int] = {}
        """Unexpected failures so far of the events not yet past the checkpoint, by position."""

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
        failed: list[tuple[StoredEvent, Exception]] = []
        try:
            deliveries = []
            for event in batch:
                try:
                    record = to_record(event)
                    delivery = await producer.send(
                        self._topic, record.value, key=record.key, headers=record.headers
                    )
                except Exception as error:
                    if is_transient(error):
                        raise
                    failed.append((event, error))  # the client refused it: nothing was sent
                    continue
                deliveries.append((event, delivery))
            outcomes = await asyncio.gather(*(d for _, d in deliveries), return_exceptions=True)
            for (event, _), outcome in zip(deliveries, outcomes, strict=True):
                if isinstance(outcome, Exception) and not is_transient(outcome):
                    failed.append((event, outcome))
                elif isinstance(outcome, BaseException):
                    raise outcome
            refused = self._poison(failed)
            if len(refused) < len(failed):
                raise next(error for event, error in failed if (event, error) not in refused)
        except BaseException:
            # A producer that failed may hold records in flight; a new one starts clean.
            self._producer = None
            with contextlib.suppress(Exception):
                await _stopped(producer)
            raise
        if refused:
            # Stored before the checkpoint moves past them: a crash between stores them again
            # (one row per event), never skips them unrecorded.
            await self._dead_letter(sorted(refused, key=lambda item: item[0].position))
        await self._checkpoints.set(self._checkpoint_name, batch[-1].position)
        self.last_published_position = batch[-1].position
        self.last_published_at = datetime.now(UTC)
        self._unexpected = {p: n for p, n in self._unexpected.items() if p > batch[-1].position}
        RELAY_PUBLISHED.inc(len(batch) - len(refused))
        log.debug("relay.published", count=len(batch), position=batch[-1].position)

    def _poison(
        self, failed: list[tuple[StoredEvent, Exception]]
    ) -> list[tuple[StoredEvent, Exception]]:
        """The failed events that can never be published: those Kafka refuses, and the one whose
        same unexpected failure came back `poison_attempts` times (counted across the relay's
        retries). Unexpected failures of several events at once are no one event's: they wait."""
        refused = [item for item in failed if classify(item[1]) is Fault.DETERMINISTIC]
        unexpected = [item for item in failed if classify(item[1]) is Fault.UNEXPECTED]
        if len(unexpected) == 1:
            [(event, _)] = unexpected
            self._unexpected[event.position] = self._unexpected.get(event.position, 0) + 1
            if self._unexpected[event.position] >= self._settings.poison_attempts:
                refused += unexpected
        return refused

    async def _dead_letter(self, refused: list[tuple[StoredEvent, Exception]]) -> None:
        """Store a dead letter per refused event; if even that fails for good, log them."""
        now = datetime.now(UTC)
        letters = [
            DeadLetter(
                source_topic=EVENT_LOG,
                partition=0,
                offset=event.position,
                original_key=event.stream_id,
                original_value=_original_value(event),
                handler=RELAY_CHECKPOINT,
                error_class=type(error).__name__,
                error_message=describe(error),
                attempts=max(self._unexpected.get(event.position, 0), 1),
                first_failed_at=now,
                last_failed_at=now,
            )
            for event, error in refused
        ]
        settlement = "dead_lettered"
        try:
            async with self._engine.begin() as connection:
                for (event, _), letter in zip(refused, letters, strict=True):
                    await store_dead_letter(
                        connection, letter, uuid4(), consumer=RELAY_CONSUMER, company=event.company
                    )
        except Exception as failure:
            if is_transient(failure):
                raise  # PostgreSQL away: the batch is published again once it is back
            settlement = "logged"  # the log below is all that is left of them
            log.error("relay.poison_unrecorded", error=describe(failure))
        for (event, error), letter in zip(refused, letters, strict=True):
            count_settled(RELAY_CONSUMER, settlement, classify(error))
            log.error(
                "relay.event_dead_lettered", position=event.position, stream_id=event.stream_id,
                event_type=event.event_type, error=letter.error_message, settled=settlement,
            )  # fmt: skip

    def _lost_lead(self) -> bool:
        # Another relay may lead now: stop between batches rather than publish a long backlog twice.
        return self._session is not None and self._session.lost

    async def _started_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = AIOKafkaProducer(
                bootstrap_servers=self._settings.kafka_bootstrap,
                **client_options(self._settings, "relay"),
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


def _original_value(event: StoredEvent) -> str:
    """The record the event would have been; its coordinates when not even that can be made."""
    try:
        return storable_text(to_record(event).value.decode("utf-8"))
    except Exception:  # the very failure that made it poison
        return json.dumps(
            {"event_id": str(event.event_id), "stream_id": storable_text(event.stream_id),
             "version": event.version, "position": event.position}
        )  # fmt: skip


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
