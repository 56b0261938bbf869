"""The command processor: portal.commands.v1 -> decisions -> events in the store, exactly once.

Commands come in batches (what Kafka has ready, up to `MAX_BATCH`; no waiting to fill one). A
batch is one PostgreSQL transaction (a unit of work of the event store): the write-model changes
of the new events, every command's outcome, the processed-message records and one append of all
the batch's events under the store lock, in the commands' order. Kafka's offsets are committed
only after that transaction has committed (FastStream AckPolicy.NACK_ON_ERROR: ack after the
handler returns, seek back when it raises), so a crash in between redelivers the batch, and the
processed-message records (keyed by command id) make the redelivery change nothing.
If anything in a batch fails (a version conflict with another processor, a database fault, a
command the database refuses), the batch is rolled back and split in halves, each tried as a
batch again, down to a few commands that are handled one by one, each in its own transaction:
one bad command costs a few rounds, never the others. One by one, failures are classified
(sync_service.failures): a version conflict reloads and decides again, a bounded number of
times; transient faults (PostgreSQL away) are retried with backoff and, if they last, raised so
that the batch comes back (it blocks: nothing is lost by waiting); a command that can never be
applied (a value the database refuses, a constraint it breaks, an unexpected failure repeated
`poison_attempts` times) is poison: it gets a `rejected` outcome naming the reason and the
fields at fault, without its own values, and the partition moves on. A malformed or unknown
command is logged, given a `rejected` outcome when its command id can be read, and acknowledged.

Before any of that, each record's signature is verified (sync_service.command_signing): a
record the portal API did not sign (unsigned, an unknown key, a signature that does not match)
is never decided. It gets a `rejected` outcome naming why, when its command id can be read (else
it is only logged, like a malformed one), is counted, and the partition moves on. What expires
is judged by the processor's clock when it decides, never by the command's own `occurred_at`.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from uuid import UUID

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.commands import PortalCommand
from contracts.envelope import Envelope, Message, envelope, load_json_object
from contracts.errors import ROOT_FIELD, ContractError, FieldError, InvalidMessage
from contracts.events import CommandRejected
from contracts.registry import decode
from contracts.topics import PORTAL_COMMANDS
from sync_service.brokers import existing_topic
from sync_service.command_handlers import HANDLERS, Decision, aggregate_stream, decide
from sync_service.command_signing import KEY_ID_HEADER, CommandVerifier, Unverified
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
from sync_service.failures import Fault, classify, describe, is_transient, printable
from sync_service.logs import bind_correlation_id, get_logger
from sync_service.metrics import COMMANDS_REFUSED, COMMANDS_UNVERIFIED, count_events_stored
from sync_service.poison import (
    Poisoned,
    RetryPolicy,
    count_settled,
    retry_classified,
    storable_errors,
    storable_text,
    unstorable_fields,
)
from sync_service.raw_records import raw_body, tolerant_parser
from sync_service.settings import Settings, get_settings
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
    "Clock",
    "CommandProcessor",
    "CommandRecord",
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
SPLIT_FROM: Final = 16
"""A failed batch at least this long is split in halves; a shorter one goes one by one."""

log = get_logger(__name__)

Clock = Callable[[], datetime]
"""What time it is now, with its UTC offset (injectable: tests move it)."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class CommandRecord:
    """One record of portal.commands.v1 as Kafka gave it: what its signature covers, and it."""

    value: bytes
    key: bytes | None = None
    headers: Sequence[tuple[str, bytes]] = ()


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
    UNVERIFIED = "unverified"
    """Not signed by the portal API: rejected unread."""


