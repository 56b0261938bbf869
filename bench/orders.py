"""Orders for the bench: as the API would put them on Kafka, as HTTP bodies, and watching them.

Every order is the bootstrap Administrator's, for one of the demo customers (US-001, US-002),
with three lines of demo products, so that it passes every rule and travels the whole way.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Final
from uuid import UUID, uuid4

import httpx
from aiokafka import AIOKafkaConsumer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.commands import DeliveryAddress, OrderLineRequest, SubmitOrder
from contracts.envelope import to_json_bytes
from contracts.topics import SCM_SALESORDERS
from portal_api.ordering import NO_CONTACT, submit_command_id
from sync_service.command_processor import command_envelope, command_key
from sync_service.command_signing import CommandSigner
from sync_service.demo_data import COMPANY
from sync_service.domain.roles import BOOTSTRAP_ACTOR
from sync_service.kafka_access import client_options
from sync_service.projections.tables import order_views
from sync_service.settings import Settings

__all__ = [
    "LINES",
    "ScmWatch",
    "count_views",
    "order_body",
    "round_trip",
    "submit_order_record",
]

CUSTOMERS: Final = ("US-001", "US-002")
LINES: Final = (("P-1000", "3", "ea"), ("P-1001", "2", "box"), ("P-1002", "10", "ea"))
ADDRESS: Final = {"street": "1 Bench Way", "city": "Redmond", "postal_code": "98052"}


def _receipt_date() -> date:
    return date.today() + timedelta(days=14)


def order_body(number: int) -> dict[str, Any]:
    """`POST /orders` body of the `number`th bench order (the admin names the customer)."""
    return {
        "requested_receipt_date": _receipt_date().isoformat(),
        "delivery_address": ADDRESS,
        "requisition_number": f"BENCH-{number}",
        "company": COMPANY,
        "customer_account": CUSTOMERS[number % len(CUSTOMERS)],
        "lines": [{"product_number": p, "quantity": q, "unit": u} for p, q, u in LINES],
    }


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """A SubmitOrder command ready for portal.commands.v1."""

    order_id: UUID
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


def submit_order_record(number: int, signer: CommandSigner) -> OrderRecord:
    """The `number`th bench order as the API publishes it: envelope, key and signed headers."""
    order_id = uuid4()
    command = SubmitOrder(
        command_id=submit_command_id(order_id),
        issued_by=BOOTSTRAP_ACTOR,
        order_id=order_id,
        contact_id=NO_CONTACT,
        requested_receipt_date=_receipt_date(),
        delivery_address=DeliveryAddress(**ADDRESS),
        requisition_number=f"BENCH-{number}",
        company=COMPANY,
        customer_account=CUSTOMERS[number % len(CUSTOMERS)],
        lines=[
            OrderLineRequest(product_number=p, quantity=Decimal(q), unit=u) for p, q, u in LINES
        ],
    )
    env = command_envelope(command, company=COMPANY)
    headers = [
        ("message_id", str(env.message_id).encode()),
        ("type", env.type.encode()),
        ("correlation_id", str(env.correlation_id).encode()),
    ]
    key, value = command_key(command), to_json_bytes(env)
    headers += signer.record_headers(key, value)
    return OrderRecord(order_id, key, value, headers)


async def count_views(engine: AsyncEngine) -> int:
    """How many orders the projection shows (every role's view reads this table)."""
    async with engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(order_views)) or 0)


@dataclass
class ScmWatch:
    """Reads scm.salesorders.v1 from its end: when each order first arrived there.

    Arrival is the record's Kafka timestamp (the outbound worker's send time, wall clock in
    ms), not when this process got round to reading it: the bench's own load must not count.
    The key is `dataAreaId/CDSSalesOrderId`, so no value needs parsing.
    """

    settings: Settings
    arrived: dict[str, float] = field(default_factory=dict)
    """Order id (text) -> first arrival, seconds since the epoch."""
    records: int = 0
    _consumer: AIOKafkaConsumer | None = None
    _task: asyncio.Task[None] | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> None:
        """Start at the topic's current end; returns once the end offsets are fixed."""
        topic = self.settings.topic(SCM_SALESORDERS)
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=self.settings.kafka_bootstrap,
            **client_options(self.settings, "operator"),
            auto_offset_reset="latest",
            enable_auto_commit=False,
        )
        await consumer.start()
        try:
            # Without a group every partition is assigned as soon as the metadata is in.
            async with asyncio.timeout(30):
                while not consumer.assignment():  # noqa: ASYNC110 - aiokafka offers no event
                    await asyncio.sleep(0.05)
            assigned = sorted(consumer.assignment())
            await consumer.seek_to_end(*assigned)
            for partition in assigned:  # resolve the positions now, before anything is sent
                await consumer.position(partition)
        except BaseException:
            await consumer.stop()
            raise
        self._consumer = consumer
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self._consumer is not None
        while True:
            batches = await self._consumer.getmany(timeout_ms=200, max_records=5000)
            for records in batches.values():
                for record in records:
                    self.records += 1
                    order_id = (record.key or b"").decode().rpartition("/")[2]
                    self.arrived.setdefault(order_id, record.timestamp / 1000)
            if batches:
                self._changed.set()

    def count(self, order_ids: Iterable[str]) -> int:
        """How many of `order_ids` have arrived."""
        return sum(1 for order_id in order_ids if order_id in self.arrived)

    async def wait_for(self, order_ids: set[str], timeout_s: float) -> bool:
        """Until every one of `order_ids` has arrived (True) or `timeout_s` passed (False)."""
        deadline = time.monotonic() + timeout_s
        while not order_ids <= self.arrived.keys():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.5))
            if self._task is not None and self._task.done():
                self._task.result()  # the reader failed: raise its error
        return True

    async def stop(self) -> None:
        """Stop reading."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._consumer is not None:
            await self._consumer.stop()


async def round_trip(settings: Settings, api_url: str, admin_token: str, timeout_s: float) -> float:
    """One order through the API all the way to SCM and the view: every service is working.

    Returns the seconds it took. Used as the readiness check of the workers (their consumer
    groups must have joined and their connections be open before anything is timed).
    """
    watch = ScmWatch(settings)
    await watch.start()
    start = time.monotonic()
    headers = {"Authorization": f"Bearer {admin_token}"}
    try:
        async with httpx.AsyncClient(base_url=api_url, headers=headers, timeout=30) as client:
            answer = await client.post("/orders", json=order_body(0))
            if answer.status_code != 202:
                raise RuntimeError(f"the warm-up order was refused: {answer.text}")
            order_id = answer.json()["order_id"]
            deadline = start + timeout_s
            while (await client.get(f"/orders/{order_id}")).status_code != 200:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the warm-up order was not in the view in {timeout_s:g}s")
                await asyncio.sleep(0.1)
            remaining = max(0.1, deadline - time.monotonic())
            if not await watch.wait_for({order_id}, remaining):
                raise TimeoutError(f"the warm-up order was not on SCM in {timeout_s:g}s")
        return time.monotonic() - start
    finally:
        await watch.stop()
