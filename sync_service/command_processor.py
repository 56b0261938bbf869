"""The command processor: portal.commands.v1 -> decisions -> events in the store, exactly once.

Commands come in batches (what Kafka has ready, up to `MAX_BATCH`; no waiting to fill one). A
batch is one PostgreSQL transaction (a unit of work of the event store): the write-model changes
of the new events, every command's outcome, the processed-message records and one append of all
the batch's events under the store lock, in the commands' order. Kafka's offsets are committed
only after that transaction has committed (FastStream AckPolicy.NACK_ON_ERROR: ack after the
handler returns, seek back when it raises), so a crash in between redelivers the batch, and the
processed-message records (keyed by command id) make the redelivery change nothing.
If anything in a batch fails (a version conflict with another processor, a database fault), the
batch is rolled back and its commands are handled one by one, each in its own transaction, so
one bad command never sinks the others: a version conflict reloads and decides again, a bounded
number of times; transient database faults are retried with backoff; a command that still fails
is not acknowledged and comes back. A malformed or unknown command is logged, given a `rejected`
outcome when its command id can be read, and acknowledged, so it never blocks the partition.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final
from uuid import UUID

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from contracts.commands import PortalCommand
from contracts.envelope import Envelope, Message, envelope, load_json_object
from contracts.errors import ContractError, FieldError, InvalidMessage
from contracts.events import CommandRejected
from contracts.registry import decode
from contracts.topics import PORTAL_COMMANDS
from sync_service.command_handlers import HANDLERS, Decision, aggregate_stream, decide
from sync_service.command_state import CommandState
from sync_service.db.schema import command_outcomes
from sync_service.eventstore import (
    AlreadyProcessed,
    ConcurrencyConflict,
    NewEvent,
    ProcessedMessage,
)
from sync_service.eventstore.envelopes import to_new_event
from sync_service.eventstore.postgres import PostgresEventStore
from sync_service.eventstore.postgres_bulk import BulkEvent, append_streams, stream_versions
from sync_service.logs import bind_correlation_id, get_logger
from sync_service.metrics import COMMANDS_REFUSED, count_events_stored
from sync_service.settings import Settings
from sync_service.streams import stream_type
from sync_service.writemodel import queries
from sync_service.writemodel.projector import (
    apply_event,
    outcome_row,
    record_outcome,
    record_outcomes,
)

__all__ = [
    "CONSUMER_GROUP",
    "CommandProcessor",
    "Handled",
    "command_envelope",
    "command_key",
    "run_command_processor",
    "subscribe_command_processor",
]

CONSUMER_GROUP: Final = "dualsync-command-processor"
MAX_BATCH: Final = 500
"""Most commands taken from Kafka, decided and appended in one transaction."""
BATCH_WAIT_MS: Final = 10
"""How long an idle subscriber waits for records per poll (a batch never waits to fill up)."""
_TRANSIENT_SQLSTATES: Final = frozenset({"40001", "40P01", "57P01", "57P03", "08000", "08006"})

log = get_logger(__name__)


def command_envelope(
    command: PortalCommand, *, company: str, correlation_id: UUID | None = None
) -> Envelope[Message]:
    """The envelope the API publishes a command in: its message id is the command id."""
    # So that events' causation id (the command's message id) names the command, and a rebuilt
    # write model finds each accepted command's outcome again.
    return envelope(
        command,
        origin="portal",
        company=company,
        message_id=command.command_id,
        correlation_id=correlation_id,
    )


def command_key(command: PortalCommand) -> bytes:
    """The Kafka key of a command: its aggregate's stream id, so one aggregate keeps order."""
    return aggregate_stream(command).encode("utf-8")