class CommandProcessor:
    """Applies portal commands to the event store and the write model, each at most once."""

    def __init__(
        self,
        store: PostgresEventStore,
        *,
        verifier: CommandVerifier,
        clock: Clock = _utc_now,
        max_conflict_retries: int = 10,
        transient_attempts: int = 6,
        max_backoff_s: float = 5.0,
        poison_attempts: int | None = None,
    ) -> None:
        self._store = store
        self._verifier = verifier
        self._clock = clock
        self._max_conflict_retries = max_conflict_retries
        # None: DUALSYNC_POISON_ATTEMPTS of the process's settings.
        self._retry = RetryPolicy(
            transient_attempts=transient_attempts,
            poison_attempts=poison_attempts or get_settings().poison_attempts,
            max_backoff_s=max_backoff_s,
        )
        self.conflicts_retried = 0
        """How many times a decision was retaken after a version conflict (for tests, metrics)."""
        self.batches_redone = 0
        """How many batches were rolled back and split or handled one at a time (tests, metrics)."""

    async def handle_records(self, records: Sequence[CommandRecord]) -> list[Handled]:
        """Handle records as Kafka gave them, in order: each is verified before it is decided.

        The verified ones go on in batches (`handle_batch`); an unverified one is rejected
        between them, so that order is kept. Raises only when records should be redelivered.
        """
        handled: list[Handled] = []
        verified: list[bytes] = []
        for record in records:
            refusal = self._verifier.refusal(record.key, record.value, record.headers)
            if refusal is None:
                verified.append(record.value)
                continue
            if verified:
                handled += await self.handle_batch(verified)
                verified = []
            handled.append(await self._reject_unverified(record, refusal))
        if verified:
            handled += await self.handle_batch(verified)
        return handled

    async def handle(self, raw: bytes) -> Handled:
        """Handle the value of one record of portal.commands.v1 whose signature was verified
        (`handle_records`); raise only when it should be redelivered."""
        parsed = _parse(raw)
        if isinstance(parsed, _Malformed):
            await self._record_malformed(raw, parsed.error)
            return Handled.MALFORMED
        env = parsed.env
        with bind_correlation_id(env.correlation_id):
            try:
                handled: Handled = await retry_classified(
                    lambda: self._apply(env), self._retry, event="command.fault",
                    command_type=env.type,
                )  # fmt: skip
            except Poisoned as poison:
                return await self._reject_poison(env, raw, poison)
            log.info("command.handled", command_type=env.type, outcome=handled.value)
            if handled is Handled.REJECTED:  # a domain rule refused it, after the API took it
                COMMANDS_REFUSED.labels(env.type, "rejected").inc()
            return handled

    async def _apply(self, env: Envelope[Message]) -> Handled:
        for _ in range(self._max_conflict_retries + 1):
            try:
                return await self._apply_once(env)
            except AlreadyProcessed:
                return Handled.DUPLICATE
            except (ConcurrencyConflict, IntegrityError) as conflict:
                if classify(conflict) is Fault.DETERMINISTIC:
                    raise  # a constraint the command breaks, not a race: poison
                # Another command on this aggregate committed first: decide again on its result.
                self.conflicts_retried += 1
                log.info("command.conflict_retried", reason=describe(conflict))
        raise RuntimeError(f"gave up after {self._max_conflict_retries} version conflicts")

    async def handle_batch(self, raws: Sequence[bytes]) -> list[Handled]:
        """Handle verified records' values in order, in one transaction if they allow it.

        On a failure the batch is rolled back, then split in halves tried in order, down to
        `SPLIT_FROM` records handled one at a time (`handle`), which raises only when a record
        should be redelivered. A transient fault goes one by one at once: it waits there.
        """
        if len(raws) == 1:
            return [await self.handle(raws[0])]
        try:
            return await self._apply_batch(raws)
        except Exception as error:  # every failure falls back: nothing is lost
            self.batches_redone += 1
            log.info("command.batch_fell_back", size=len(raws), reason=describe(error))
            if len(raws) < SPLIT_FROM or is_transient(error):
                return [await self.handle(raw) for raw in raws]
        # Halves, in order: a poison command costs about log2(batch) rounds, not one per command.
        middle = len(raws) // 2
        return [*await self.handle_batch(raws[:middle]), *await self.handle_batch(raws[middle:])]

    async def _reject_poison(self, env: Envelope[Message], raw: bytes, poison: Poisoned) -> Handled:
        """Settle a command that can never be applied: a `rejected` outcome, and move on.

        The outcome names the reason and the fields at fault, never their values; with a
        CommandRejected event on its stream when the store takes one, else the outcome alone.
        """
        errors = _poison_errors(raw, poison)
        decision = Decision(aggregate_stream(env.payload), env.company, errors=errors)
        settle = [
            lambda: self._record_rejection(env, decision),
            lambda: self._record_outcome_only(env, decision),
        ]
        unstorable: Poisoned | None = None
        for attempt in settle:
            try:
                await retry_classified(attempt, self._retry, event="command.settle_fault")
            except Poisoned as refused:
                unstorable = refused
                continue
            count_settled(CONSUMER_GROUP, "rejected", poison.fault)
            COMMANDS_REFUSED.labels(env.type, "poison").inc()
            log.warning(
                "command.poison_rejected", command_type=env.type, fault=poison.fault.value,
                attempts=poison.attempts, error=describe(poison.error),
                fields=[error.field for error in errors],
            )  # fmt: skip
            return Handled.REJECTED
        # Not even the outcome could be stored: the log is all there is; the partition goes on.
        log.error(
            "command.poison_unrecorded", command_type=env.type, error=describe(poison.error),
            outcome_error=describe(unstorable.error) if unstorable else None,
        )  # fmt: skip
        count_settled(CONSUMER_GROUP, "logged", poison.fault)
        return Handled.REJECTED

    async def _record_rejection(self, env: Envelope[Message], decision: Decision) -> None:
        """The rejection as a domain refusal is stored: CommandRejected, outcome, processed."""
        command_id: UUID = getattr(env.payload, "command_id")  # noqa: B009
        try:
            async with self._store.transaction() as unit:
                if await queries.command_outcome(unit.connection, command_id) is not None:
                    return  # settled before (a redelivery)
                expected = await unit.stream_version(decision.stream_id)
                new_events = _decided_events(env, decision)
                for offset, event in enumerate(new_events, start=1):
                    await apply_event(unit.connection, decision.stream_id, expected + offset, event)
                await record_outcome(unit.connection, **_outcome(env, decision))
                await unit.append(
                    decision.stream_id,
                    stream_type(decision.stream_id),
                    expected,
                    new_events,
                    processed=ProcessedMessage(CONSUMER_GROUP, str(command_id)),
                )
        except AlreadyProcessed:
            return

    async def _record_outcome_only(self, env: Envelope[Message], decision: Decision) -> None:
        async with self._store.transaction() as unit:
            await record_outcome(unit.connection, **_outcome(env, decision))

    async def _apply_once(self, env: Envelope[Message]) -> Handled:
        command_id: UUID = getattr(env.payload, "command_id")  # noqa: B009 - every command has one
        async with self._store.transaction() as unit:
            connection = unit.connection
            if await queries.command_outcome(connection, command_id) is not None:
                return Handled.DUPLICATE
            state = CommandState(connection)
            decision = await decide(state, env, self._clock())
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
            now = self._clock()
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
                    decision = await decide(state, item.env, now)
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

    async def _reject_unverified(self, record: CommandRecord, refusal: Unverified) -> Handled:
        """Settle a record the API did not sign: a `rejected` outcome naming why, nothing else.

        Nothing of it is believed or stored but its command id and type (so that `GET
        /commands/{id}` can say why); the log names the reason, never the record's values.
        """
        COMMANDS_UNVERIFIED.labels(refusal.value).inc()
        command_id, message_type = _named_command(record.value)
        key_ids = [value for name, value in record.headers if name == KEY_ID_HEADER]
        log.warning(
            "command.unverified", reason=refusal.value, message_type=message_type,
            command_id=str(command_id) if command_id else None,
            key_id=printable(key_ids[0].decode("utf-8", "replace"), limit=64) if key_ids else None,
        )  # fmt: skip
        if command_id is None:
            return Handled.MALFORMED  # too broken to name a command: the log is all there is
        row = outcome_row(
            command_id=command_id,
            command_type=storable_text(message_type or "unknown"),
            status="rejected",
            errors=[FieldError(field="signature", message=refusal.message)],
        )
        # Not for an id the API issued: a copy of a genuine command, put on another partition
        # ahead of it, would otherwise settle it as rejected and the genuine one as a duplicate.
        await self._store_outcome_rows([row], unless_issued=command_id)
        return Handled.UNVERIFIED

    async def _record_malformed(self, raw: bytes, error: ContractError) -> None:
        row = _malformed_outcome(raw, error)
        if row is not None:
            await self._store_outcome_rows([row])

    async def _store_outcome_rows(
        self, rows: list[dict[str, Any]], *, unless_issued: UUID | None = None
    ) -> None:
        """Record outcomes of their own (a second one of a command is ignored), under the
        fault policy; logged when they cannot be stored. None if the API issued
        `unless_issued`."""

        async def store() -> None:
            async with self._store.transaction() as unit:
                if unless_issued and await queries.command_issued(unit.connection, unless_issued):
                    log.warning("command.unverified_copy", command_id=str(unless_issued))
                    return
                await record_outcomes(unit.connection, rows)

        try:
            await retry_classified(store, self._retry, event="command.settle_fault")
        except Poisoned as unstorable:
            log.error("command.poison_unrecorded", error=describe(unstorable.error))
            count_settled(CONSUMER_GROUP, "logged", unstorable.fault)


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
            message = f"{printable(env.type, limit=100)} is not a portal command"
            raise InvalidMessage([FieldError(field="type", message=message)])
    except ContractError as error:
        return _Malformed(raw, error)
    except RecursionError:
        return _Malformed(raw, InvalidMessage([FieldError(field=ROOT_FIELD, message=_TOO_DEEP)]))
    return _Command(env)


