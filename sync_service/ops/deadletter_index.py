"""The dead-letter index: every record of dualsync.deadletter.v1 kept in `dead_letters`.

Our mapping workers already store each dead letter before they publish it (the stored row is
what holds a key's later records parked), so for them the index is a no-op. It exists for dead
letters that something else published — another deployment of the workers, a tool, a restored
topic — so that ops can list, filter and discard every dead letter on the topic from one place.

Idempotent: a row is inserted under the message id (the dead letter's id) and nothing is done
when that id, or a dead letter of the same consumer and Kafka record, is already there, so a
redelivery, a replay or our own workers' letters never change a row ops may have closed.
Runs in the outbound process (`dualsync run outbound`) as consumer group
`dualsync-deadletter-index`; a record that is not a dead letter is logged and passed over, and
so is one that cannot be indexed (deterministically, or after `poison_attempts` unexpected
failures): logged and counted (`dualsync_poison_records`), never retried for ever. Only an
outage (PostgreSQL away) makes it wait.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.deadletter import DeadLetter
from contracts.envelope import Envelope
from contracts.errors import ContractError
from contracts.registry import decode
from contracts.topics import CDS_EVENTS, DEADLETTER, SCM_INBOUND
from sync_service.brokers import existing_topic
from sync_service.failures import describe
from sync_service.logs import get_logger
from sync_service.mappings.dead_letter_maps import map_of_dead_letter
from sync_service.mappings.dead_letter_rows import dead_letter_row
from sync_service.mappings.inbound import INBOUND_GROUP
from sync_service.mappings.outbound import OUTBOUND_GROUP
from sync_service.mappings.tables import dead_letters
from sync_service.poison import Poisoned, RetryPolicy, count_settled, retry_classified
from sync_service.raw_records import raw_body, tolerant_parser
from sync_service.settings import Settings

__all__ = ["INDEX_GROUP", "DeadLetterIndex", "subscribe_deadletter_index"]

INDEX_GROUP: Final = "dualsync-deadletter-index"

log = get_logger(__name__)


class DeadLetterIndex:
    """Inserts a dead letter read from the topic unless it is indexed already."""

    def __init__(self, engine: AsyncEngine, settings: Settings) -> None:
        self._engine = engine
        # The consumer a dead letter's source topic means (our workers' groups); else "other".
        self._consumers = {
            settings.topic(CDS_EVENTS): OUTBOUND_GROUP,
            settings.topic(SCM_INBOUND): INBOUND_GROUP,
        }
        self._retry = RetryPolicy(poison_attempts=settings.poison_attempts)

    async def index(self, value: bytes) -> bool:
        """Index one record's value; whether a new row was written. Raises only an outage."""
        try:
            return await retry_classified(
                lambda: self._index(value), self._retry, event="deadletter_index.fault"
            )
        except Poisoned as poison:
            log.error(
                "deadletter_index.unindexable", error=describe(poison.error),
                error_class=type(poison.error).__name__, attempts=poison.attempts,
            )  # fmt: skip
            count_settled(INDEX_GROUP, "logged", poison.fault)
            return False

    async def _index(self, value: bytes) -> bool:
        try:
            env: Envelope[Any] = decode(value)
        except (ContractError, RecursionError) as error:
            log.warning("deadletter_index.skipped", error=describe(error))
            return False
        letter = env.payload
        if not isinstance(letter, DeadLetter):
            log.warning("deadletter_index.skipped", type=env.type)
            return False
        consumer = self._consumers.get(letter.source_topic, "other")
        row = dead_letter_row(
            letter,
            env.message_id,
            consumer=consumer,
            company=env.company,
            map_name=map_of_dead_letter(consumer, letter.handler, letter.original_value),
        )
        async with self._engine.begin() as connection:
            inserted = await connection.scalar(
                insert(dead_letters)
                .values(**row)
                .on_conflict_do_nothing()  # any unique key: the id or the Kafka record
                .returning(dead_letters.c.dead_letter_id)
            )
        if inserted is not None:
            log.info("deadletter_index.indexed", dead_letter_id=str(env.message_id))
        return inserted is not None


def subscribe_deadletter_index(
    broker: KafkaBroker, settings: Settings, engine: AsyncEngine
) -> DeadLetterIndex:
    """Consume dualsync.deadletter.v1 into the index on `broker`; offsets after each insert."""
    index = DeadLetterIndex(engine, settings)

    @broker.subscriber(
        existing_topic(settings.topic(DEADLETTER)),
        group_id=settings.group(INDEX_GROUP),
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        decoder=raw_body,  # the handler reads the bytes, under its fault policy
        parser=tolerant_parser,
    )
    async def on_dead_letter(message: KafkaMessage) -> None:
        try:
            await index.index(bytes(message.body))
        except Exception:
            log.exception("deadletter_index.failed_will_redeliver")
            await asyncio.sleep(1.0)  # PostgreSQL away: do not spin on the redelivery
            raise

    return index
