"""The mapping workers as FastStream subscribers, and `dualsync run outbound`.

Offsets: AckPolicy.NACK_ON_ERROR commits a record's offset only after `FaultPolicy.run`
returned (applied, skipped, dead-lettered or parked); a transient fault that outlasted the
retries raises, and the record is read again, so nothing after it on the partition overtakes it.
The outbound worker takes what Kafka has ready as one batch (`subscribe_batches`, up to
`MAX_BATCH`, never waiting to fill one) and commits the batch's offsets after it is handled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from aiokafka import TopicPartition
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from contracts.topics import (
    CDS_EVENTS,
    DEADLETTER,
    SCM_CONTACTS,
    SCM_CUSTOMERS,
    SCM_INBOUND,
    SCM_SALESORDERS,
)
from sync_service.brokers import existing_topic
from sync_service.logs import get_logger
from sync_service.mappings.faults import FaultPolicy, Handled, SourceRecord, envelope_field
from sync_service.mappings.inbound import INBOUND_GROUP, INBOUND_MAPS, InboundWorker
from sync_service.mappings.outbound import OUTBOUND_GROUP, OutboundWorker
from sync_service.mappings.pausing import MAX_STALENESS_S, MapSwitch
from sync_service.mappings.publishing import Publish
from sync_service.mappings.redrive import DeadLetterOps
from sync_service.ops.applied import AppliedClock
from sync_service.poison import storable_text
from sync_service.producer import KafkaProducer
from sync_service.raw_records import raw_body, tolerant_parser
from sync_service.settings import Settings

__all__ = [
    "dead_letter_ops",
    "inbound_worker",
    "outbound_worker",
    "run_inbound",
    "run_outbound",
    "source_record",
    "subscribe",
    "subscribe_batches",
]

log = get_logger(__name__)

Work = Callable[[SourceRecord], Awaitable[Handled]]

MAX_BATCH = 500
"""Most records the outbound worker takes from Kafka at once."""
BATCH_WAIT_MS = 10
"""How long an idle subscriber waits for records per poll (a batch never waits to fill up)."""


def source_record(message: KafkaMessage) -> SourceRecord:
    """Where a FastStream message came from, with its key and raw value."""
    raw: Any = message.raw_message
    return SourceRecord(raw.topic, raw.partition, raw.offset, _key(raw), bytes(message.body))


def subscribe(
    broker: KafkaBroker,
    topic: str,
    group: str,
    policy: FaultPolicy,
    work: Work,
    map_of: Callable[[str | None], str | None],
    switch: MapSwitch,
    applied: AppliedClock | None = None,
) -> None:
    """Consume `topic` as `group`, each record through `policy`; offsets after the outcome.

    A record whose map (`map_of` its type) is paused is nacked: it stays in Kafka, read again.
    """

    @broker.subscriber(
        existing_topic(topic),
        group_id=group,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        decoder=raw_body,  # the handler reads the bytes, under its fault policy
        parser=tolerant_parser,
    )
    async def on_record(message: KafkaMessage) -> None:
        record = source_record(message)
        map_name = map_of(envelope_field(record, "type"))
        try:
            # Inside the try: PostgreSQL away while reading the map states is an outage too,
            # read again after the pause below rather than at once, over and over.
            if await switch.is_paused(map_name):
                await asyncio.sleep(MAX_STALENESS_S)  # look again soon, without spinning
                await message.nack()  # seek back: the record waits in Kafka, in order
                return
            handled = await policy.run(record, work)
        except Exception:
            log.exception("mapping.failed_will_redeliver", consumer=group)
            await asyncio.sleep(1.0)  # the retries already backed off; do not spin
            raise
        if applied is not None and handled is Handled.APPLIED:
            await applied.applied(map_name)  # for the lag view; written at most once a second


def subscribe_batches(
    broker: KafkaBroker,
    topic: str,
    group: str,
    policy: FaultPolicy,
    worker: OutboundWorker,
    map_of: Callable[[str | None], str | None],
    switch: MapSwitch,
    applied: AppliedClock | None = None,
) -> None:
    """As `subscribe`, a batch at a time through `OutboundWorker.handle_batch`.

    A record whose map is paused stays in Kafka with everything after it on its partition:
    the partition is sought back to it before the batch's offsets are committed.
    """

    @broker.subscriber(
        existing_topic(topic),
        group_id=group,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        decoder=raw_body,  # the handler reads the bytes, under its fault policy
        parser=tolerant_parser,
        batch=True,
        max_records=MAX_BATCH,
        # getmany returns at once when records are ready; this only bounds an idle poll.
        batch_timeout_ms=BATCH_WAIT_MS,
    )
    async def on_records(message: KafkaMessage) -> None:
        raws: Any = message.raw_message
        blocked: dict[TopicPartition, int] = {}
        ready: list[tuple[SourceRecord, str | None]] = []
        try:
            # Inside the try: PostgreSQL away while reading the map states is an outage too,
            # read again after the pause below rather than at once, over and over.
            for raw in raws:
                record = _source_record(raw)
                where = TopicPartition(record.topic, record.partition)
                if where in blocked:
                    continue
                map_name = map_of(envelope_field(record, "type"))
                if await switch.is_paused(map_name):
                    blocked[where] = record.offset
                    continue
                ready.append((record, map_name))
            handled = await worker.handle_batch(
                [record for record, _ in ready], lambda record: policy.run(record, worker.handle)
            )
        except Exception:
            log.exception("mapping.failed_will_redeliver", consumer=group)
            await asyncio.sleep(1.0)  # the retries already backed off; do not spin
            raise
        if applied is not None:
            for (_, map_name), outcome in zip(ready, handled, strict=True):
                if outcome is Handled.APPLIED:
                    await applied.applied(map_name)  # for the lag view; at most once a second
        if blocked:
            consumer: Any = getattr(message, "consumer", None)
            for where, offset in blocked.items():
                consumer.seek(where, offset)  # the paused record waits in Kafka, in order
            await asyncio.sleep(MAX_STALENESS_S)  # look again soon, without spinning


def _source_record(raw: Any) -> SourceRecord:
    return SourceRecord(raw.topic, raw.partition, raw.offset, _key(raw), bytes(raw.value or b""))


def _key(raw: Any) -> str:
    """The record's key as dead letters and parked records store it (and look it up)."""
    return storable_text(raw.key.decode("utf-8", "replace")) if raw.key else ""