_TOO_DEEP: Final = "nested too deeply to be read"


def _poison_errors(raw: bytes, poison: Poisoned) -> list[FieldError]:
    """The rejection's errors: each field whose value cannot be stored, else the whole command,
    all with the reason; never the values themselves."""
    reason = f"cannot be applied: {describe(poison.error)}"
    try:
        payload = load_json_object(raw).get("payload")
    except (ContractError, RecursionError):
        payload = None
    fields = unstorable_fields(payload) if isinstance(payload, dict) else []
    return [FieldError(field=field, message=reason) for field in fields or [ROOT_FIELD]]


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
    """Log a malformed command; its `rejected` outcome row when its command id can be read.

    Every text of the row is made storable: the reason a command is malformed may be a value
    PostgreSQL cannot hold (a NUL in its type, say).
    """
    errors = getattr(error, "errors", None) or [FieldError(field="type", message=str(error))]
    command_id, shown_type = _named_command(raw)
    log.warning(
        "command.malformed",
        error=printable(str(error), limit=500),
        command_id=str(command_id) if command_id else None,
        message_type=shown_type,
    )
    if command_id is None:
        return None
    return outcome_row(
        command_id=command_id,
        command_type=storable_text(shown_type or "unknown"),
        status="rejected",
        errors=storable_errors(errors),
    )


