"""The inbound worker's rules for a chunk of records at once: one transaction instead of two a row.

For bulk loads (`dualsync initial-sync`). Each record is decided as `InboundWorker.handle`
decides it (same decode, same maps, same `decide`), in order, against what the chunk knows:
the state read once for the whole chunk plus what earlier records of the chunk changed. Then
one unit of work writes the write model (sync_service.writemodel.bulk), the parked records,
and every event with its processed message (sync_service.eventstore.postgres_bulk). Records
at fault are dead-lettered by the FaultPolicy as one by one, after the commit; later records
of their key in the chunk are parked, as the policy would. A chunk that meets a conflict (a
concurrent writer, a processed message) or any other fault is rolled back and goes through
the policy record by record, the live path, which sorts it out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final
from uuid import UUID, uuid4

from sqlalchemy import ARRAY, Text, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.cds import Contact
from contracts.envelope import Envelope, Message
from contracts.errors import ContractError
from contracts.events import ContactUpserted, CustomerAccountUpserted, OrderSubmitted
from contracts.registry import decode
from contracts.scm import SalesOrderHeader
from sync_service.eventstore.base import NewEvent
from sync_service.eventstore.postgres_bulk import BulkEvent, append_streams, stream_versions
from sync_service.logs import get_logger
from sync_service.mappings.faults import PERMANENT, FaultPolicy, Handled, SourceRecord
from sync_service.mappings.inbound import (
    INBOUND_GROUP,
    INBOUND_MAPS,
    ConnectionState,
    InboundWorker,
    decide,
    order_company,
    order_stream_of,
)
from sync_service.mappings.tables import parked_records
from sync_service.metrics import EVENTS_STORED, RECORDS_MAPPED
from sync_service.streams import stream_type
from sync_service.writemodel.bulk import apply_events

__all__ = ["ChunkState", "Decoded", "InboundBatch"]

log = get_logger(__name__)

# FOR SHARE, as FaultPolicy's park check: a redrive about to close a dead letter waits.
_BLOCKED: Final = text(
    "SELECT record_key FROM dead_letters WHERE consumer = :consumer AND status = 'open' "
    "AND record_key = ANY(CAST(:keys AS text[])) FOR SHARE"
)
_PROCESSED: Final = text(
    "SELECT message_id FROM processed_messages "
    "WHERE consumer = :consumer AND message_id = ANY(CAST(:ids AS text[]))"
)
_STREAM_IDS: Final = (
    func.unnest(bindparam("streams", type_=ARRAY(Text))).table_valued("id").render_derived("s")
)
_STREAM_COMPANIES: Final = select(_STREAM_IDS.c.id, order_company(_STREAM_IDS.c.id))
_KNOWN_CUSTOMERS: Final = text(
    "SELECT k.company, k.account_number FROM unnest(CAST(:companies AS text[]), "
    "CAST(:numbers AS text[])) AS k(company, account_number) "
    "WHERE EXISTS (SELECT FROM customer_accounts c "
    "WHERE c.company = k.company AND c.account_number = k.account_number)"
)

Work = Callable[[SourceRecord], Awaitable[Handled]]


class ChunkState:
    """KnownState for one chunk: read ahead in a few queries, then kept up to date in memory.

    What was not read ahead is asked of the connection once, as the live worker would.
    """

    def __init__(self, connection: AsyncConnection) -> None:
        self._live = ConnectionState(connection)
        self._connection = connection
        self._streams: dict[str, str | None] = {}
        self._customers: dict[tuple[str, str], bool] = {}
        self._contacts: dict[UUID, Contact | None] = {}

    async def read_ahead(self, envs: Sequence[Envelope[Message] | Decoded]) -> None:
        """Read what deciding `envs` will ask: their orders' streams and customers."""
        headers = [env.payload for env in envs if isinstance(env.payload, SalesOrderHeader)]
        streams = {s for s in map(order_stream_of, headers) if s is not None}
        streams -= self._streams.keys()
        if streams:
            found = await self._connection.execute(_STREAM_COMPANIES, {"streams": [*streams]})
            self._streams.update((stream, company) for stream, company in found)
        customers = {
            (h.dataAreaId, h.OrderingCustomerAccountNumber)
            for h in headers
            if h.dataAreaId and h.OrderingCustomerAccountNumber
        } - self._customers.keys()
        if customers:
            companies, numbers = zip(*customers, strict=True)
            found = await self._connection.execute(
                _KNOWN_CUSTOMERS, {"companies": list(companies), "numbers": list(numbers)}
            )
            self._customers.update(dict.fromkeys(customers, False))
            self._customers.update(((company, number), True) for company, number in found)

    async def stream_company(self, stream_id: str) -> str | None:
        """The company of an order stream (stored, or decided earlier in the chunk)."""
        if stream_id not in self._streams:
            self._streams[stream_id] = await self._live.stream_company(stream_id)
        return self._streams[stream_id]

    async def customer_account_exists(self, company: str, account_number: str) -> bool:
        """Whether the customer account exists (stored, or decided earlier in the chunk)."""
        key = (company, account_number)
        if key not in self._customers:
            self._customers[key] = await self._live.customer_account_exists(*key)
        return self._customers[key]

    async def contact(self, contact_id: UUID) -> Contact | None:
        """The contact (stored, or as decided earlier in the chunk), if there is one."""
        if contact_id not in self._contacts:
            self._contacts[contact_id] = await self._live.contact(contact_id)
        return self._contacts[contact_id]

    def decided(self, stream_id: str, event: Message, company: str) -> None:
        """Note the effect of an event decided for the chunk on what later records see."""
        if self._streams.get(stream_id) is None:
            # As `order_company` reads it back once stored.
            order = event.order if isinstance(event, OrderSubmitted) else None
            self._streams[stream_id] = (order.company if order else None) or company
        if isinstance(event, CustomerAccountUpserted):
            account = event.account
            key = (account.company or company, account.account_number or "")
            self._customers[key] = True
        elif isinstance(event, ContactUpserted):
            self._contacts[event.contact.contact_id] = event.contact