class Handled(enum.Enum):
    """What handling one Kafka record came to."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    MALFORMED = "malformed"


def _is_transient(error: BaseException) -> bool:
    if isinstance(error, OSError | TimeoutError | ConnectionError):
        return True
    if isinstance(error, DBAPIError) and not isinstance(error, IntegrityError):
        sqlstate = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
        return error.connection_invalidated or sqlstate in _TRANSIENT_SQLSTATES
    return False


class CommandProcessor:
    """Applies portal commands to the event store and the write model, each at most once."""

    def __init__(
        self,
        store: PostgresEventStore,
        *,
        max_conflict_retries: int = 10,
        transient_attempts: int = 6,
        max_backoff_s: float = 5.0,
    ) -> None:
        self._store = store
        self._max_conflict_retries = max_conflict_retries
        self._transient_attempts = transient_attempts
        self._max_backoff_s = max_backoff_s
        self.conflicts_retried = 0
        """How many times a decision was retaken after a version conflict (for tests, metrics)."""
        self.batches_redone = 0
        """How many batches were rolled back and handled one command at a time (tests, metrics)."""

    async def handle(self, raw: bytes) -> Handled:
        """Handle one record of portal.commands.v1; raise only when it should be redelivered."""
        try:
            env = decode(raw)
            if env.type not in HANDLERS:
                error = FieldError(field="type", message=f"{env.type} is not a portal command")
                raise InvalidMessage([error])
        except ContractError as error:
            await self._retrying(self._record_malformed, raw, error)
            return Handled.MALFORMED
        with bind_correlation_id(env.correlation_id):
            handled: Handled = await self._retrying(self._apply, env)
            log.info("command.handled", command_type=env.type, outcome=handled.value)
            if handled is Handled.REJECTED:  # a domain rule refused it, after the API took it
                COMMANDS_REFUSED.labels(env.type, "rejected").inc()
            return handled

    async def _retrying(self, work: Any, *args: Any) -> Any:
        retrying = AsyncRetrying(
            retry=retry_if_exception(_is_transient),
            wait=wait_exponential(multiplier=0.1, max=self._max_backoff_s),
            stop=stop_after_attempt(self._transient_attempts),
            reraise=True,
            before_sleep=lambda state: log.warning(
                "command.transient_fault", attempt=state.attempt_number, error=repr(state.outcome)
            ),
        )
        async for attempt in retrying:
            with attempt:
                return await work(*args)
        raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover

    async def _apply(self, env: Envelope[Message]) -> Handled:
        for _ in range(self._max_conflict_retries + 1):
            try:
                return await self._apply_once(env)
            except AlreadyProcessed:
                return Handled.DUPLICATE
            except (ConcurrencyConflict, IntegrityError) as conflict:
                # Another command on this aggregate committed first: decide again on its result.
                self.conflicts_retried += 1
                log.info("command.conflict_retried", reason=str(conflict).splitlines()[0])
        raise RuntimeError(f"gave up after {self._max_conflict_retries} version conflicts")

    async def handle_batch(self, raws: Sequence[bytes]) -> list[Handled]:
        """Handle records of portal.commands.v1 in order, in one transaction if they allow it.

        On any failure the batch is rolled back and handled one record at a time (`handle`),
        which raises only when a record should be redelivered.
        """
        if len(raws) == 1:
            return [await self.handle(raws[0])]
        try:
            return await self._apply_batch(raws)
        except Exception as error:  # every failure falls back: nothing is lost
            self.batches_redone += 1
            log.info("command.batch_fell_back", size=len(raws), reason=repr(error)[:200])
        return [await self.handle(raw) for raw in raws]

    async def _apply_once(self, env: Envelope[Message]) -> Handled:
        command_id: UUID = getattr(env.payload, "command_id")  # noqa: B009 - every command has one
        async with self._store.transaction() as unit:
            connection = unit.connection
            if await queries.command_outcome(connection, command_id) is not None:
                return Handled.DUPLICATE
            state = CommandState(connection)
            decision = await decide(state, env)
            expected = await state.stream_version(decision.stream_id)
            new_events = _decided_events(env, decision)
            for offset, event in enumerate(new_events, start=1):
                await apply_event(connection, decision.stream_id, expected + offset, event)
            await record_outcome(connection, **_outcome(env, decision))
            # Last: the append takes the store-wide lock and holds it only until the commit.
            await unit.append(
                decision.stream_id,
                stream_type(decision.stream_id),
                expected,
                new_events,
                processed=ProcessedMessage(CONSUMER_GROUP, str(command_id)),
            )
        return Handled.ACCEPTED if decision.accepted else Handled.REJECTED

    async def _apply_batch(self, raws: Sequence[bytes]) -> list[Handled]:
        items = [_parse(raw) for raw in raws]
        commands = [item for item in items if isinstance(item, _Command)]
        handled: list[Handled] = []
        outcomes: list[dict[str, Any]] = []
        appended: list[BulkEvent] = []
        processed: list[str] = []
        decided: list[tuple[_Command, Decision]] = []
        async with self._store.transaction() as unit:
            connection = unit.connection
            seen = await _recorded_outcomes(connection, [c.command_id for c in commands])
            streams = sorted({aggregate_stream(c.env.payload) for c in commands})
            state = CommandState(connection, await stream_versions(connection, streams))
            for item in items:
                if isinstance(item, _Malformed):
                    if (row := _malformed_outcome(item.raw, item.error)) is not None:
                        outcomes.append(row)
                        seen.add(row["command_id"])  # as one by one: its outcome is recorded
                    handled.append(Handled.MALFORMED)
                    continue
                if item.command_id in seen:
                    handled.append(Handled.DUPLICATE)
                    continue
                seen.add(item.command_id)
                with bind_correlation_id(item.env.correlation_id):
                    decision = await decide(state, item.env)
                stream = decision.stream_id
                expected = await state.stream_version(stream)
                new_events = _decided_events(item.env, decision)
                for offset, event in enumerate(new_events, start=1):
                    await apply_event(connection, stream, expected + offset, event)
                    appended.append(
                        BulkEvent(stream, stream_type(stream), expected + offset, event)
                    )
                state.decided(stream, new_events)
                outcomes.append(outcome_row(**_outcome(item.env, decision)))
                processed.append(str(item.command_id))
                decided.append((item, decision))
                handled.append(Handled.ACCEPTED if decision.accepted else Handled.REJECTED)
            await record_outcomes(connection, outcomes)
            if appended:
                # Last: the append takes the store-wide lock and holds it only until the commit.
                await append_streams(
                    connection, appended, consumer=CONSUMER_GROUP, message_ids=processed
                )
        count_events_stored([bulk.event for bulk in appended])
        for item, decision in decided:
            with bind_correlation_id(item.env.correlation_id):
                outcome = "accepted" if decision.accepted else "rejected"
                log.info("command.handled", command_type=item.env.type, outcome=outcome)
            if not decision.accepted:  # a domain rule refused it, after the API took it
                COMMANDS_REFUSED.labels(item.env.type, "rejected").inc()
        return handled

    async def _record_malformed(self, raw: bytes, error: ContractError) -> None:
        row = _malformed_outcome(raw, error)
        if row is None:
            return
        async with self._store.transaction() as unit:
            await record_outcomes(unit.connection, [row])


@dataclass(frozen=True, slots=True)
class _Command:
    env: Envelope[Message]

    @property
    def command_id(self) -> UUID:
        command_id: UUID = getattr(self.env.payload, "command_id")  # noqa: B009
        return command_id


@dataclass(frozen=True, slots=True)
class _Malformed:
    raw: bytes
    error: ContractError


def _parse(raw: bytes) -> _Command | _Malformed:
    try:
        env = decode(raw)
        if env.type not in HANDLERS:
            error = FieldError(field="type", message=f"{env.type} is not a portal command")
            raise InvalidMessage([error])
    except ContractError as error:
        return _Malformed(raw, error)
    return _Command(env)


def _decided_events(env: Envelope[Message], decision: Decision) -> list[NewEvent]:
    """The events to append for `decision`: its events, or the command's rejection."""
    command_id: UUID = getattr(env.payload, "command_id")  # noqa: B009 - every command has one
    payloads: list[Message] = decision.events
    if not decision.accepted:
        payloads = [
            CommandRejected(command_id=command_id, command_type=env.type, errors=decision.errors)
        ]
    return [
        to_new_event(
            envelope(
                payload,
                origin="portal",
                company=decision.company,
                correlation_id=env.correlation_id,
                causation_id=env.message_id,
                occurred_at=env.occurred_at,  # when the user acted: submit time etc.
            )
        )
        for payload in payloads
    ]


