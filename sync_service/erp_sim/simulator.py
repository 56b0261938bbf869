"""The ERP-side consumer of scm.salesorders.v1: numbers orders and answers with their statuses.

Per order: number it (once, per legal entity), answer `Active` with the number on
scm.inbound.v1, then `Confirmed`, `Delivered`, `Invoiced` as their delays pass. The number is
committed before the answer is sent and the Kafka offset after it (AckPolicy.NACK_ON_ERROR), so
a crash in between re-sends the answer with the same message id rather than losing it. Pending
status changes are read from the order book on every tick, so a restart simply carries on.
A record it can never handle (deterministically, or after `poison_attempts` unexpected
failures) is logged and counted (`dualsync_poison_records`) and passed over; only an outage of
Kafka or PostgreSQL makes it wait.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Final
from uuid import UUID

from faststream import AckPolicy
from faststream.kafka.annotations import KafkaMessage

from contracts.envelope import Envelope, Message, to_json_bytes
from contracts.errors import ContractError
from contracts.registry import decode
from contracts.scm import SalesOrderHeader
from contracts.topics import SCM_INBOUND, SCM_SALESORDERS
from sync_service.brokers import existing_topic, service_broker
from sync_service.erp_sim.lifecycle import ACTIVE, StatusDelays, answer_envelope, inbound_key
from sync_service.erp_sim.order_book import NumberedOrder, OrderBook
from sync_service.failures import describe
from sync_service.logs import get_logger
from sync_service.poison import Poisoned, RetryPolicy, count_settled, retry_classified
from sync_service.producer import KafkaProducer
from sync_service.raw_records import raw_body, tolerant_parser
from sync_service.settings import Settings

__all__ = [
    "CONSUMER_GROUP",
    "ErpSimulator",
    "Handled",
    "run_erp_sim",
    "running_erp_sim",
]

CONSUMER_GROUP: Final = "dualsync-erp-sim"
_LONGEST_TICK_PAUSE_S: Final = 5.0

log = get_logger(__name__)


class Handled(enum.Enum):
    """What one record of scm.salesorders.v1 came to."""

    NUMBERED = "numbered"
    KNOWN = "known"
    IGNORED = "ignored"


class ErpSimulator:
    """Numbers portal orders and plays their processing statuses back to the portal side."""

    def __init__(
        self, book: OrderBook, producer: KafkaProducer, settings: Settings, delays: StatusDelays
    ) -> None:
        self._book = book
        self._producer = producer
        self._topic = settings.topic(SCM_INBOUND)
        self._delays = delays
        self._retry = RetryPolicy(poison_attempts=settings.poison_attempts)

    async def handle(self, raw: bytes) -> Handled:
        """Handle one record of scm.salesorders.v1; raise only when it should be redelivered."""
        try:
            return await retry_classified(
                lambda: self._handle(raw), self._retry, event="erp_sim.fault"
            )
        except Poisoned as poison:
            log.error(
                "erp_sim.poison", error=describe(poison.error),
                error_class=type(poison.error).__name__, attempts=poison.attempts,
            )  # fmt: skip
            count_settled(CONSUMER_GROUP, "logged", poison.fault)
            return Handled.IGNORED

    async def _handle(self, raw: bytes) -> Handled:
        try:
            env = decode(raw)
        except (ContractError, RecursionError) as error:
            log.warning("erp_sim.undecodable", error=describe(error))
            return Handled.IGNORED
        order = env.payload
        # Only the portal's orders are numbered here; anything else is not this ERP's to answer.
        if not isinstance(order, SalesOrderHeader) or env.origin != "portal":
            log.warning("erp_sim.ignored", message_type=env.type, origin=env.origin)
            return Handled.IGNORED
        if order.CDSSalesOrderId is None:
            log.warning("erp_sim.ignored", reason="no CDSSalesOrderId", message_id=env.message_id)
            return Handled.IGNORED
        company = order.dataAreaId or env.company
        numbered = await self._book.number(company, order, env.correlation_id, _now())
        if numbered.status is not None:
            return Handled.KNOWN  # answered before: same number, nothing new to say
        await self._answer(numbered, ACTIVE, causation_id=env.message_id)
        log.info("erp_sim.numbered", number=numbered.number, order=str(order.CDSSalesOrderId))
        return Handled.NUMBERED if numbered.new else Handled.KNOWN

    async def tick(self) -> int:
        """Send every status change that is due; return how many were sent."""
        now = _now()
        sent = 0
        for order in await self._book.unfinished(self._delays.unfinished_statuses()):
            current = order
            while (step := self._delays.next_step(current.status or ACTIVE)) is not None:
                status, delay = step
                if now < current.numbered_at + delay:
                    break
                if not await self._answer(current, status):
                    break
                current = replace(current, status=status)
                sent += 1
        return sent

    async def run_schedule(self, tick_s: float) -> None:
        """Tick until cancelled; a failed tick is logged and tried again, less often each time."""
        pause = tick_s
        while True:
            try:
                await self.tick()
                pause = tick_s
            except Exception:
                # An outage would otherwise log a traceback five times a second.
                log.exception("erp_sim.tick_failed", retry_in_s=pause)
                pause = min(pause * 2, _LONGEST_TICK_PAUSE_S)
            await asyncio.sleep(pause)

    async def _answer(
        self, order: NumberedOrder, status: str, causation_id: UUID | None = None
    ) -> bool:
        answer: Envelope[Message] = answer_envelope(
            order.header,
            company=order.company,
            number=order.number,
            status=status,
            correlation_id=order.correlation_id,
            causation_id=causation_id,
        )
        key = inbound_key(order.company, order.number)
        await self._producer.publish(self._topic, key, to_json_bytes(answer))
        moved = await self._book.advance(order, status)
        log.info("erp_sim.answered", number=order.number, status=status, recorded=moved)
        return moved


def _now() -> datetime:
    return datetime.now(UTC)


@asynccontextmanager
async def running_erp_sim(
    settings: Settings, delays: StatusDelays, *, tick_s: float = 0.2
) -> AsyncIterator[ErpSimulator]:
    """The simulator, consuming and ticking, until the block ends."""
    from sync_service.db.engine import create_engine
    from sync_service.kafka_access import client_options
    from sync_service.topics import require_topics

    await require_topics(settings, "erp", [SCM_SALESORDERS, SCM_INBOUND])
    engine = create_engine(settings.database_url, connect_timeout_s=settings.connect_timeout_s)
    book = OrderBook(engine)
    await book.create_tables()
    producer = KafkaProducer(
        settings.kafka_bootstrap,
        client_id="dualsync-erp-sim",
        security=client_options(settings, "erp"),
    )
    await producer.start()
    simulator = ErpSimulator(book, producer, settings, delays)
    broker = service_broker(settings, "erp")

    @broker.subscriber(
        existing_topic(settings.topic(SCM_SALESORDERS)),
        group_id=settings.group(CONSUMER_GROUP),
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        decoder=raw_body,  # the handler reads the bytes, under its fault policy
        parser=tolerant_parser,
    )
    async def on_sales_order(message: KafkaMessage) -> None:
        try:
            await simulator.handle(message.body)
        except Exception:
            log.exception("erp_sim.failed_will_redeliver")
            await asyncio.sleep(1.0)  # seek back without spinning on a dead dependency
            raise

    schedule = asyncio.create_task(simulator.run_schedule(tick_s), name="erp-sim-schedule")
    try:
        await broker.start()
        log.info("erp_sim.started", topic=settings.topic(SCM_SALESORDERS), delays=str(delays))
        yield simulator
    finally:
        schedule.cancel()
        await asyncio.gather(schedule, return_exceptions=True)
        await broker.stop()
        await producer.stop()
        await engine.dispose()


async def run_erp_sim(
    settings: Settings, delays: StatusDelays | None = None, *, tick_s: float = 0.2
) -> None:
    """Run the simulator until cancelled (`dualsync erp-sim`)."""
    async with running_erp_sim(settings, delays or StatusDelays(), tick_s=tick_s):
        await asyncio.Event().wait()
