"""One fault policy for both mapping workers: wait out transient faults, dead-letter poison.

FastStream's nack re-reads a record at once, without backoff, and has no dead-letter topic, so
every record goes through `FaultPolicy.run`, under the one classification of failures of
`sync_service.failures`: transient faults (Kafka, PostgreSQL unavailable) are retried with
exponential backoff and, when they persist, raised so that the subscriber nacks and Kafka
redelivers the same record (order per key kept: nothing after it is committed). Deterministic
faults (bad JSON, unknown type, a required field missing, an unknown product, a value the
database refuses, a nesting too deep) and unexpected ones that repeat `poison_attempts` times
are stored in `dead_letters` and published to dualsync.deadletter.v1, and the worker goes on.
Once a key has an open dead letter, its later records are parked (`parked_records`) until ops
redrive or discard it (sync_service.mappings.redrive).
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final
from uuid import UUID, uuid4

from pydantic import ValidationError
from sqlalchemy import and_, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.deadletter import DeadLetter
from contracts.envelope import Envelope, envelope, load_json_object, to_json_bytes
from contracts.errors import ContractError, FieldError
from contracts.topics import DEADLETTER
from contracts.values import Origin
from sync_service.failures import RecordRefused, describe, is_transient
from sync_service.logs import get_logger
from sync_service.mappings.alerts import DeadLetterAlert
from sync_service.mappings.dead_letter_maps import map_of_dead_letter
from sync_service.mappings.dead_letter_rows import store_dead_letter
from sync_service.mappings.publishing import Publish
from sync_service.mappings.tables import dead_letters, parked_records
from sync_service.metrics import DEAD_LETTERS
from sync_service.poison import (
    Poisoned,
    RetryPolicy,
    count_settled,
    retry_classified,
    storable_errors,
    storable_text,
)
from sync_service.settings import Settings

# `is_transient` is sync_service.failures' (one classification for every consumer), named here
# too for the callers that import it with the fault policy.
__all__ = [
    "FaultPolicy",
    "Handled",
    "SourceRecord",
    "UnknownReference",
    "UntrustedChange",
    "envelope_field",
    "is_transient",
]

# A dead letter on Kafka must fit the broker's record limit (1 MB by default) with its envelope.
_TOPIC_VALUE_LIMIT: Final = 512 * 1024

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """A Kafka record as a worker received it: where from, its key and its raw value."""

    topic: str
    partition: int
    offset: int
    key: str
    value: bytes


class Handled(enum.Enum):
    """What became of one record."""

    APPLIED = "applied"
    SKIPPED = "skipped"
    DEAD_LETTERED = "dead_lettered"
    PARKED = "parked"


class UnknownReference(RecordRefused):
    """A record names something the target side does not know (a product, a customer)."""

    def __init__(self, handler: str, errors: list[FieldError]) -> None:
        self.handler = handler
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))


class UntrustedChange(RecordRefused):
    """A record changes what its side may not change (docs/mappings.md, "What the ERP side may
    change"), e.g. it moves a contact holding web roles to another customer."""

    def __init__(self, handler: str, errors: list[FieldError]) -> None:
        self.handler = handler
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))


PERMANENT: Final = (ContractError, RecordRefused, RecursionError)
"""Our own refusals of a record (bad JSON, unknown type, MappingFailed, UnknownReference,
UntrustedChange): no retry cures them. `sync_service.failures.classify` knows the database's
refusals too."""


