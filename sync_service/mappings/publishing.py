"""How the mapping workers put a record on Kafka: a port, and its FastStream adapter."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from faststream.kafka import KafkaBroker

__all__ = ["Publish", "broker_publisher"]

Publish = Callable[[str, bytes, bytes, dict[str, str]], Awaitable[None]]
"""(topic, key, value, headers) -> once Kafka has acknowledged the record."""


def broker_publisher(broker: KafkaBroker) -> Publish:
    """Publish through a started broker's (idempotent, acks=all) producer."""

    async def publish(topic: str, key: bytes, value: bytes, headers: dict[str, str]) -> None:
        await broker.publish(value, topic, key=key, headers=headers)

    return publish
