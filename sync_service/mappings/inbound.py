"""The inbound worker: scm.inbound.v1 -> SCM -> CDS maps -> events with origin `scm`.

Each record's events are appended in one unit of work with the write model (the projector) and
the processed-message record, so a redelivered record changes nothing twice. Events appended
here have origin `scm`, which the outbound worker never sends back to SCM. What the ERP may not
change (sync_service.domain.erp_trust) is refused here as an UntrustedChange, or for an ERP
order's orderer, left out.
"""

from __future__ import annotations

from typing import Final, Protocol
from uuid import NAMESPACE_URL, UUID, uuid5

from sqlalchemy import ColumnElement, ScalarSelect, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.cds import Account, Contact, Product, ProductPriceLevel, SalesOrder
from contracts.envelope import Envelope, Message, envelope
from contracts.errors import FieldError, InvalidMessage
from contracts.events import (
    ContactUpserted,
    CustomerAccountUpserted,
    OrderSubmitted,
    OrderSyncStatusChanged,
    PriceListPriceUpserted,
    ProductUpserted,
)
from contracts.registry import decode
from contracts.scm import (
    ContactPersonV2,
    CustomerV3,
    ReleasedProduct,
    SalesOrderHeader,
    SalesPriceAgreement,
)
from sync_service.db.schema import events
from sync_service.domain.erp_trust import (
    contact_move_refusal,
    named_portal_contact,
    orderer_refusal,
    status_refusal,
)
from sync_service.eventstore import AlreadyProcessed, ConcurrencyConflict, ProcessedMessage
from sync_service.eventstore.envelopes import to_new_event
from sync_service.eventstore.postgres import PostgresEventStore
from sync_service.logs import get_logger
from sync_service.mappings.contacts import CONTACT_MAP
from sync_service.mappings.customers import CUSTOMER_MAP
from sync_service.mappings.engine import MappingFailed
from sync_service.mappings.faults import Handled, SourceRecord, UnknownReference, UntrustedChange
from sync_service.mappings.products import PRICE_AGREEMENT_MAP, RELEASED_PRODUCT_MAP
from sync_service.mappings.records import map_to_cds
from sync_service.mappings.sales_orders import SALES_ORDER_MAP, STATUS_TO_CDS
from sync_service.metrics import RECORDS_MAPPED
from sync_service.streams import (
    account_stream,
    contact_stream,
    order_stream,
    price_stream,
    product_stream,
    stream_type,
)
from sync_service.writemodel import queries
from sync_service.writemodel.projector import apply_event

__all__ = [
    "INBOUND_GROUP",
    "INBOUND_MAPS",
    "ConnectionState",
    "InboundWorker",
    "KnownState",
    "contact_id_of",
    "decide",
    "erp_order_id",
    "order_company",
    "order_stream_of",
]

log = get_logger(__name__)

INBOUND_GROUP: Final = "dualsync-inbound"
_IDS: Final = uuid5(NAMESPACE_URL, "urn:dualsync:inbound")
INBOUND_MAPS: Final = {
    CustomerV3.message_type: CUSTOMER_MAP.name,
    ContactPersonV2.message_type: CONTACT_MAP.name,
    SalesOrderHeader.message_type: SALES_ORDER_MAP.name,
    ReleasedProduct.message_type: RELEASED_PRODUCT_MAP.name,
    SalesPriceAgreement.message_type: PRICE_AGREEMENT_MAP.name,
}
"""The map each SCM record type goes through (the names ops pause)."""


def order_company(stream_id: ColumnElement[str]) -> ScalarSelect[str]:
    """SQL of the company of the order stream `stream_id`: the company its OrderSubmitted names,
    as the read model shows it (else that of its first event); NULL when it has no events."""
    company = func.coalesce(events.c.payload[("order", "msdyn_company")].astext, events.c.company)
    return (
        select(company)
        .where(events.c.stream_id == stream_id)
        .order_by((events.c.event_type == "OrderSubmitted").desc(), events.c.version)
        .limit(1)
        .scalar_subquery()
    )


_STREAM_COMPANY: Final = select(order_company(bindparam("stream_id")))
_PORTAL_ONLY: Final = ("price_list", "ship_to_country", "currency", "web_roles", "contact_id")


def erp_order_id(company: str, sales_order_number: str) -> UUID:
    """The CDS id of an order created in the ERP: the same for every message about it."""
    return uuid5(_IDS, f"order/{company}/{sales_order_number}")


