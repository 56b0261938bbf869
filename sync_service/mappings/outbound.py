"""The outbound worker: cds.events.v1 -> CDS -> SCM maps -> scm.salesorders/contacts/customers.

Only changes that came from the portal travel: an event with origin `scm` came from SCM and is
never sent back (loop prevention). Each SCM record carries a stable message id (uuid5 of the
source event id and the map's name), so a redelivered event publishes a duplicate the ERP can
drop; `processed_messages` makes most redeliveries publish nothing at all. An order that cannot
be mapped gets `OrderSyncStatusChanged(sync_failed, reason)` on its stream, then dead-letters.

`handle_batch` maps a batch of records with one read of each kind (parked keys, processed ids,
products), queues every SCM record before awaiting the acknowledgements, and records the batch
as processed in one statement. A record the batch cannot take (its key parked, it fails to
decode or to map) goes through `handle` on its own, under the fault policy, where it stands,
and the batch goes on after it: dead letters, parking and retries work exactly as for single
records, and one poison record costs one extra round, not the batch. A fault while reading or
publishing sends the rest of the batch through `handle` one record at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from uuid import NAMESPACE_URL, UUID, uuid5

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.envelope import Envelope, Message, envelope, to_json_bytes
from contracts.errors import FieldError
from contracts.events import (
    ContactUpserted,
    CustomerAccountUpserted,
    OrderSubmitted,
    OrderSyncStatusChanged,
)
from contracts.registry import decode
from contracts.scm import ContactPersonV2, CustomerV3, SalesOrderHeader
from contracts.topics import SCM_CONTACTS, SCM_CUSTOMERS, SCM_SALESORDERS
from sync_service.db.schema import processed_messages, products
from sync_service.eventstore import AlreadyProcessed, ProcessedMessage
from sync_service.eventstore.envelopes import to_new_event
from sync_service.eventstore.postgres import PostgresEventStore
from sync_service.failures import describe
from sync_service.logs import get_logger
from sync_service.mappings.contacts import CONTACT_MAP
from sync_service.mappings.customers import CUSTOMER_MAP
from sync_service.mappings.engine import EntityMap, Lookups, MappingFailed
from sync_service.mappings.faults import Handled, SourceRecord, UnknownReference
from sync_service.mappings.publishing import Publish, Send
from sync_service.mappings.records import map_to_scm
from sync_service.mappings.sales_orders import PRODUCT_SITE, PRODUCT_WAREHOUSE, SALES_ORDER_MAP
from sync_service.mappings.tables import dead_letters
from sync_service.metrics import RECORDS_MAPPED, SUBMIT_TO_SCM, observe_since
from sync_service.settings import Settings
from sync_service.streams import order_stream
from sync_service.writemodel.projector import apply_event

__all__ = ["OUTBOUND_GROUP", "OutboundWorker", "Route", "scm_message_id"]

OUTBOUND_GROUP: Final = "dualsync-outbound"
_MESSAGE_IDS: Final = uuid5(NAMESPACE_URL, "urn:dualsync:outbound")

log = get_logger(__name__)


@dataclass(frozen=True)
class Route:
    """Which map an event type goes through, which record of it, and where the result goes."""

    entity: EntityMap
    record: Callable[[Any], BaseModel]
    scm_type: type[Message]
    topic: str
    key_fields: tuple[str, ...]
    """The SCM integration key after dataAreaId; the first one present is used."""


ROUTES: Final[Mapping[str, Route]] = {
    OrderSubmitted.message_type: Route(
        SALES_ORDER_MAP, lambda p: p.order, SalesOrderHeader, SCM_SALESORDERS, ("CDSSalesOrderId",)
    ),
    ContactUpserted.message_type: Route(
        CONTACT_MAP, lambda p: p.contact, ContactPersonV2, SCM_CONTACTS,
        ("ContactPersonId", "CDSContactId"),
    ),
    CustomerAccountUpserted.message_type: Route(
        CUSTOMER_MAP, lambda p: p.account, CustomerV3, SCM_CUSTOMERS, ("CustomerAccount",)
    ),
}  # fmt: skip


def scm_message_id(source_message_id: UUID, map_name: str) -> UUID:
    """The stable id of the SCM record that `source_message_id` became through `map_name`."""
    return uuid5(_MESSAGE_IDS, f"{source_message_id}/{map_name}")


class OutboundWorker:
    """Maps portal events to SCM records and publishes them; raises on faults (FaultPolicy)."""

    def __init__(
        self, engine: AsyncEngine, publish: Publish, settings: Settings, *, send: Send | None = None
    ) -> None:
        self._engine = engine
        self._store = PostgresEventStore(engine)
        self._publish = publish
        self._send = send
        self._settings = settings

    @staticmethod
    def map_name(event_type: str) -> str | None:
        """The map an event type goes through, if it goes to SCM at all."""
        route = ROUTES.get(event_type)
        return route.entity.name if route else None

    async def handle(self, record: SourceRecord) -> Handled:
        """Map and publish one record of cds.events.v1."""
        env = decode(record.value)
        route = _route(env)
        if route is None:
            return Handled.SKIPPED
        source = route.record(env.payload)
        try:
            async with self._engine.connect() as connection:
                if await _processed(connection, str(env.message_id)):
                    return Handled.SKIPPED
                lookups = await _lookups(connection, env.company, source)
            scm = map_to_scm(
                route.entity, source, route.scm_type, company=env.company, lookups=lookups
            )
        except (MappingFailed, UnknownReference) as failure:
            if isinstance(env.payload, OrderSubmitted):
                await self._order_sync_failed(env, env.payload, str(failure))
            raise
        await self._publish(*self._scm_record(env, route, scm))
        await _record_processed(self._engine, [str(env.message_id)])
        _count_mapped(env, route)
        return Handled.APPLIED

    async def handle_batch(
        self,
        records: Sequence[SourceRecord],
        one_by_one: Callable[[SourceRecord], Awaitable[Handled]],
    ) -> list[Handled]:
        """Map and publish a batch of records of cds.events.v1, in order.

        `one_by_one` handles a single record under the fault policy: each record the batch
        cannot take (a parked key, a record that fails to decode or map) goes through it where
        it stands, and the records around it stay batched (see the module docstring).
        """
        if self._send is None or len(records) <= 1:
            return [await one_by_one(record) for record in records]
        handled: list[Handled] = []
        rest = list(records)
        while rest:
            try:
                planned = await self._plan(rest)
            except Exception as error:  # a fault reading: the careful path decides
                log.info("outbound.batch_fell_back", size=len(rest), reason=describe(error))
                return handled + [await one_by_one(record) for record in rest]
            if planned:
                try:
                    handled += await self._publish_planned(planned)
                except Exception as error:  # Kafka refused a record, or is away
                    log.info("outbound.batch_fell_back", size=len(planned), reason=describe(error))
                    handled += [await one_by_one(record) for record in rest[: len(planned)]]
                rest = rest[len(planned) :]
            if rest:  # the record the plan stopped at
                handled.append(await one_by_one(rest[0]))
                rest = rest[1:]
        return handled

    async def _plan(self, records: Sequence[SourceRecord]) -> list[_Planned]:
        """What the records become, in order, up to the first one that needs the one-by-one
        path: its key is parked, or it fails to decode or to map."""
        decoded: list[Envelope[Message]] = []
        for record in records:
            try:
                decoded.append(decode(record.value))
            except Exception:  # the fault policy settles it
                break
        routed = [(env, _route(env)) for env in decoded]
        ids = [str(env.message_id) for env, route in routed if route is not None]
        async with self._engine.connect() as connection:
            blocked = await _parked_keys(connection, {r.key for r in records[: len(decoded)]})
            done = await _processed_among(connection, ids)
            lookups = await _batch_lookups(
                connection,
                [(env.company, route.record(env.payload)) for env, route in routed if route],
            )
        planned: list[_Planned] = []
        for record, (env, route) in zip(records, routed, strict=False):
            if record.key in blocked:
                break
            if route is None or str(env.message_id) in done:
                planned.append(_Planned(env, None, None))
                continue
            source = route.record(env.payload)
            company = getattr(source, "company", None) or env.company
            try:
                scm = map_to_scm(
                    route.entity,
                    source,
                    route.scm_type,
                    company=env.company,
                    lookups=_lookups_for(lookups.get(company, {}), source),
                )
                item = _Planned(env, route, self._scm_record(env, route, scm))
            except Exception:  # MappingFailed, UnknownReference: the fault policy's to settle
                break
            done.add(str(env.message_id))  # a second copy in this batch publishes nothing
            planned.append(item)
        return planned

    async def _publish_planned(self, planned: list[_Planned]) -> list[Handled]:
        assert self._send is not None
        # Queued in order (one key stays in order), acknowledged together.
        acks = []
        try:
            for item in planned:
                if item.record is not None:
                    acks.append(await self._send(*item.record))
        finally:
            # Also when a record was refused: what was queued before it is awaited, not lost.
            delivered = await asyncio.gather(*acks, return_exceptions=True)
        for outcome in delivered:
            if isinstance(outcome, BaseException):
                raise outcome
        await _record_processed(
            self._engine, [str(item.env.message_id) for item in planned if item.route is not None]
        )
        handled = []
        for item in planned:
            if item.route is None:
                handled.append(Handled.SKIPPED)
                continue
            _count_mapped(item.env, item.route)
            handled.append(Handled.APPLIED)
        return handled

    def _scm_record(
        self, env: Envelope[Message], route: Route, scm: Message
    ) -> tuple[str, bytes, bytes, dict[str, str]]:
        """The Kafka record (topic, key, value, headers) of the SCM message `scm`."""
        data = scm.model_dump()
        key = "/".join(
            [data["dataAreaId"], next(str(data[k]) for k in route.key_fields if data.get(k))]
        )
        out = envelope(
            scm,
            origin="portal",
            company=env.company,
            correlation_id=env.correlation_id,
            causation_id=env.message_id,
            message_id=scm_message_id(env.message_id, route.entity.name),
            occurred_at=env.occurred_at,
        )
        headers = {
            "content-type": "application/json", "message_id": str(out.message_id),
            "type": out.type, "origin": out.origin, "company": out.company,
            "correlation_id": str(out.correlation_id),
        }  # fmt: skip
        return self._settings.topic(route.topic), key.encode(), to_json_bytes(out), headers

    async def _order_sync_failed(
        self, env: Envelope[Message], submitted: OrderSubmitted, reason: str
    ) -> None:
        order_id = submitted.order.sales_order_id
        status = OrderSyncStatusChanged(salesorderid=order_id, status="sync_failed", reason=reason)
        new = to_new_event(
            envelope(
                status,
                origin="portal",
                company=env.company,
                correlation_id=env.correlation_id,
                causation_id=env.message_id,
            )
        )
        stream = order_stream(order_id)
        try:
            async with self._store.transaction() as unit:
                version = await unit.stream_version(stream)
                await apply_event(unit.connection, stream, version + 1, new)
                # Once per source event: a redelivery of a refused order appends nothing.
                processed = ProcessedMessage(f"{OUTBOUND_GROUP}/sync-failed", str(env.message_id))
                await unit.append(stream, "order", version, [new], processed=processed)
        except AlreadyProcessed:
            pass


@dataclass(frozen=True, slots=True)
class _Planned:
    """A record of a batch: its envelope, its route and SCM record (None: skipped)."""

    env: Envelope[Message]
    route: Route | None
    record: tuple[str, bytes, bytes, dict[str, str]] | None


def _route(env: Envelope[Message]) -> Route | None:
    """The route of an event that goes to SCM; None for one that does not."""
    route = ROUTES.get(env.type)
    if route is None or env.origin == "scm":
        return None  # not for SCM, or came from SCM (never echoed back)
    if isinstance(env.payload, ContactUpserted) and not env.payload.contact.account_number:
        # ContactPersonsV2 holds customer contacts; one without a customer account (portal
        # staff such as an administrator) has no counterpart in SCM until it gets one.
        return None
    return route


def _count_mapped(env: Envelope[Message], route: Route) -> None:
    RECORDS_MAPPED.labels(route.entity.name, "outbound").inc()
    if isinstance(env.payload, OrderSubmitted):  # the order's first way to SCM
        observe_since(SUBMIT_TO_SCM, env.occurred_at)


async def _record_processed(engine: AsyncEngine, message_ids: list[str]) -> None:
    if not message_ids:
        return
    async with engine.begin() as connection:
        await connection.execute(
            insert(processed_messages).on_conflict_do_nothing(),
            [{"consumer": OUTBOUND_GROUP, "message_id": message_id} for message_id in message_ids],
        )


async def _parked_keys(connection: AsyncConnection, keys: set[str]) -> set[str]:
    """Which keys have an open dead letter (their records must be parked, one by one)."""
    found = await connection.execute(
        select(dead_letters.c.record_key)
        .where(
            dead_letters.c.consumer == OUTBOUND_GROUP,
            dead_letters.c.record_key.in_(keys),
            dead_letters.c.status == "open",
        )
        .distinct()
    )
    return set(found.scalars())


async def _processed_among(connection: AsyncConnection, message_ids: list[str]) -> set[str]:
    if not message_ids:
        return set()
    rows = await connection.execute(
        select(processed_messages.c.message_id).where(
            processed_messages.c.consumer == OUTBOUND_GROUP,
            processed_messages.c.message_id.in_(message_ids),
        )
    )
    return set(rows.scalars())


async def _batch_lookups(
    connection: AsyncConnection, sources: list[tuple[str, BaseModel]]
) -> dict[str, dict[str, Any]]:
    """company -> product number -> product record, for every product the sources' lines name."""
    wanted: dict[str, set[str]] = {}
    for company, source in sources:
        numbers = {
            line.product_number for line in getattr(source, "lines", []) if line.product_number
        }
        if numbers:
            wanted.setdefault(getattr(source, "company", None) or company, set()).update(numbers)
    found: dict[str, dict[str, Any]] = {}
    for company, numbers in wanted.items():
        rows = await connection.execute(
            select(products.c.product_number, products.c.record).where(
                products.c.company == company, products.c.product_number.in_(numbers)
            )
        )
        found[company] = {row.product_number: row.record for row in rows}
    return found


