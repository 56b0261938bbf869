"""The Kafka producer of dualsync's services: idempotent, acks=all, renewed when its session breaks.

An idempotent producer whose broker lost its sequence state (a broker restart while records
were in flight) answers every later send with OutOfOrderSequenceNumber, for ever (aiokafka
issue #1017): the producer's session is broken, not the record. Seen in `make chaos`: the
outbound worker re-published the part of its batch that got through, again and again, and the
ERP simulator stopped answering. So the send that meets such an error fails as an outage does
(its caller retries; consumers drop a duplicate by its message id), and the next send starts a
new producer session, with a new producer id and fresh sequence numbers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any, Final

from aiokafka import AIOKafkaClient, AIOKafkaProducer
from aiokafka.errors import (
    InvalidProducerEpoch,
    OutOfOrderSequenceNumber,
    ProducerFenced,
    UnknownProducerId,
)
from aiokafka.structs import RecordMetadata

from sync_service.logs import get_logger

__all__ = ["BROKEN_SESSION", "KafkaProducer", "running_producer"]

BROKEN_SESSION: Final = (
    OutOfOrderSequenceNumber,
    UnknownProducerId,
    InvalidProducerEpoch,
    ProducerFenced,
)
"""Errors after which the producer's session with the brokers can take nothing more."""
_STOP_TIMEOUT_S: Final = 5.0
"""A producer stopping while Kafka is away would wait for its records for ever."""

log = get_logger(__name__)


class KafkaProducer:
    """Publishes records to Kafka, starting a new producer session after a broken one."""

    def __init__(
        self,
        bootstrap: str,
        *,
        client_id: str,
        security: Mapping[str, Any] | None = None,
        request_timeout_ms: int | None = None,
    ) -> None:
        self._bootstrap = bootstrap
        self._security = dict(security or {})  # kafka_access.client_options of its role
        self._client_id = client_id
        self._request_timeout_ms = request_timeout_ms
        self._producer: AIOKafkaProducer | None = None
        self._broken: AIOKafkaProducer | None = None
        self._renewing = asyncio.Lock()
        self._retired: set[asyncio.Task[None]] = set()
        self.renewals = 0
        """How many times a broken session was replaced (for tests and logs)."""

    @property
    def client(self) -> AIOKafkaClient:
        """The current session's client (cluster metadata, connections)."""
        if self._producer is None:
            raise RuntimeError("the producer is not started")
        return self._producer.client

    async def start(self) -> None:
        """Connect; raises (a Kafka error) when Kafka cannot be reached."""
        self._producer = await self._new_session()

    async def stop(self) -> None:
        """Flush and close (bounded: records still waiting for an absent Kafka are dropped)."""
        producer, self._producer = self._producer, None
        if producer is not None:
            await _stop(producer, self._client_id)
        if self._retired:
            await asyncio.gather(*self._retired, return_exceptions=True)

    async def queue(
        self, topic: str, key: bytes | None, value: bytes, headers: Mapping[str, str] | None = None
    ) -> asyncio.Future[RecordMetadata]:
        """Queue a record; return its acknowledgement, which fails if Kafka refuses it."""
        producer = await self._session()
        pairs = [(name, text.encode("utf-8")) for name, text in (headers or {}).items()]
        delivery: asyncio.Future[RecordMetadata] = await producer.send(
            topic, value, key=key, headers=pairs
        )
        delivery.add_done_callback(lambda done: self._note(producer, done))
        return delivery

    async def publish(
        self, topic: str, key: bytes | None, value: bytes, headers: Mapping[str, str] | None = None
    ) -> None:
        """Return once Kafka has acknowledged the record."""
        await (await self.queue(topic, key, value, headers))

    def _note(self, producer: AIOKafkaProducer, delivery: asyncio.Future[RecordMetadata]) -> None:
        if delivery.cancelled() or not isinstance(delivery.exception(), BROKEN_SESSION):
            return
        if producer is self._producer:
            self._broken = producer

    async def _session(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise RuntimeError("the producer is not started")
        if self._broken is not self._producer:
            return self._producer
        async with self._renewing:
            if self._broken is self._producer:  # not renewed by another sender meanwhile
                fresh = await self._new_session()
                old, self._producer = self._producer, fresh
                self.renewals += 1
                log.warning("kafka.producer_renewed", client_id=self._client_id)
                retiring = asyncio.create_task(_stop(old, self._client_id))
                self._retired.add(retiring)
                retiring.add_done_callback(self._retired.discard)
        return self._producer

    async def _new_session(self) -> AIOKafkaProducer:
        options = {} if self._request_timeout_ms is None else {
            "request_timeout_ms": self._request_timeout_ms
        }  # fmt: skip
        producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap,
            client_id=self._client_id,
            # Idempotence: a retried send is written once and in order.
            enable_idempotence=True,
            acks="all",
            **options,
            **self._security,
        )
        try:
            await producer.start()
        except BaseException:
            await _stop(producer, self._client_id)
            raise
        return producer


async def _stop(producer: AIOKafkaProducer, client_id: str) -> None:
    try:
        await asyncio.wait_for(producer.stop(), _STOP_TIMEOUT_S)
    except TimeoutError:
        log.warning("kafka.producer_stop_timed_out", client_id=client_id)
    except Exception as error:  # a broken session may fail its last flush: it is dropped anyway
        log.warning("kafka.producer_stop_failed", client_id=client_id, error=repr(error))


@contextlib.asynccontextmanager
async def running_producer(
    bootstrap: str, *, client_id: str, security: Mapping[str, Any] | None = None
) -> AsyncIterator[KafkaProducer]:
    """A started producer for the block; stopped after it."""
    producer = KafkaProducer(bootstrap, client_id=client_id, security=security)
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()
