"""The services' producer across a real Kafka restart (the outage tests' private stack).

A plain idempotent aiokafka producer that had records in flight while the broker restarted
answered every later send with OutOfOrderSequenceNumber, for ever (seen in `make chaos`); ours
starts a new session and sends again.
"""

from __future__ import annotations

import asyncio
import collections
import time

import pytest

from bench.private_stack import PrivateStack
from sync_service.failures import is_outage
from sync_service.kafka_access import client_options
from sync_service.producer import BROKEN_SESSION, KafkaProducer
from sync_service.settings import Settings
from sync_service.topics import ensure_topics

pytestmark = pytest.mark.integration

SENDERS = 6
TOPIC = "producer.restart.v1"


async def test_sends_succeed_again_soon_after_kafka_restarts(
    outage_stack: PrivateStack, outage_settings: Settings
) -> None:
    topic = outage_settings.topic(TOPIC)
    await ensure_topics(outage_settings, [TOPIC])
    phase = "before"
    sent: collections.Counter[str] = collections.Counter()
    failures: collections.Counter[str] = collections.Counter()
    sent_after_by: dict[int, float] = {}
    back_at = 0.0
    all_sent_again = asyncio.Event()

    async def sender(producer: KafkaProducer, number: int) -> None:
        count = 0
        while True:
            try:
                await producer.publish(topic, f"k{number}".encode(), str(count).encode())
                sent[phase] += 1
                if phase == "after":
                    sent_after_by.setdefault(number, time.monotonic() - back_at)
                    if len(sent_after_by) == SENDERS:
                        all_sent_again.set()
            except Exception as error:
                failures[type(error).__name__] += 1
                # Whatever a send meets around a restart is waited out, never taken for poison.
                assert is_outage(error), repr(error)
                await asyncio.sleep(0.2)
            count += 1
            await asyncio.sleep(0.01)

    # Records expire in the producer when an outage outlasts its request timeout (40 s by default,
    # 3 s here to keep the test short): what happened to the records in flight in `make chaos`.
    producer = KafkaProducer(
        outage_settings.kafka_bootstrap,
        client_id="test",
        security=client_options(outage_settings, "admin"),  # a scratch topic
        request_timeout_ms=3000,
    )
    await producer.start()
    senders = [asyncio.create_task(sender(producer, n)) for n in range(SENDERS)]
    try:
        await asyncio.sleep(2)
        phase = "down"
        await outage_stack.stop("kafka")
        await asyncio.sleep(5)
        await outage_stack.start("kafka")
        phase, back_at = "after", time.monotonic()
        async with asyncio.timeout(60):
            await all_sent_again.wait()
    finally:
        for task in senders:
            task.cancel()
        await asyncio.gather(*senders, return_exceptions=True)
        await producer.stop()

    assert sent["before"] > 0
    assert sorted(sent_after_by) == list(range(SENDERS)), (sent, failures)
    broken = sum(failures[error.__name__] for error in BROKEN_SESSION)
    # A broken session was replaced, not retried for ever; without one, nothing to renew.
    assert (producer.renewals >= 1) == (broken > 0), (producer.renewals, failures)