@dataclass(frozen=True, slots=True)
class Decoded:
    """A record's envelope as its reader validated it, without the Envelope model around it.

    For a caller that built the record itself (initial sync) and so need not parse it again.
    """

    message_id: UUID
    type: str
    origin: str
    company: str
    correlation_id: UUID
    payload: Message


Item = Envelope[Message] | Decoded | Exception
"""A record decoded (an Envelope, or Decoded), or why it cannot be."""


@dataclass(slots=True)
class _Chunk:
    """What deciding a chunk came to: outcomes per record, and what to write."""

    handled: list[Handled]
    events: list[BulkEvent] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    message_ids: list[str] = field(default_factory=list)
    mapped: list[str] = field(default_factory=list)
    parked: list[SourceRecord] = field(default_factory=list)
    failed: list[tuple[SourceRecord, Exception]] = field(default_factory=list)


class InboundBatch:
    """Loads chunks of SCM records with the inbound worker's rules; see the module docstring."""

    def __init__(self, engine: AsyncEngine, policy: FaultPolicy) -> None:
        self._engine = engine
        self._policy = policy
        self._worker = InboundWorker(engine)

    async def load(
        self,
        records: Sequence[SourceRecord],
        known: Sequence[Decoded | ContractError | None] | None = None,
    ) -> list[Handled]:
        """Handle `records` in order. `known[i]`, if given, is record i already decoded, or why
        it cannot be read; None: decode its value as the worker does."""
        decoded: list[Item] = []
        for record, item in zip(records, known or [None] * len(records), strict=True):
            if item is not None:
                decoded.append(item)
                continue
            try:
                decoded.append(decode(record.value))
            except (ContractError, RecursionError) as exc:  # RecursionError: nested too deep
                decoded.append(exc)
        try:
            chunk = await self._in_one_unit(records, decoded)
        except Exception as exc:  # a conflict, a transient fault: the policy, record by record
            log.info("initial_sync.chunk_one_by_one", records=len(records), reason=str(exc))
            return await self._one_by_one(records, decoded)
        if chunk.events:
            EVENTS_STORED.labels("scm").inc(len(chunk.events))
        for name, count in Counter(chunk.mapped).items():
            RECORDS_MAPPED.labels(name, "inbound").inc(count)
        now = datetime.now(UTC)
        for record, error in chunk.failed:
            await self._policy.dead_letter(record, error, 1, now)
        return chunk.handled

    async def _one_by_one(
        self, records: Sequence[SourceRecord], decoded: Sequence[Item]
    ) -> list[Handled]:
        handled = []
        for record, item in zip(records, decoded, strict=True):
            work = _refusing(item) if isinstance(item, Exception) else self._worker.handle
            handled.append(await self._policy.run(record, work))
        return handled

    async def _in_one_unit(
        self, records: Sequence[SourceRecord], decoded: Sequence[Item]
    ) -> _Chunk:
        envs = [item for item in decoded if not isinstance(item, Exception)]
        async with self._engine.connect() as connection:
            # READ COMMITTED, as the store's units of work (see eventstore/postgres.py).
            await connection.execution_options(isolation_level="READ COMMITTED")
            async with connection.begin():
                blocked = set(
                    (
                        await connection.execute(
                            _BLOCKED,
                            {"consumer": INBOUND_GROUP, "keys": sorted({r.key for r in records})},
                        )
                    ).scalars()
                )
                ids = [str(env.message_id) for env in envs]
                processed = set(
                    (
                        await connection.execute(
                            _PROCESSED, {"consumer": INBOUND_GROUP, "ids": ids}
                        )
                    ).scalars()
                    if ids
                    else ()
                )
                state = ChunkState(connection)
                await state.read_ahead(envs)
                chunk = await _decide_all(records, decoded, blocked, processed, state)
                await _number(connection, chunk.events)
                await apply_events(
                    connection,
                    [(e.stream_id, e.version, e.event) for e in chunk.events],
                    chunk.messages,
                )
                if chunk.parked:
                    await connection.execute(
                        insert(parked_records).on_conflict_do_nothing(),
                        [_parked_row(record) for record in chunk.parked],
                    )
                if chunk.events:  # last: it takes the store's append lock until the commit
                    await append_streams(
                        connection, chunk.events, consumer=INBOUND_GROUP,
                        message_ids=chunk.message_ids,
                    )  # fmt: skip
        return chunk


