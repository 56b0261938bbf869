"""The broker supports what dualsync's delivery guarantees stand on."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer  # type: ignore[import-untyped]

from sync_service.settings import Settings
from tests.kafka_roles import as_role

pytestmark = pytest.mark.integration


def _admin(bootstrap: str) -> dict[str, Any]:
    """Scratch topics and a transactional id that no role has: the admin's."""
    return as_role(Settings(kafka_bootstrap=bootstrap), "admin")


async def _read(bootstrap: str, topic: str, count: int) -> list[tuple[bytes, bytes]]:
    consumer = AIOKafkaConsumer(
        topic,
        **_admin(bootstrap),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    seen: list[tuple[bytes, bytes]] = []
    try:
        async with asyncio.timeout(30):
            while len(seen) < count:
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    seen.extend((record.key, record.value) for record in records)
        # Give a duplicate, were there one, the chance to show up.
        for records in (await consumer.getmany(timeout_ms=500)).values():
            seen.extend((record.key, record.value) for record in records)
    finally:
        await consumer.stop()
    return seen


async def test_idempotent_producer_delivers_each_record_once_in_key_order(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    topic = f"{topic_prefix}idempotence"
    producer = AIOKafkaProducer(**_admin(kafka_bootstrap), enable_idempotence=True, acks="all")
    await producer.start()
    try:
        sent = [(f"order-{i % 4}".encode(), f"update-{i}".encode()) for i in range(200)]
        results = await asyncio.gather(
            *[await producer.send(topic, value, key=key) for key, value in sent]
        )
    finally:
        await producer.stop()
    assert all(metadata.offset >= 0 for metadata in results)

    received = await _read(kafka_bootstrap, topic, len(sent))
    assert sorted(received) == sorted(sent)  # every record exactly once
    for key in {key for key, _ in sent}:
        assert [v for k, v in received if k == key] == [v for k, v in sent if k == key]


async def test_transactional_producer_commits_atomically(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    # Needs the one-node transaction-state settings of scripts/stack.sh.
    topic = f"{topic_prefix}transactions"
    producer = AIOKafkaProducer(**_admin(kafka_bootstrap), transactional_id=f"{topic_prefix}tx")
    await producer.start()
    try:
        async with producer.transaction():
            await producer.send(topic, b"committed", key=b"k")
        await producer.begin_transaction()
        await producer.send(topic, b"aborted", key=b"k")
        await producer.abort_transaction()
        async with producer.transaction():
            await producer.send(topic, b"after", key=b"k")
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        **_admin(kafka_bootstrap),
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        async with asyncio.timeout(30):
            while len(values) < 2:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    values.extend(record.value for record in records)
    finally:
        await consumer.stop()
    assert values == [b"committed", b"after"]