def _outcome(env: Envelope[Message], decision: Decision) -> dict[str, Any]:
    return {
        "command_id": getattr(env.payload, "command_id"),  # noqa: B009
        "command_type": env.type,
        "status": "accepted" if decision.accepted else "rejected",
        "errors": decision.errors,
        "stream_id": decision.stream_id,
    }


async def _recorded_outcomes(connection: AsyncConnection, command_ids: list[UUID]) -> set[UUID]:
    """Which of these commands have an outcome already (handled before: redeliveries)."""
    if not command_ids:
        return set()
    query = select(command_outcomes.c.command_id).where(
        command_outcomes.c.command_id.in_(command_ids)
    )
    return set((await connection.execute(query)).scalars())


def _malformed_outcome(raw: bytes, error: ContractError) -> dict[str, Any] | None:
    """Log a malformed command; its `rejected` outcome row when its command id can be read."""
    errors = getattr(error, "errors", None) or [FieldError(field="type", message=str(error))]
    data: dict[str, Any] = {}
    try:
        data = load_json_object(raw)
        payload = data.get("payload")
        command_id = UUID(str(payload.get("command_id"))) if isinstance(payload, dict) else None
    except (ContractError, ValueError):
        command_id = None
    log.warning(
        "command.malformed",
        error=str(error),
        command_id=str(command_id) if command_id else None,
        message_type=data.get("type"),
    )
    if command_id is None:
        return None
    return outcome_row(
        command_id=command_id,
        command_type=str(data.get("type") or "unknown"),
        status="rejected",
        errors=errors,
    )


