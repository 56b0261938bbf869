"""One fault policy for both mapping workers: retry transient faults, dead-letter permanent ones.

FastStream's nack re-reads a record at once, without backoff, and has no dead-letter topic, so
every record goes through `FaultPolicy.run`: transient faults (Kafka, PostgreSQL unavailable)
are retried with exponential backoff (tenacity) and, when they persist, raised so that the
subscriber nacks and Kafka redelivers the same record (order per key kept: nothing after it is
committed). Permanent faults (bad JSON, unknown type, a required field missing, an unknown
product) are stored in `dead_letters` and published to dualsync.deadletter.v1, and the worker
goes on. Once a key has an open dead letter, its later records are parked (`parked_records`)
until ops redrive or discard it (sync_service.mappings.redrive).
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from uuid import UUID, uuid4

from sqlalchemy import and_, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from contracts.deadletter import DeadLetter
from contracts.envelope import envelope, load_json_object, to_json_bytes
from contracts.errors import ContractError, FieldError
from contracts.topics import DEADLETTER
from contracts.values import Origin
from sync_service.logs import get_logger
from sync_service.mappings.alerts import DeadLetterAlert
from sync_service.mappings.dead_letter_maps import map_of_dead_letter
from sync_service.mappings.engine import MappingFailed
from sync_service.mappings.publishing import Publish
from sync_service.mappings.tables import dead_letters, parked_records
from sync_service.metrics import DEAD_LETTERS
from sync_service.settings import Settings

__all__ = [
    "FaultPolicy",
    "Handled",
    "SourceRecord",
    "UnknownReference",
    "envelope_field",
    "is_transient",
]

_TRANSIENT_SQLSTATES: Final = frozenset({"40001", "40P01", "57P01", "57P03", "08000", "08006"})

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


class UnknownReference(Exception):
    """A record names something the target side does not know (a product, a customer)."""

    def __init__(self, handler: str, errors: list[FieldError]) -> None:
        self.handler = handler
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))


PERMANENT: Final = (ContractError, MappingFailed, UnknownReference)
"""Faults that no retry can cure: the record goes to the dead letters."""


def is_transient(error: BaseException) -> bool:
    """Whether retrying may cure `error` (connection refused, broker or database restarting)."""
    if isinstance(error, OSError | TimeoutError | ConnectionError):
        return True
    if type(error).__module__.startswith("aiokafka") and getattr(error, "retriable", False):
        return True
    if isinstance(error, DBAPIError) and not isinstance(error, IntegrityError):
        sqlstate = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
        return error.connection_invalidated or sqlstate in _TRANSIENT_SQLSTATES
    return False


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
        self._attempts = attempts
        self._max_backoff_s = max_backoff_s
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
        first_failed_at: datetime | None = None
        attempts = 0
        retrying = AsyncRetrying(
            retry=retry_if_exception(is_transient),
            wait=wait_exponential(multiplier=0.1, max=self._max_backoff_s),
            stop=stop_after_attempt(self._attempts),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    attempts += 1
                    try:
                        return await work(record)
                    except Exception:
                        first_failed_at = first_failed_at or datetime.now(UTC)
                        raise
        except PERMANENT as error:
            await self.dead_letter(record, error, attempts, first_failed_at)
            return Handled.DEAD_LETTERED
        raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover

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
                    value=record.value.decode("utf-8", "replace"),
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
        letter = DeadLetter(
            source_topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            original_key=record.key,
            original_value=record.value.decode("utf-8", "replace"),
            handler=handler or ("decode" if isinstance(error, ContractError) else self.consumer),
            error_class=type(error).__name__,
            error_message=str(error),
            errors=list(getattr(error, "errors", None) or []),
            attempts=max(attempts, 1),
            first_failed_at=first_failed_at or now,
            last_failed_at=now,
        )
        company = self._company_of(record)
        map_name = map_of_dead_letter(self.consumer, letter.handler, letter.original_value)
        letter_id = await self._store(letter, uuid4(), map_name=map_name, company=company)
        env = envelope(letter, origin=self._origin_of(record), company=company)
        env = env.model_copy(update={"message_id": letter_id})
        await self._publish(
            self._settings.topic(DEADLETTER), record.key.encode(), to_json_bytes(env),
            _headers(letter, letter_id),
        )  # fmt: skip
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

    async def _store(
        self, letter: DeadLetter, letter_id: UUID, *, map_name: str | None, company: str
    ) -> UUID:
        values: dict[str, Any] = letter.model_dump(mode="json", exclude={"original_key"})
        values.update(
            dead_letter_id=letter_id,
            consumer=self.consumer,
            record_key=letter.original_key,
            map_name=map_name,
            company=company,
            first_failed_at=letter.first_failed_at,
            last_failed_at=letter.last_failed_at,
        )
        async with self._engine.begin() as connection:
            stored = await connection.scalar(
                insert(dead_letters)
                .values(**values)
                .on_conflict_do_update(
                    constraint="uq_dead_letters_consumer_source_topic_partition_offset",
                    set_={"last_failed_at": letter.last_failed_at},
                )
                .returning(dead_letters.c.dead_letter_id)
            )
        return UUID(str(stored))

    def _origin_of(self, record: SourceRecord) -> Origin:
        origin = envelope_field(record, "origin")
        return "scm" if origin == "scm" else "portal" if origin == "portal" else self._origin

    def _company_of(self, record: SourceRecord) -> str:
        company = envelope_field(record, "company")
        return company.lower() if company else self._settings.default_company


def envelope_field(record: SourceRecord, name: str) -> str | None:
    """A string field of the record's envelope (e.g. `type`), None if it cannot be read."""
    try:
        value = load_json_object(record.value).get(name)
    except ContractError:
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
