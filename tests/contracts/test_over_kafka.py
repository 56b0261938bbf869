"""A contract message survives the real broker: published through FastStream, consumed equal."""

from __future__ import annotations

import asyncio

import pytest
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from contracts import Envelope, Message, decode, envelope, to_json_bytes
from contracts.topics import CDS_EVENTS
from sync_service.kafka_access import broker_security
from sync_service.settings import Settings
from tests.contracts.samples import SAMPLES

pytestmark = pytest.mark.integration


async def test_every_message_type_round_trips_through_kafka(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    topic = f"{topic_prefix}{CDS_EVENTS}"
    sent = [envelope(payload, origin="portal", company="usmf") for payload in SAMPLES.values()]
    received: list[Envelope[Message]] = []
    all_in = asyncio.Event()

    # A scratch topic and group: the admin's (no role has them).
    settings = Settings(kafka_bootstrap=kafka_bootstrap)
    broker = KafkaBroker(
        kafka_bootstrap, enable_idempotence=True, security=broker_security(settings, "admin")
    )

    @broker.subscriber(topic, group_id=f"{topic_prefix}roundtrip", auto_offset_reset="earliest")
    async def collect(message: KafkaMessage) -> None:
        # The raw bytes, as an ERP consumer would see them, not FastStream's own JSON parse.
        received.append(decode(message.body))
        if len(received) == len(sent):
            all_in.set()

    async with broker:
        await broker.start()
        for message in sent:
            await broker.publish(to_json_bytes(message), topic, key=b"same-aggregate")
        await asyncio.wait_for(all_in.wait(), timeout=30)

    # One key, one partition: the order is kept, and every field comes back equal.
    assert received == sent
    assert [type(m.payload) for m in received] == [type(m.payload) for m in sent]