class FaultPolicy:
    """Runs a worker's handler on one record under the retry / dead-letter / parking rules."""

    def __init__(
        self,
        engine: AsyncEngine,
        publish: Publish,
        settings: Settings,
        *,
        consumer: str,
        origin: Origin,
        attempts: int = 5,
        max_backoff_s: float = 2.0,
    ) -> None:
        self._engine = engine
        self._publish = publish
        self._settings = settings
        self.consumer = consumer
        self._origin = origin
        self._retry = RetryPolicy(
            transient_attempts=attempts,
            poison_attempts=settings.poison_attempts,
            max_backoff_s=max_backoff_s,
        )
        self._alert = DeadLetterAlert(engine, settings)

    async def run(
        self, record: SourceRecord, work: Callable[[SourceRecord], Awaitable[Handled]]
    ) -> Handled:
        """Handle `record` with `work`; raise only a transient fault that outlasted the retries."""
        held = await self._park_if_blocked(record)
        if held is Handled.PARKED:
            log.info("mapping.parked", consumer=self.consumer, key=record.key)
        if held is not None:
            return held
        return await self.attempt(record, work)

    async def attempt(
        self, record: SourceRecord, work: Callable[[SourceRecord], Awaitable[Handled]]
    ) -> Handled:
        """`run` without the parking check (a redrive releases records itself)."""
        try:
            return await retry_classified(
                lambda: work(record), self._retry, event="mapping.fault",
                consumer=self.consumer, key=record.key, offset=record.offset,
            )  # fmt: skip
        except Poisoned as poison:
            return await self._settle(record, poison)

    async def _settle(self, record: SourceRecord, poison: Poisoned) -> Handled:
        """Dead-letter a poison record; if even that cannot be stored, log it and go on."""
        try:
            await retry_classified(
                lambda: self.dead_letter(
                    record, poison.error, poison.attempts, poison.first_failed_at
                ),
                self._retry,
                event="mapping.dead_letter_fault",
                consumer=self.consumer,
            )
        except Poisoned as unstorable:
            # Nothing can hold it: the log line is all that is left (partition goes on).
            log.error(
                "mapping.poison_unrecorded", consumer=self.consumer, key=record.key,
                topic=record.topic, partition=record.partition, offset=record.offset,
                error=describe(poison.error), dead_letter_error=describe(unstorable.error),
            )  # fmt: skip
            count_settled(self.consumer, "logged", poison.fault)
            return Handled.SKIPPED
        count_settled(self.consumer, "dead_lettered", poison.fault)
        return Handled.DEAD_LETTERED

    async def _park_if_blocked(self, record: SourceRecord) -> Handled | None:
        """PARKED behind an open dead letter of its key; SKIPPED when it is itself a dead letter.

        Kafka redelivers a record whose offset was not committed yet (a rebalance, a restart)
        although it was dead-lettered: that copy is already in ops' hands (open, redriven or
        discarded), and parking it behind itself would hold it twice.
        """
        is_self = and_(
            dead_letters.c.source_topic == record.topic,
            dead_letters.c.partition == record.partition,
            dead_letters.c.offset == record.offset,
        )
        async with self._engine.begin() as connection:
            # FOR SHARE: a redrive that is about to close this dead letter waits for the park.
            blocking = (
                (
                    await connection.execute(
                        select(is_self.label("is_self"))
                        .where(
                            dead_letters.c.consumer == self.consumer,
                            or_(
                                and_(
                                    dead_letters.c.record_key == record.key,
                                    dead_letters.c.status == "open",
                                ),
                                is_self,
                            ),
                        )
                        .with_for_update(read=True)
                    )
                )
                .scalars()
                .all()
            )
            if any(blocking):
                return Handled.SKIPPED
            if not blocking:
                return None
            await connection.execute(
                insert(parked_records)
                .values(
                    consumer=self.consumer,
                    record_key=record.key,
                    source_topic=record.topic,
                    partition=record.partition,
                    offset=record.offset,
                    value=storable_text(record.value.decode("utf-8", "replace")),
                )
                .on_conflict_do_nothing()
            )
            return Handled.PARKED

    async def dead_letter(
        self,
        record: SourceRecord,
        error: Exception,
        attempts: int,
        first_failed_at: datetime | None,
    ) -> UUID:
        """Store and publish a dead letter for `record`; the same record keeps one id."""
        now = datetime.now(UTC)
        handler = getattr(error, "map_name", None) or getattr(error, "handler", None)
        decoding = isinstance(error, ContractError | RecursionError)
        letter = DeadLetter(
            source_topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            original_key=record.key,
            original_value=storable_text(record.value.decode("utf-8", "replace")),
            handler=handler or ("decode" if decoding else self.consumer),
            error_class=type(error).__name__,
            error_message=describe(error),
            errors=storable_errors(getattr(error, "errors", None)),
            attempts=max(attempts, 1),
            first_failed_at=first_failed_at or now,
            last_failed_at=now,
        )
        map_name = map_of_dead_letter(self.consumer, letter.handler, letter.original_value)
        env = self._letter_envelope(letter, record)
        async with self._engine.begin() as connection:
            letter_id = await store_dead_letter(
                connection, letter, uuid4(), consumer=self.consumer, company=env.company,
                map_name=map_name,
            )  # fmt: skip
        await self._publish_letter(record, env.model_copy(update={"message_id": letter_id}))
        DEAD_LETTERS.labels(map_name or letter.handler, letter.error_class).inc()
        log.warning(
            "mapping.dead_lettered",
            consumer=self.consumer,
            key=record.key,
            handler=letter.handler,
            error=letter.error_message,
        )
        await self._alert.check(map_name)  # one COUNT, on this path only
        return letter_id

    def _letter_envelope(self, letter: DeadLetter, record: SourceRecord) -> Envelope[DeadLetter]:
        """The dead letter's envelope, in the record's company when that is a valid one."""
        origin = self._origin_of(record)
        try:
            return envelope(letter, origin=origin, company=self._company_of(record))
        except ValidationError:  # the poison may be the company itself
            return envelope(letter, origin=origin, company=self._settings.default_company)

    async def _publish_letter(self, record: SourceRecord, env: Envelope[DeadLetter]) -> None:
        """Publish the dead letter; one too large for Kafka goes with its value cut short.

        The stored row keeps the record whole (a redrive reads it there); the topic's copy
        says how long the value was.
        """
        letter = env.payload
        topic, key = self._settings.topic(DEADLETTER), record.key.encode()
        if len(letter.original_value) > _TOPIC_VALUE_LIMIT:
            cut = letter.original_value[: _TOPIC_VALUE_LIMIT // 4]
            note = f"… [cut: {len(letter.original_value)} characters, whole in dead_letters]"
            env = env.model_copy(
                update={"payload": letter.model_copy(update={"original_value": cut + note})}
            )
        await self._publish(topic, key, to_json_bytes(env), _headers(letter, env.message_id))

    def _origin_of(self, record: SourceRecord) -> Origin:
        origin = envelope_field(record, "origin")
        return "scm" if origin == "scm" else "portal" if origin == "portal" else self._origin

    def _company_of(self, record: SourceRecord) -> str:
        company = envelope_field(record, "company")
        return storable_text(company.lower()) if company else self._settings.default_company


def envelope_field(record: SourceRecord, name: str) -> str | None:
    """A string field of the record's envelope (e.g. `type`), None if it cannot be read."""
    try:
        value = load_json_object(record.value).get(name)
    except (ContractError, RecursionError):  # not JSON, or nested beyond the parser's stack
        return None
    return value if isinstance(value, str) and value else None


def _headers(letter: DeadLetter, letter_id: UUID) -> dict[str, str]:
    # In the spirit of Kafka Connect's `__connect.errors.*` headers, under our own prefix.
    return {
        "content-type": "application/json",
        "message_id": str(letter_id),
        "type": DeadLetter.message_type,
        "dualsync.error.topic": letter.source_topic,
        "dualsync.error.partition": str(letter.partition),
        "dualsync.error.offset": str(letter.offset),
        "dualsync.error.handler": letter.handler,
        "dualsync.error.class": letter.error_class,
        "dualsync.error.message": letter.error_message[:1000],
        "dualsync.error.attempts": str(letter.attempts),
    }
