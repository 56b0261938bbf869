"""Kafka helpers for the mapping tests: send records as a producer would, read a topic back."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from contracts.envelope import Envelope, Message, to_json_bytes
from contracts.registry import decode
from sync_service.settings import Settings
from tests.kafka_roles import as_role, writer_of

__all__ = ["Received", "read", "send", "send_raw"]


@dataclass(frozen=True)
class Received:
    """One record read back: key, decoded envelope, headers."""

    key: str
    env: Envelope[Message]
    headers: dict[str, str]


async def send_raw(settings: Settings, topic: str, *records: tuple[str, bytes]) -> None:
    """Publish (key, value) records to `topic`, in order."""
    producer = AIOKafkaProducer(**as_role(settings, writer_of(topic)), acks="all")
    await producer.start()
    try:
        for key, value in records:
            await producer.send_and_wait(settings.topic(topic), value, key=key.encode())
    finally:
        await producer.stop()


async def send(settings: Settings, topic: str, *records: tuple[str, Envelope[Message]]) -> None:
    """Publish (key, envelope) records to `topic`, in order."""
    await send_raw(settings, topic, *((key, to_json_bytes(env)) for key, env in records))


async def read(
    settings: Settings,
    topic: str,
    done: Callable[[list[Received]], bool],
    *,
    timeout_s: float = 30.0,
    settle_s: float = 0.0,
) -> list[Received]:
    """Records of `topic` from the start until `done` holds, then `settle_s` more."""
    consumer = AIOKafkaConsumer(
        settings.topic(topic),
        **as_role(settings, "operator"),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    seen: list[Received] = []

    async def poll() -> None:
        for records in (await consumer.getmany(timeout_ms=200)).values():
            for r in records:
                headers = {name: value.decode() for name, value in r.headers}
                seen.append(Received(r.key.decode() if r.key else "", decode(r.value), headers))

    try:
        async with asyncio.timeout(timeout_s):
            while not done(seen):
                await poll()
        loop = asyncio.get_running_loop()
        until = loop.time() + settle_s
        while loop.time() < until:
            await poll()
    finally:
        await consumer.stop()
    return seen