async def _decide_all(
    records: Sequence[SourceRecord],
    decoded: Sequence[Item],
    blocked: set[str],
    processed: set[str],
    state: ChunkState,
) -> _Chunk:
    chunk = _Chunk(handled=[])
    for record, item in zip(records, decoded, strict=True):
        chunk.handled.append(await _decide_one(record, item, blocked, processed, state, chunk))
    return chunk


async def _decide_one(
    record: SourceRecord,
    item: Item,
    blocked: set[str],
    processed: set[str],
    state: ChunkState,
    chunk: _Chunk,
) -> Handled:
    if record.key in blocked:  # an open dead letter holds its key: parked, as by the policy
        chunk.parked.append(record)
        return Handled.PARKED
    if isinstance(item, Exception):
        chunk.failed.append((record, item))
        blocked.add(record.key)
        return Handled.DEAD_LETTERED
    env = item
    message_id = str(env.message_id)
    if env.origin == "portal" or message_id in processed:
        return Handled.SKIPPED  # our own change coming back, or loaded before
    try:
        stream, event = await decide(env.payload, state)
    except PERMANENT as error:
        chunk.failed.append((record, error))
        blocked.add(record.key)
        return Handled.DEAD_LETTERED
    # What to_new_event(envelope(event, origin="scm", ...)) gives, as InboundWorker._apply
    # appends it, without validating an Envelope model around a payload just built.
    new = NewEvent(
        event_id=uuid4(),
        event_type=event.message_type,
        schema_version=event.schema_version,
        occurred_at=datetime.now(UTC),
        origin="scm",
        company=env.company,
        correlation_id=env.correlation_id,
        causation_id=env.message_id,
        payload=event.model_dump(mode="json", by_alias=True),
    )
    state.decided(stream, event, env.company)
    processed.add(message_id)
    chunk.events.append(BulkEvent(stream, stream_type(stream), 0, new))
    chunk.messages.append(event)
    chunk.message_ids.append(message_id)
    chunk.mapped.append(INBOUND_MAPS.get(env.type, env.type))
    return Handled.APPLIED


async def _number(connection: AsyncConnection, events: list[BulkEvent]) -> None:
    """Give each event its version: its stream's current one plus its place in the chunk."""
    versions = await stream_versions(connection, list(dict.fromkeys(e.stream_id for e in events)))
    for index, item in enumerate(events):
        versions[item.stream_id] += 1
        events[index] = BulkEvent(
            item.stream_id, item.stream_type, versions[item.stream_id], item.event
        )


def _parked_row(record: SourceRecord) -> dict[str, Any]:
    return {
        "consumer": INBOUND_GROUP,
        "record_key": record.key,
        "source_topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "value": record.value.decode("utf-8", "replace"),
    }


def _refusing(error: Exception) -> Work:
    async def refuse(_record: SourceRecord) -> Handled:
        raise error

    return refuse
