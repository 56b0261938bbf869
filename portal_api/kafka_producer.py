"""The API's Kafka producer: connects in the background and refuses at once while Kafka is away.

Idempotent with acks=all (`sync_service.producer`, which renews a session a broker restart broke),
so an acknowledged record is durably on the broker, once. Such a
producer never gives a record up: while the broker is away it holds it and retries, so a request
would wait for as long as the outage lasts. The API instead looks first whether the partition
leaders answer (nothing is queued when they do not) and waits for the acknowledgement only a
bounded time; both answer KafkaUnavailable, which the routes turn into 503 with Retry-After.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from typing import Any, Final

from aiokafka import TopicPartition

from sync_service.logs import get_logger
from sync_service.producer import KafkaProducer

__all__ = ["ACK_TIMEOUT_S", "ApiProducer", "KafkaUnavailable"]

ACK_TIMEOUT_S: Final = 10.0
"""Longest wait for Kafka's acknowledgement of one record (healthy brokers take milliseconds)."""
_REACH_TIMEOUT_S: Final = 2.0
_FIRST_ATTEMPT_S: Final = 5.0
_FIRST_PAUSE_S: Final = 0.5
_LONGEST_PAUSE_S: Final = 5.0

log = get_logger(__name__)


class KafkaUnavailable(ConnectionError):
    """Kafka cannot take a record now; the message says whether it may still arrive."""


class ApiProducer:
    """Publishes records for the API; `connected` once the producer has reached Kafka."""

    def __init__(
        self, bootstrap: str, *, client_id: str, security: Mapping[str, Any] | None = None
    ) -> None:
        self._bootstrap = bootstrap
        self._security = security
        self._client_id = client_id
        self._producer: KafkaProducer | None = None
        self._connecting: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        """Whether the producer has reached Kafka (it reconnects by itself after that)."""
        return self._producer is not None

    async def start(self) -> None:
        """Connect now if Kafka answers, else in the background with a logged backoff."""
        first_attempt = asyncio.Event()
        self._connecting = asyncio.create_task(
            self._connect(first_attempt), name=f"{self._client_id}-connect"
        )
        # Wait out the first attempt only: the API must serve (and say 503) while Kafka is away.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(first_attempt.wait(), _FIRST_ATTEMPT_S)

    async def stop(self) -> None:
        """Stop connecting; flush and close the producer (bounded: Kafka may be away)."""
        if self._connecting is not None:
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connecting
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()  # bounded: Kafka may be away

    async def publish(self, topic: str, key: bytes, value: bytes, headers: dict[str, str]) -> None:
        """Return once Kafka has acknowledged the record; raise KafkaUnavailable if it cannot."""
        producer = self._producer
        if producer is None:
            raise KafkaUnavailable(f"not connected to Kafka at {self._bootstrap} yet")
        if not await self._leaders_answer(producer, topic):
            raise KafkaUnavailable(f"Kafka at {self._bootstrap} does not answer")
        try:
            async with asyncio.timeout(ACK_TIMEOUT_S):
                delivery = await producer.queue(topic, key, value, headers)
                # Shielded: the record stays queued after a timeout, and its future must not be
                # cancelled under the producer, which completes it when Kafka answers.
                await asyncio.shield(delivery)
        except TimeoutError:
            raise KafkaUnavailable(
                f"Kafka at {self._bootstrap} did not acknowledge within {ACK_TIMEOUT_S:g}s; "
                "the record may still arrive once it is back"
            ) from None

    async def _leaders_answer(self, producer: KafkaProducer, topic: str) -> bool:
        """Whether a connection to every broker leading a partition of `topic` is up (or opens)."""
        cluster = producer.client.cluster
        leaders = {
            cluster.leader_for_partition(TopicPartition(topic, partition))
            for partition in cluster.partitions_for_topic(topic) or ()
        }
        nodes = {node for node in leaders if node is not None and node >= 0}
        if not nodes:  # the topic's metadata is not known yet: any broker will do to fetch it
            nodes = {broker.nodeId for broker in cluster.brokers()}
        try:
            async with asyncio.timeout(_REACH_TIMEOUT_S):
                answers = [await producer.client.ready(node) for node in nodes]
        except TimeoutError:
            return False
        return bool(answers) and all(answers)

    async def _connect(self, first_attempt: asyncio.Event) -> None:
        pause, attempt, since = _FIRST_PAUSE_S, 0, time.monotonic()
        while True:
            attempt += 1
            producer = KafkaProducer(
                self._bootstrap, client_id=self._client_id, security=self._security
            )
            try:
                await producer.start()
            except Exception as error:  # aiokafka raises its own classes besides OSError
                log.warning(
                    "api.kafka_waiting",
                    client_id=self._client_id,
                    kafka=f"{type(error).__name__}: {error}".splitlines()[0],
                    attempt=attempt,
                    retry_in_s=pause,
                )
                first_attempt.set()
                await asyncio.sleep(pause)
                pause = min(pause * 2, _LONGEST_PAUSE_S)
                continue
            self._producer = producer
            first_attempt.set()
            if attempt > 1:
                waited_s = round(time.monotonic() - since, 1)
                log.info("api.kafka_connected", client_id=self._client_id, waited_s=waited_s)
            return
