"""Scenario 1, the broker's own pass-through: produce -> forward -> read, with plain aiokafka.

N messages the size of a real SubmitOrder envelope go to topic A; a forwarder (a consumer group
member reading A in batches and producing each record to B, committing after the batch is
acknowledged) passes them on; a reader counts them on B. Producers use what dualsync's do
(acks=all, idempotent) plus a small linger so that records travel in batches. Timed from the
first send until the reader has every message: the ceiling for any Kafka-to-Kafka hop in Python
on this machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Any, Final

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.forwarder import PRODUCER
from bench.orders import submit_order_record
from bench.progress import say
from bench.services import ROOT
from sync_service.kafka_access import client_options
from sync_service.kafka_access import environment as kafka_environment
from sync_service.settings import Settings

__all__ = ["PRODUCER", "BaselineResult", "run_baseline"]

PARTITIONS: Final = 3  # as dualsync's own topics


@dataclass
class BaselineResult:
    """What the pass-through measured."""

    messages: int
    message_bytes: int
    received: int
    elapsed_s: float
    timed_out: bool

    @property
    def msgs_per_s(self) -> float:
        """Messages through both hops per second."""
        return self.received / self.elapsed_s if self.elapsed_s else 0.0

    def as_dict(self) -> dict[str, Any]:
        """Parameters and counts for the results file."""
        return {
            "messages": self.messages,
            "message_bytes": self.message_bytes,
            "received": self.received,
            "elapsed_s": round(self.elapsed_s, 3),
            "timed_out": self.timed_out,
            "partitions": PARTITIONS,
            "producer": PRODUCER,
            "forwarder": "own process: getmany batches -> send each -> await the acks -> commit",
        }


async def _count(settings: Settings, topic: str, count: int, progress: list[int]) -> None:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        enable_auto_commit=False,
        **client_options(settings, "admin"),  # scratch topics: the admin's
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        while progress[0] < count:
            batches = await consumer.getmany(timeout_ms=100, max_records=5000)
            progress[0] += sum(len(records) for records in batches.values())
    finally:
        await consumer.stop()


async def _create(settings: Settings, names: list[str]) -> None:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap, **client_options(settings, "admin")
    )
    await admin.start()
    try:
        await admin.create_topics([NewTopic(n, PARTITIONS, replication_factor=1) for n in names])
    finally:
        await admin.close()


async def run_baseline(settings: Settings, messages: int, timeout_s: float) -> BaselineResult:
    """Pass `messages` order-sized messages through two hops; the rate end to end."""
    run = uuid.uuid4().hex[:8]
    source, target = settings.topic(f"bench.raw.{run}.a"), settings.topic(f"bench.raw.{run}.b")
    await _create(settings, [source, target])
    sample = submit_order_record(0, settings.command_signer())
    value = sample.value
    say(f"baseline: {messages} messages of {len(value)} bytes, {source} -> {target}")
    progress = [0]
    reader = asyncio.create_task(_count(settings, target, messages, progress))
    forwarder = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.forwarder",
        settings.kafka_bootstrap, source, target, f"bench-forward-{run}",
        cwd=ROOT, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        env={**os.environ, **kafka_environment(settings)},
    )  # fmt: skip
    assert forwarder.stdout is not None
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, **PRODUCER, **client_options(settings, "admin")
    )
    await producer.start()
    try:
        # The forwarder's group join takes seconds; it must not count as pass-through time.
        try:
            line = await asyncio.wait_for(forwarder.stdout.readline(), 60)
        except TimeoutError:
            line = b""
        if line.strip() != b"ready":
            raise RuntimeError("the baseline forwarder did not join its group in 60s")
        keys = [f"order-{uuid.uuid4()}".encode() for _ in range(messages)]
        start = time.monotonic()
        sent = [await producer.send(source, value, key=key) for key in keys]
        await asyncio.gather(*sent)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(reader), timeout_s)
        elapsed = time.monotonic() - start
        return BaselineResult(messages, len(value), progress[0], elapsed, progress[0] < messages)
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        await producer.stop()
        if forwarder.returncode is None:
            forwarder.terminate()
        try:
            await asyncio.wait_for(forwarder.wait(), 10)
        except TimeoutError:
            forwarder.kill()
            await forwarder.wait()