def outbound_worker(
    broker: KafkaBroker,
    settings: Settings,
    engine: Any,
    producer: KafkaProducer,
    *,
    max_backoff_s: float = 2.0,
) -> OutboundWorker:
    """Subscribe the outbound worker to cds.events.v1 on `broker`, publishing through `producer`."""
    publish = producer.publish
    worker = OutboundWorker(engine, publish, settings, send=producer.queue)
    policy = FaultPolicy(
        engine, publish, settings, consumer=OUTBOUND_GROUP, origin="portal",
        max_backoff_s=max_backoff_s,
    )  # fmt: skip
    subscribe_batches(
        broker, settings.topic(CDS_EVENTS), settings.group(OUTBOUND_GROUP), policy, worker,
        lambda t: OutboundWorker.map_name(t) if t else None, MapSwitch(engine),
        AppliedClock(engine, "outbound"),
    )  # fmt: skip
    return worker


def inbound_worker(
    broker: KafkaBroker,
    settings: Settings,
    engine: Any,
    producer: KafkaProducer,
    *,
    max_backoff_s: float = 2.0,
) -> InboundWorker:
    """Subscribe the inbound worker to scm.inbound.v1 on `broker`; dead letters via `producer`."""
    worker = InboundWorker(engine)
    policy = FaultPolicy(
        engine, producer.publish, settings, consumer=INBOUND_GROUP, origin="scm",
        max_backoff_s=max_backoff_s,
    )  # fmt: skip
    subscribe(
        broker, settings.topic(SCM_INBOUND), settings.group(INBOUND_GROUP), policy, worker.handle,
        lambda t: INBOUND_MAPS.get(t) if t else None, MapSwitch(engine),
        AppliedClock(engine, "inbound"),
    )  # fmt: skip
    return worker


def dead_letter_ops(engine: Any, settings: Settings, publish: Publish) -> DeadLetterOps:
    """Redrive and discard for both workers, publishing through `publish`."""
    outbound = OutboundWorker(engine, publish, settings)
    inbound = InboundWorker(engine)
    return DeadLetterOps(
        engine,
        {
            OUTBOUND_GROUP: (
                FaultPolicy(engine, publish, settings, consumer=OUTBOUND_GROUP, origin="portal"),
                outbound.handle,
            ),
            INBOUND_GROUP: (
                FaultPolicy(engine, publish, settings, consumer=INBOUND_GROUP, origin="scm"),
                inbound.handle,
            ),
        },
    )


async def run_outbound(settings: Settings) -> None:
    """Run the outbound mapping worker and the dead-letter index until cancelled
    (`dualsync run outbound`)."""
    from sync_service.ops.deadletter_index import subscribe_deadletter_index

    def wire(broker: KafkaBroker, settings: Settings, engine: Any, producer: KafkaProducer) -> None:
        outbound_worker(broker, settings, engine, producer)
        subscribe_deadletter_index(broker, settings, engine)  # every dead letter in PostgreSQL

    topics = [CDS_EVENTS, SCM_SALESORDERS, SCM_CONTACTS, SCM_CUSTOMERS, DEADLETTER]
    await _run(settings, "outbound", topics, wire)  # the index acts as "outbound" too


async def run_inbound(settings: Settings) -> None:
    """Run the inbound mapping worker until cancelled (`dualsync run inbound`)."""
    await _run(settings, "inbound", [SCM_INBOUND, DEADLETTER], inbound_worker)


async def _run(
    settings: Settings, name: Literal["outbound", "inbound"], topics: list[str], wire: Any
) -> None:
    from sync_service.brokers import service_broker
    from sync_service.db.engine import create_engine
    from sync_service.kafka_access import client_options
    from sync_service.topics import require_topics

    await require_topics(settings, name, topics)  # each worker is a role of its own name
    engine = create_engine(settings.database_url, connect_timeout_s=settings.connect_timeout_s)
    producer = KafkaProducer(
        settings.kafka_bootstrap,
        client_id=f"dualsync-{name}",
        security=client_options(settings, name),
    )
    broker = service_broker(settings, name)
    try:
        await producer.start()
        wire(broker, settings, engine, producer)
        await broker.start()
        log.info("mapping.started", worker=name, topic=settings.topic(topics[0]))
        await asyncio.Event().wait()  # until cancelled
    finally:
        await broker.stop()  # first: a batch in hand may still publish while it finishes
        await producer.stop()
        await engine.dispose()