def _lookups_for(records: Mapping[str, Any], source: BaseModel) -> Lookups:
    """`_lookups` from records read beforehand; UnknownReference for a product not there."""
    lines = getattr(source, "lines", [])
    if not any(line.product_number for line in lines):
        return {}
    unknown = [
        FieldError(
            field=f"lines[{index}].ProductNumber",
            message=f"unknown product {line.product_number!r}",
        )
        for index, line in enumerate(lines)
        if line.product_number and line.product_number not in records
    ]
    if unknown:
        raise UnknownReference(SALES_ORDER_MAP.name, unknown)
    named = {line.product_number for line in lines if line.product_number}
    return {
        PRODUCT_SITE: {n: r.get("msdyn_defaultsite") for n, r in records.items() if n in named},
        PRODUCT_WAREHOUSE: {
            n: r.get("msdyn_defaultwarehouse") for n, r in records.items() if n in named
        },
    }


async def _processed(connection: AsyncConnection, message_id: str) -> bool:
    found = await connection.scalar(
        select(processed_messages.c.message_id).where(
            processed_messages.c.consumer == OUTBOUND_GROUP,
            processed_messages.c.message_id == message_id,
        )
    )
    return found is not None


async def _lookups(connection: AsyncConnection, company: str, source: BaseModel) -> Lookups:
    """The released products' default sites and warehouses that the order's lines name."""
    numbers = {line.product_number for line in getattr(source, "lines", []) if line.product_number}
    if not numbers:
        return {}
    rows = await connection.execute(
        select(products.c.product_number, products.c.record).where(
            products.c.company == (getattr(source, "company", None) or company),
            products.c.product_number.in_(numbers),
        )
    )
    records = {row.product_number: row.record for row in rows}
    unknown = [
        FieldError(
            field=f"lines[{index}].ProductNumber",
            message=f"unknown product {line.product_number!r}",
        )
        for index, line in enumerate(getattr(source, "lines", []))
        if line.product_number and line.product_number not in records
    ]
    if unknown:
        raise UnknownReference(SALES_ORDER_MAP.name, unknown)
    return {
        PRODUCT_SITE: {n: r.get("msdyn_defaultsite") for n, r in records.items()},
        PRODUCT_WAREHOUSE: {n: r.get("msdyn_defaultwarehouse") for n, r in records.items()},
    }