class InboundWorker:
    """Appends the CDS side of each SCM record; raises on faults (see FaultPolicy)."""

    def __init__(self, engine: AsyncEngine, *, max_conflicts: int = 5) -> None:
        self._store = PostgresEventStore(engine)
        self._max_conflicts = max_conflicts

    async def handle(self, record: SourceRecord) -> Handled:
        """Map one record of scm.inbound.v1 and append its event."""
        env = decode(record.value)
        if env.origin == "portal":
            return Handled.SKIPPED  # our own change coming back: never a new change
        for _ in range(self._max_conflicts):
            try:
                return await self._apply(env)
            except AlreadyProcessed:
                return Handled.SKIPPED
            except ConcurrencyConflict:
                continue  # another writer appended to the stream first: decide again
        raise RuntimeError(f"gave up after {self._max_conflicts} version conflicts")

    async def _apply(self, env: Envelope[Message]) -> Handled:
        async with self._store.transaction() as unit:
            connection = unit.connection
            stream, event = await self._decide(connection, env)
            version = await unit.stream_version(stream)
            new = to_new_event(
                envelope(
                    event, origin="scm", company=env.company,
                    correlation_id=env.correlation_id, causation_id=env.message_id,
                )
            )  # fmt: skip
            await apply_event(connection, stream, version + 1, new)
            processed = ProcessedMessage(INBOUND_GROUP, str(env.message_id))
            await unit.append(stream, stream_type(stream), version, [new], processed=processed)
        RECORDS_MAPPED.labels(INBOUND_MAPS.get(env.type, env.type), "inbound").inc()
        return Handled.APPLIED

    async def _decide(
        self, connection: AsyncConnection, env: Envelope[Message]
    ) -> tuple[str, Message]:
        return await decide(env.payload, ConnectionState(connection))


class KnownState(Protocol):
    """What deciding an SCM record's event needs to know of the CDS side's current state."""

    async def stream_company(self, stream_id: str) -> str | None:
        """The company of an order stream (see `order_company`); None when it has no events."""
        ...

    async def customer_account_exists(self, company: str, account_number: str) -> bool:
        """Whether the write model has this customer account."""
        ...

    async def contact(self, contact_id: UUID) -> Contact | None:
        """The write model's contact record, if there is one."""
        ...


class ConnectionState:
    """KnownState read on a connection (the live worker's unit of work): one query per ask."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def stream_company(self, stream_id: str) -> str | None:
        """The company of an order stream (see `order_company`); None when it has no events."""
        company = await self._connection.scalar(_STREAM_COMPANY, {"stream_id": stream_id})
        return None if company is None else str(company)

    async def customer_account_exists(self, company: str, account_number: str) -> bool:
        """Whether the write model has this customer account."""
        return await queries.customer_account(self._connection, company, account_number) is not None

    async def contact(self, contact_id: UUID) -> Contact | None:
        """The write model's contact record, if there is one."""
        return await queries.contact(self._connection, contact_id)


async def decide(payload: Message, known: KnownState) -> tuple[str, Message]:
    """The stream and the CDS event of one SCM record; MappingFailed / UnknownReference."""
    if isinstance(payload, CustomerV3):
        account = map_to_cds(CUSTOMER_MAP, payload, Account)
        stream = account_stream(str(account.company), str(account.account_number))
        return stream, CustomerAccountUpserted(account=account)
    if isinstance(payload, ReleasedProduct):
        product = map_to_cds(RELEASED_PRODUCT_MAP, payload, Product)
        stream = product_stream(str(product.company), str(product.product_number))
        return stream, ProductUpserted(product=product)
    if isinstance(payload, SalesPriceAgreement):
        price = map_to_cds(PRICE_AGREEMENT_MAP, payload, ProductPriceLevel)
        stream = price_stream(
            str(price.company), str(price.price_list), str(price.product_number),
            str(price.unit),
        )  # fmt: skip
        return stream, PriceListPriceUpserted(price=price)
    if isinstance(payload, ContactPersonV2):
        return await _contact(known, payload)
    if isinstance(payload, SalesOrderHeader):
        return await _order(known, payload)
    message = f"{payload.message_type} is not an SCM record"
    raise InvalidMessage([FieldError(field="type", message=message)])


def order_stream_of(header: SalesOrderHeader) -> str | None:
    """The stream an SCM order goes to; None when it names neither its id nor its number."""
    if header.CDSSalesOrderId is not None:
        return order_stream(header.CDSSalesOrderId)
    if not header.dataAreaId or not header.SalesOrderNumber:
        return None
    return order_stream(erp_order_id(header.dataAreaId, header.SalesOrderNumber))


