"""Orders through the whole pipeline, and the checks that each one arrived exactly once.

An order goes portal.commands.v1 -> command processor -> event store -> relay -> cds.events.v1
-> outbound -> scm.salesorders.v1 -> ERP simulator (numbers it) -> scm.inbound.v1 -> inbound ->
`OrderSyncStatusChanged(synced)` -> projections -> the order view, `synced` with its number.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import func, select

from contracts.envelope import to_json_bytes
from contracts.topics import CDS_EVENTS, PORTAL_COMMANDS, SCM_INBOUND, SCM_SALESORDERS
from sync_service.command_processor import CONSUMER_GROUP as COMMAND_GROUP
from sync_service.command_processor import command_envelope, command_key
from sync_service.db.engine import create_engine
from sync_service.db.schema import checkpoints, events
from sync_service.erp_sim import CONSUMER_GROUP as ERP_SIM_GROUP
from sync_service.mappings.inbound import INBOUND_GROUP
from sync_service.mappings.outbound import OUTBOUND_GROUP
from sync_service.projections.tables import order_views
from sync_service.projections.worker import CONSUMER_GROUP as PROJECTIONS_GROUP
from sync_service.relay import RELAY_CHECKPOINT
from sync_service.settings import Settings
from sync_service.streams import order_stream
from tests.command_signing import signed_headers
from tests.kafka_offsets import all_consumed
from tests.kafka_roles import as_role
from tests.sync_service.factories import submit_order

PIPELINE = (
    (COMMAND_GROUP, PORTAL_COMMANDS),
    (PROJECTIONS_GROUP, CDS_EVENTS),
    (OUTBOUND_GROUP, CDS_EVENTS),
    (ERP_SIM_GROUP, SCM_SALESORDERS),
    (INBOUND_GROUP, SCM_INBOUND),
)
"""Every consumer group an order passes, with the topic it reads."""


async def send_orders(settings: Settings, count: int) -> list[uuid.UUID]:
    """Put `count` of Jane's orders on portal.commands.v1, as the API would; their order ids."""
    producer = AIOKafkaProducer(**as_role(settings, "api"), acks="all")
    await producer.start()
    order_ids = []
    try:
        for _ in range(count):
            command = submit_order(
                order_id=uuid.uuid4(), requested_receipt_date=date.today() + timedelta(days=30)
            )
            value = to_json_bytes(command_envelope(command, company="usmf"))
            key = command_key(command)
            headers = signed_headers(settings, key, value)
            await producer.send(settings.topic(PORTAL_COMMANDS), value, key=key, headers=headers)
            order_ids.append(command.order_id)
        await producer.flush()
    finally:
        await producer.stop()
    return order_ids


@contextlib.asynccontextmanager
async def orders_flowing(
    settings: Settings, per_batch: int = 5, pause_s: float = 0.05
) -> AsyncIterator[list[uuid.UUID]]:
    """Orders keep coming onto portal.commands.v1, a few at a time, while the block runs.

    Stopped by a flag, not by cancelling: a cancellation that lands inside the Kafka client's
    start or stop can be swallowed there, and the sender would then go on for ever.
    """
    sent: list[uuid.UUID] = []
    stop = asyncio.Event()

    async def keep_sending() -> None:
        while not stop.is_set():
            sent.extend(await send_orders(settings, per_batch))
            await asyncio.sleep(pause_s)

    flowing = asyncio.create_task(keep_sending())
    try:
        yield sent
    finally:
        stop.set()
        await asyncio.wait_for(flowing, 60)


async def partitions_of(settings: Settings, topic: str) -> list[TopicPartition]:
    """The partitions of `topic` (a logical name), asked of the broker; none if it is missing.

    Asked rather than read from a consumer's metadata, which may not list the topic yet.
    """
    physical = settings.topic(topic)
    admin = AIOKafkaAdminClient(**as_role(settings, "operator"))
    await admin.start()
    try:
        [described] = await admin.describe_topics([physical])
    finally:
        await admin.close()
    if described["error_code"] != 0:
        return []
    return [TopicPartition(physical, p["partition"]) for p in described["partitions"]]


