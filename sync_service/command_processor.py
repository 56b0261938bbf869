"""The command processor: portal.commands.v1 -> decisions -> events in the store, exactly once.

Per command, one PostgreSQL transaction (a unit of work of the event store) holds: the
write-model changes of the new events, the command's outcome, the processed-message record and
the append itself. Kafka's offset is committed only after that transaction has committed
(FastStream AckPolicy.NACK_ON_ERROR: ack after the handler returns, seek back when it raises),
so a crash in between redelivers the command, and the processed-message record (keyed by the
command id) makes the redelivery change nothing. A version conflict (another command on the
same aggregate committed first) reloads and decides again, a bounded number of times.
Transient database faults are retried with backoff; a command that still fails is not
acknowledged and comes back. A malformed or unknown command is logged, given a `rejected`
outcome when its command id can be read, and acknowledged, so it never blocks the partition.
"""

from __future__ import annotations

import asyncio
import enum
from typing import Any, Final
from uuid import UUID

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from sqlalchemy.exc import DBAPIError, IntegrityError
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from contracts.commands import PortalCommand
from contracts.envelope import Envelope, Message, envelope, load_json_object
from contracts.errors import ContractError, FieldError, InvalidMessage
from contracts.events import CommandRejected
from contracts.registry import decode
from contracts.topics import PORTAL_COMMANDS
from sync_service.command_handlers import HANDLERS, aggregate_stream, decide
from sync_service.eventstore import AlreadyProcessed, ConcurrencyConflict, ProcessedMessage
from sync_service.eventstore.envelopes import to_new_event
from sync_service.eventstore.postgres import PostgresEventStore
from sync_service.logs import bind_correlation_id, faststream_logger, get_logger
from sync_service.settings import Settings
from sync_service.streams import stream_type
from sync_service.writemodel import queries
from sync_service.writemodel.projector import apply_event, record_outcome

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

    async def _apply_once(self, env: Envelope[Message]) -> Handled:
        command_id: UUID = getattr(env.payload, "command_id")  # noqa: B009 - every command has one
        async with self._store.transaction() as unit:
            connection = unit.connection
            if await queries.command_outcome(connection, command_id) is not None:
                return Handled.DUPLICATE
            decision = await decide(unit, env)
            expected = await unit.stream_version(decision.stream_id)
            payloads: list[Message] = decision.events
            if not decision.accepted:
                payloads = [
                    CommandRejected(
                        command_id=command_id, command_type=env.type, errors=decision.errors
                    )
                ]
            new_events = [
                to_new_event(
                    envelope(
                        payload,
                        origin="portal",
                        company=decision.company,
                        correlation_id=env.correlation_id,
                        causation_id=env.message_id,
                    )
                )
                for payload in payloads
            ]
            for offset, event in enumerate(new_events, start=1):
                await apply_event(connection, decision.stream_id, expected + offset, event)
            await record_outcome(
                connection,
                command_id=command_id,
                command_type=env.type,
                status="accepted" if decision.accepted else "rejected",
                errors=decision.errors,
                stream_id=decision.stream_id,
            )
            # Last: the append takes the store-wide lock and holds it only until the commit.
            await unit.append(
                decision.stream_id,
                stream_type(decision.stream_id),
                expected,
                new_events,
                processed=ProcessedMessage(CONSUMER_GROUP, str(command_id)),
            )
        return Handled.ACCEPTED if decision.accepted else Handled.REJECTED

    async def _record_malformed(self, raw: bytes, error: ContractError) -> None:
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
            return
        async with self._store.transaction() as unit:
            await record_outcome(
                unit.connection,
                command_id=command_id,
                command_type=str(data.get("type") or "unknown"),
                status="rejected",
                errors=errors,
            )


def subscribe_command_processor(
    broker: KafkaBroker, settings: Settings, processor: CommandProcessor
) -> None:
    """Subscribe `processor` to the commands topic; offsets are committed after each command."""

    @broker.subscriber(
        settings.topic(PORTAL_COMMANDS),
        group_id=CONSUMER_GROUP,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
    )
    async def on_command(message: KafkaMessage) -> None:
        try:
            await processor.handle(message.body)
        except Exception:
            log.exception("command.failed_will_redeliver")
            # Seek back without spinning: the transient retries already waited their backoff.
            await asyncio.sleep(1.0)
            raise


async def run_command_processor(settings: Settings) -> None:
    """Run the command processor until cancelled (`dualsync run command-processor`)."""
    from sync_service.db.engine import create_engine
    from sync_service.topics import ensure_topics

    await ensure_topics(settings, [PORTAL_COMMANDS])
    engine = create_engine(settings.database_url, connect_timeout_s=settings.connect_timeout_s)
    broker = KafkaBroker(settings.kafka_bootstrap, logger=faststream_logger())
    subscribe_command_processor(broker, settings, CommandProcessor(PostgresEventStore(engine)))
    try:
        await broker.start()
        log.info("command_processor.started", topic=settings.topic(PORTAL_COMMANDS))
        await asyncio.Event().wait()  # until cancelled
    finally:
        await broker.stop()
        await engine.dispose()