def contact_id_of(person: ContactPersonV2) -> UUID:
    """The CDS id of an SCM contact person: its CDSContactId, else derived from its key."""
    company, person_id = person.dataAreaId or "", person.ContactPersonId or ""
    return person.CDSContactId or uuid5(_IDS, f"contact/{company}/{person_id}")


async def _order(known: KnownState, header: SalesOrderHeader) -> tuple[str, Message]:
    company, number = header.dataAreaId, header.SalesOrderNumber
    if not company or not number:
        missing = [n for n, v in (("dataAreaId", company), ("SalesOrderNumber", number)) if not v]
        raise MappingFailed(SALES_ORDER_MAP.name, [_required(n) for n in missing])
    order_id = header.CDSSalesOrderId or erp_order_id(company, number)
    stream = order_stream(order_id)
    owner = await known.stream_company(stream)
    if header.CDSSalesOrderId is not None or owner is not None:
        if owner is None:
            error = FieldError(field="CDSSalesOrderId", message=f"unknown order {order_id}")
            raise UnknownReference(SALES_ORDER_MAP.name, [error])
        refusal = status_refusal(owner, company)
        if refusal is not None:
            raise UntrustedChange(SALES_ORDER_MAP.name, [refusal])
        return stream, _status_change(header, order_id)
    # Created in the ERP (like May's order): a new order on the CDS side.
    order = map_to_cds(SALES_ORDER_MAP, header, SalesOrder, extra={"salesorderid": order_id})
    customer = order.customer_account or ""
    if not await known.customer_account_exists(company, customer):
        error = FieldError(
            field="OrderingCustomerAccountNumber", message=f"unknown customer {customer!r}"
        )
        raise UnknownReference(SALES_ORDER_MAP.name, [error])
    return stream, OrderSubmitted(order=await _trusted_orderer(known, order), submitted_by="scm")


async def _trusted_orderer(known: KnownState, order: SalesOrder) -> SalesOrder:
    """The order without its contact person when that names a portal contact it may not name."""
    named = named_portal_contact(order.contact_person_id)
    if named is None:
        return order
    refusal = orderer_refusal(order, await known.contact(named))
    if refusal is None:
        return order
    # The order is the ERP's to take, but not whom the portal shows it to: it has no orderer.
    log.warning(
        "mapping.erp_orderer_dropped", order=str(order.sales_order_id),
        sales_order_number=order.sales_order_number, reason=refusal,
    )  # fmt: skip
    return order.model_copy(update={"contact_person_id": None})


def _required(name: str) -> FieldError:
    return FieldError(field=name, message="Field required")


def _status_change(header: SalesOrderHeader, order_id: UUID) -> OrderSyncStatusChanged:
    scm_status = header.SalesOrderProcessingStatus
    # MAPPINGS.md: an SCM number without a status means the order is in SCM: `synced`.
    status = STATUS_TO_CDS.get(scm_status) if scm_status else "synced"
    if status is None:
        error = FieldError(
            field="SalesOrderProcessingStatus", message=f"unknown status {scm_status!r}"
        )
        raise MappingFailed(SALES_ORDER_MAP.name, [error])
    return OrderSyncStatusChanged.model_validate(
        {"salesorderid": order_id, "status": status, "sales_order_number": header.SalesOrderNumber}
    )


async def _contact(known: KnownState, person: ContactPersonV2) -> tuple[str, Message]:
    contact_id = contact_id_of(person)
    existing = await known.contact(contact_id)
    # Portal-only fields (price list, ship-to, roles) are not SCM's: keep what the portal has.
    kept = existing.model_dump(include=set(_PORTAL_ONLY), by_alias=True) if existing else {}
    contact = map_to_cds(CONTACT_MAP, person, Contact, extra={**kept, "contactid": contact_id})
    company, account = contact.company or "", contact.account_number or ""
    if not await known.customer_account_exists(company, account):
        error = FieldError(
            field="AssociatedContactNumber", message=f"unknown customer {account!r} in {company}"
        )
        raise UnknownReference(CONTACT_MAP.name, [error])
    refusal = contact_move_refusal(existing, contact)
    if refusal is not None:
        raise UntrustedChange(CONTACT_MAP.name, [refusal])
    return contact_stream(contact_id), ContactUpserted(contact=contact)