async def relay_caught_up(settings: Settings) -> bool:
    """Whether the relay has published every event of the store."""
    engine = create_engine(settings.database_url)
    try:
        async with engine.connect() as connection:
            head = await connection.scalar(select(func.coalesce(func.max(events.c.position), 0)))
            published = await connection.scalar(
                select(checkpoints.c.position).where(checkpoints.c.name == RELAY_CHECKPOINT)
            )
    finally:
        await engine.dispose()
    return (published or 0) >= (head or 0)


async def pipeline_idle(settings: Settings) -> bool:
    """Whether the relay has published every event and every group has consumed its topic."""
    if not await relay_caught_up(settings):
        return False
    for group, topic in PIPELINE:
        if not await all_consumed(settings, topic, group):
            return False
    return True


@dataclass(frozen=True)
class Arrivals:
    """What became of some orders: their events, views and sales orders on the SCM topic."""

    events: Counter[tuple[uuid.UUID, str]]
    """(order id, event type) -> how many such events its stream holds."""
    views: dict[uuid.UUID, tuple[str, str | None]]
    """Order id -> (status, SCM sales order number) in the order views."""
    scm_message_ids: dict[uuid.UUID, set[str]]
    """Order id -> the distinct message ids of its sales orders on scm.salesorders.v1."""

    def exactly_once(self, order_ids: list[uuid.UUID]) -> list[str]:
        """Every way the orders were not delivered exactly once (empty when they were)."""
        faults = []
        for order_id in order_ids:
            submitted = self.events[(order_id, "OrderSubmitted")]
            synced = self.events[(order_id, "OrderSyncStatusChanged")]
            if (submitted, synced) != (1, 1):
                faults.append(f"{order_id}: {submitted} submitted, {synced} status events")
            status, number = self.views.get(order_id, ("missing", None))
            if status != "synced" or number is None:
                faults.append(f"{order_id}: view {status} {number}")
            if len(self.scm_message_ids.get(order_id, ())) != 1:
                faults.append(f"{order_id}: on SCM as {self.scm_message_ids.get(order_id)}")
        return faults


async def arrivals(settings: Settings, order_ids: list[uuid.UUID]) -> Arrivals:
    """Read the store, the views and the whole of scm.salesorders.v1 for `order_ids`."""
    streams = {order_stream(order_id): order_id for order_id in order_ids}
    engine = create_engine(settings.database_url)
    try:
        async with engine.connect() as connection:
            counted = await connection.execute(
                select(events.c.stream_id, events.c.event_type, func.count())
                .where(events.c.stream_id.in_(list(streams)))
                .group_by(events.c.stream_id, events.c.event_type)
            )
            found: Counter[tuple[uuid.UUID, str]] = Counter()
            for stream_id, event_type, count in counted:
                found[(streams[stream_id], event_type)] = count
            viewed = await connection.execute(
                select(
                    order_views.c.order_id, order_views.c.status, order_views.c.sales_order_number
                ).where(order_views.c.order_id.in_(order_ids))
            )
            views = {row.order_id: (row.status, row.sales_order_number) for row in viewed}
    finally:
        await engine.dispose()
    return Arrivals(found, views, await _scm_sales_orders(settings))


async def _scm_sales_orders(settings: Settings) -> dict[uuid.UUID, set[str]]:
    partitions = await partitions_of(settings, SCM_SALESORDERS)
    found: dict[uuid.UUID, set[str]] = {}
    if not partitions:
        return found
    consumer = AIOKafkaConsumer(**as_role(settings, "operator"))
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            batch = await consumer.getmany(timeout_ms=500)
            for record in (r for records in batch.values() for r in records):
                data = json.loads(record.value or b"{}")
                order_id = uuid.UUID(data["payload"]["CDSSalesOrderId"])
                found.setdefault(order_id, set()).add(data["message_id"])
    finally:
        await consumer.stop()
    return found
