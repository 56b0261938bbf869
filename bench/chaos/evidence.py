"""What the chaos run finds after the drain: in the event store, on the SCM topic, in the views.

Each is read where a user or the ERP would see it: the events table, scm.salesorders.v1 from
its first record (with each record's `message_id` header), `GET /orders` as the Administrator,
and the ERP simulator's own order book.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import httpx
from aiokafka import AIOKafkaConsumer
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.topics import SCM_SALESORDERS
from sync_service.erp_sim.order_book import SCHEMA as ERP_SCHEMA
from sync_service.kafka_access import client_options
from sync_service.settings import Settings

__all__ = ["AdminView", "StoreFacts", "admin_view", "erp_numbers", "scm_records", "store_facts"]

_PAGE: Final = 200
_READ_TIMEOUT_S: Final = 600.0


@dataclass
class StoreFacts:
    """The order streams of the event store, counted."""

    submitted: Counter[str] = field(default_factory=Counter)
    """Order id -> OrderSubmitted events in its stream."""
    orders_by_requisition: defaultdict[str, set[str]] = field(
        default_factory=lambda: defaultdict(set)
    )
    """Requisition number -> the order ids stored with it (one client order: one id)."""
    repeated_statuses: int = 0
    """(order, status) pairs stored more than once: one ERP answer applied twice."""
    rejected: int = 0
    dead_letters: int = 0


async def store_facts(engine: AsyncEngine) -> StoreFacts:
    """Count OrderSubmitted per order and per requisition number, and repeated status changes."""
    facts = StoreFacts()
    statuses: Counter[tuple[str, str]] = Counter()
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT stream_id, event_type,"
                " payload->'order'->>'msdyn_customerrequisitionnumber',"
                " payload->>'status' FROM events WHERE stream_type = 'order'"
            )
        )
        for stream_id, event_type, requisition, status in rows:
            order_id = stream_id.removeprefix("order-")
            if event_type == "OrderSubmitted":
                facts.submitted[order_id] += 1
                if requisition:
                    facts.orders_by_requisition[requisition].add(order_id)
            elif event_type == "OrderSyncStatusChanged":
                statuses[(order_id, status)] += 1
            elif event_type == "CommandRejected":
                facts.rejected += 1
        facts.dead_letters = int(
            await connection.scalar(text("SELECT count(*) FROM dead_letters")) or 0
        )
    facts.repeated_statuses = sum(1 for count in statuses.values() if count > 1)
    return facts


async def scm_records(
    settings: Settings, timeout_s: float = _READ_TIMEOUT_S
) -> dict[str, list[str]]:
    """Key -> the `message_id` of each record on scm.salesorders.v1 with that key, in order."""
    topic = settings.topic(SCM_SALESORDERS)
    # Without a group every partition is assigned as soon as the topic's metadata is in.
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap,
        **client_options(settings, "operator"),
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        client_id="chaos",
    )
    found: dict[str, list[str]] = defaultdict(list)
    deadline = time.monotonic() + timeout_s
    await consumer.start()
    try:
        while not consumer.assignment():  # aiokafka offers no event to wait for
            if time.monotonic() > deadline:
                raise TimeoutError(f"no partitions of {topic} assigned in {timeout_s:g}s")
            await asyncio.sleep(0.05)
        partitions = sorted(consumer.assignment())
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        while [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic} was not read to its end in {timeout_s:g}s")
            batches = await consumer.getmany(timeout_ms=500, max_records=5000)
            for records in batches.values():
                for record in records:
                    headers = dict(record.headers or ())
                    key = (record.key or b"").decode()
                    found[key].append(headers.get("message_id", b"").decode())
    finally:
        await consumer.stop()
    return dict(found)


@dataclass
class AdminView:
    """What `GET /orders` shows the Administrator: order id -> (status, SCM number)."""

    orders: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    pages: int = 0


async def admin_view(
    api_urls: Sequence[str], admin_token: str, timeout_s: float = 120.0
) -> AdminView:
    """Every order the Administrator sees, page by page (a failed page is asked again, of the
    next API replica)."""
    view = AdminView()
    headers = {"Authorization": f"Bearer {admin_token}"}
    deadline = time.monotonic() + timeout_s
    cursor: str | None = None
    replica = 0
    async with httpx.AsyncClient(headers=headers, timeout=30) as client:
        while True:
            params: dict[str, Any] = {"limit": _PAGE, **({"cursor": cursor} if cursor else {})}
            try:
                answer = await client.get(f"{api_urls[replica]}/orders", params=params)
                answer.raise_for_status()
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                replica = (replica + 1) % len(api_urls)
                await asyncio.sleep(0.5)
                continue
            page = answer.json()
            view.pages += 1
            for item in page["items"]:
                view.orders[item["order_id"]] = (item["status"], item["sales_order_number"])
            cursor = page["next_cursor"]
            if not cursor:
                return view


async def erp_numbers(engine: AsyncEngine) -> dict[str, str]:
    """Order id -> the number the ERP simulator gave it (its own order book)."""
    async with engine.connect() as connection:
        try:
            rows = await connection.execute(
                text(
                    f"SELECT cds_sales_order_id, sales_order_number FROM {ERP_SCHEMA}.sales_orders"  # noqa: S608 - a constant
                )
            )
        except ProgrammingError:  # the simulator never got as far as creating its tables
            return {}
        return {str(order_id): number for order_id, number in rows}