def subscribe_command_processor(
    broker: KafkaBroker, settings: Settings, processor: CommandProcessor
) -> None:
    """Subscribe `processor` to the commands topic; offsets are committed after each batch."""

    @broker.subscriber(
        settings.topic(PORTAL_COMMANDS),
        group_id=settings.group(CONSUMER_GROUP),
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        batch=True,
        max_records=MAX_BATCH,
        # getmany returns at once when records are ready; this only bounds an idle poll.
        batch_timeout_ms=BATCH_WAIT_MS,
    )
    async def on_commands(message: KafkaMessage) -> None:
        records: Any = message.raw_message
        try:
            await processor.handle_batch([bytes(record.value or b"") for record in records])
        except Exception:
            log.exception("command.failed_will_redeliver")
            # Seek back without spinning: the transient retries already waited their backoff.
            await asyncio.sleep(1.0)
            raise


async def run_command_processor(settings: Settings) -> None:
    """Run the command processor until cancelled (`dualsync run command-processor`)."""
    from sync_service.brokers import service_broker
    from sync_service.db.engine import create_engine
    from sync_service.topics import ensure_topics

    await ensure_topics(settings, [PORTAL_COMMANDS])
    engine = create_engine(settings.database_url, connect_timeout_s=settings.connect_timeout_s)
    broker = service_broker(settings)
    subscribe_command_processor(broker, settings, CommandProcessor(PostgresEventStore(engine)))
    try:
        await broker.start()
        log.info("command_processor.started", topic=settings.topic(PORTAL_COMMANDS))
        await asyncio.Event().wait()  # until cancelled
    finally:
        await broker.stop()
        await engine.dispose()
