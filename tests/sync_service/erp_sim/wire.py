"""Helpers for the ERP simulator's tests: portal orders in, the ERP's answers out."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from uuid import uuid4

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from contracts.envelope import Envelope, Message, envelope, to_json_bytes
from contracts.registry import decode
from contracts.scm import SalesOrderHeader
from contracts.topics import SCM_SALESORDERS
from sync_service.settings import Settings
from tests.kafka_roles import as_role

__all__ = ["portal_order", "read_until", "send"]


def portal_order(company: str = "usmf", **fields: object) -> Envelope[SalesOrderHeader]:
    """A portal order as the outbound map sends it: no number yet, a CDSSalesOrderId."""
    line = {
        "LineCreationSequenceNumber": 1,
        "ProductNumber": "P-1000",
        "OrderedSalesQuantity": Decimal(3),
        "SalesUnitSymbol": "ea",
        "SalesPrice": Decimal("9.00"),
        "DeliveryAddressCountryRegionISOCode": "US",
        "DeliveryAddressDescription": "dock 4",
        "ShippingSiteId": "1",
        "ShippingWarehouseId": "11",
    }
    order = SalesOrderHeader.model_validate(
        {
            "dataAreaId": company,
            "CDSSalesOrderId": uuid4(),
            "OrderingCustomerAccountNumber": "US-001",
            "InvoiceCustomerAccountNumber": "US-001",
            "CurrencyCode": "USD",
            "LanguageId": "en-us",
            "DeliveryAddressCountryRegionISOCode": "US",
            "DeliveryAddressDescription": "dock 4",
            "lines": [line],
            **fields,
        }
    )
    return envelope(order, origin="portal", company=company)


async def send(settings: Settings, *envs: Envelope[Message]) -> None:
    """Publish portal orders to scm.salesorders.v1, keyed dataAreaId/CDSSalesOrderId."""
    producer = AIOKafkaProducer(**as_role(settings, "outbound"), acks="all")  # as dualsync does
    await producer.start()
    try:
        for env in envs:
            order = env.payload
            assert isinstance(order, SalesOrderHeader)
            key = f"{env.company}/{order.CDSSalesOrderId}".encode()
            topic = settings.topic(SCM_SALESORDERS)
            await producer.send_and_wait(topic, to_json_bytes(env), key=key)
    finally:
        await producer.stop()


async def read_until(
    settings: Settings,
    topic: str,
    done: Callable[[list[tuple[bytes, Envelope[Message]]]], bool],
    *,
    timeout_s: float = 30.0,
    settle_s: float = 0.0,
) -> list[tuple[bytes, Envelope[Message]]]:
    """Decoded records of `topic` from the start until `done` holds, then `settle_s` more."""
    consumer = AIOKafkaConsumer(
        settings.topic(topic),
        **as_role(settings, "operator"),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    seen: list[tuple[bytes, Envelope[Message]]] = []

    async def poll(ms: int) -> None:
        for records in (await consumer.getmany(timeout_ms=ms)).values():
            seen.extend((record.key, decode(record.value)) for record in records)

    try:
        async with asyncio.timeout(timeout_s):
            while not done(seen):
                await poll(200)
        # Give a record that should not be there (a duplicate, a second number) time to show.
        loop = asyncio.get_running_loop()
        until = loop.time() + settle_s
        while loop.time() < until:
            await poll(200)
    finally:
        await consumer.stop()
    return seen