def _named_command(raw: bytes) -> tuple[UUID | None, str | None]:
    """The command id and (printable) type a record's value names, as far as they can be read."""
    data: dict[str, Any] = {}
    try:
        data = load_json_object(raw)
        payload = data.get("payload")
        command_id = UUID(str(payload.get("command_id"))) if isinstance(payload, dict) else None
    except (ContractError, ValueError, RecursionError):
        command_id = None
    message_type = data.get("type")
    shown_type = printable(message_type, limit=100) if isinstance(message_type, str) else None
    return command_id, shown_type


def subscribe_command_processor(
    broker: KafkaBroker, settings: Settings, processor: CommandProcessor
) -> None:
    """Subscribe `processor` to the commands topic; offsets are committed after each batch."""

    @broker.subscriber(
        existing_topic(settings.topic(PORTAL_COMMANDS)),
        group_id=settings.group(CONSUMER_GROUP),
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        decoder=raw_body,  # the handler reads the bytes, under its fault policy
        parser=tolerant_parser,
        batch=True,
        max_records=MAX_BATCH,
        # getmany returns at once when records are ready; this only bounds an idle poll.
        batch_timeout_ms=BATCH_WAIT_MS,
    )
    async def on_commands(message: KafkaMessage) -> None:
        records: Any = message.raw_message
        try:
            await processor.handle_records([_command_record(record) for record in records])
        except Exception:
            log.exception("command.failed_will_redeliver")
            # Seek back without spinning: the transient retries already waited their backoff.
            await asyncio.sleep(1.0)
            raise


def _command_record(record: Any) -> CommandRecord:
    """An aiokafka ConsumerRecord as the processor reads it."""
    # Header values as they came (the tolerant parser may have replaced non-UTF-8 ones: then
    # the signature does not match, which is the right answer for such a record).
    headers = [(name, bytes(value or b"")) for name, value in record.headers or ()]
    return CommandRecord(value=bytes(record.value or b""), key=record.key, headers=headers)


async def run_command_processor(settings: Settings) -> None:
    """Run the command processor until cancelled (`dualsync run command-processor`)."""
    from sync_service.brokers import service_broker
    from sync_service.db.engine import create_engine
    from sync_service.topics import require_topics

    verifier = settings.command_verifier()  # first: no key, no start
    await require_topics(settings, "command-processor", [PORTAL_COMMANDS])
    engine = create_engine(settings.database_url, connect_timeout_s=settings.connect_timeout_s)
    broker = service_broker(settings, "command-processor")
    processor = CommandProcessor(PostgresEventStore(engine), verifier=verifier)
    subscribe_command_processor(broker, settings, processor)
    try:
        await broker.start()
        log.info("command_processor.started", topic=settings.topic(PORTAL_COMMANDS))
        await asyncio.Event().wait()  # until cancelled
    finally:
        await broker.stop()
        await engine.dispose()
