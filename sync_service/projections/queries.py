"""Reads of the order and account views, filtered in SQL by an OrderScope."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from sqlalchemy import ColumnElement, and_, false, func, or_, select, true, tuple_
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.ext.asyncio import AsyncConnection

from sync_service.db.schema import events
from sync_service.domain.roles import ORDERING_ROLES
from sync_service.domain.visibility import OrderScope
from sync_service.eventstore.base import StoredEvent
from sync_service.projections.tables import (
    account_views,
    contact_views,
    order_view_lines,
    order_views,
    projection_stream_versions,
)
from sync_service.streams import order_stream

__all__ = [
    "AccountView",
    "OrderFilter",
    "OrderLineView",
    "OrderView",
    "SortKey",
    "account_view",
    "list_orders",
    "order_events",
    "order_view",
    "visible",
]

SortKey = Literal[
    "submitted_at", "-submitted_at", "requested_receipt_date", "-requested_receipt_date"
]
# NULL receipt dates sort as the earliest, so that keyset comparisons stay total.
_NO_DATE = date(1, 1, 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderLineView:
    """One line with its estimated net amount."""

    line_number: int
    product_number: str | None
    quantity: Decimal | None
    unit: str | None
    price: Decimal | None
    amount: Decimal | None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderView:
    """An order as the portal shows it."""

    order_id: UUID
    status: str
    sales_order_number: str | None
    company: str | None
    customer_account: str | None
    orderer_contact_id: UUID | None
    orderer_name: str | None
    submitted_by: str | None
    origin: str
    requested_receipt_date: date | None
    currency: str | None
    total_amount: Decimal | None
    sync_failure_reason: str | None
    submitted_at: datetime
    updated_at: datetime
    lines: list[OrderLineView] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderFilter:
    """What GET /orders narrows by; None means no bound."""

    statuses: tuple[str, ...] = ()
    submitted_from: date | None = None
    submitted_to: date | None = None
    receipt_from: date | None = None
    receipt_to: date | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountView:
    """A customer account and the contacts who can order for it."""

    company: str
    account_number: str
    name: str | None
    currency: str | None
    price_list: str | None
    contacts: list[dict[str, Any]]


def visible(scope: OrderScope) -> ColumnElement[bool]:
    """The SQL condition of `scope` on order_views (the twin of OrderScope.includes)."""
    if scope.everything:
        return true()
    conditions: list[ColumnElement[bool]] = []
    if scope.customer is not None:
        company, account = scope.customer
        conditions.append(
            and_(order_views.c.company == company, order_views.c.customer_account == account)
        )
    if scope.orderer is not None:
        conditions.append(order_views.c.orderer_contact_id == scope.orderer)
    return or_(*conditions) if conditions else false()


def _sort_column(sort: SortKey) -> ColumnElement[Any]:
    if sort.lstrip("-") == "requested_receipt_date":
        return func.coalesce(order_views.c.requested_receipt_date, _NO_DATE)
    return order_views.c.submitted_at


def _sort_value(view: OrderView, sort: SortKey) -> Any:
    if sort.lstrip("-") == "requested_receipt_date":
        return view.requested_receipt_date or _NO_DATE
    return view.submitted_at


def _orderer_name() -> ColumnElement[Any]:
    name = func.concat_ws(" ", contact_views.c.firstname, contact_views.c.lastname)
    return func.nullif(name, "").label("orderer_name")


def _base_query() -> Any:
    return select(order_views, _orderer_name()).select_from(
        order_views.outerjoin(
            contact_views, contact_views.c.contact_id == order_views.c.orderer_contact_id
        )
    )


async def _with_lines(connection: AsyncConnection, rows: list[Any]) -> list[OrderView]:
    ids = [row.order_id for row in rows]
    lines: dict[UUID, list[OrderLineView]] = {order_id: [] for order_id in ids}
    if ids:
        query = (
            select(order_view_lines)
            .where(order_view_lines.c.order_id.in_(ids))
            .order_by(order_view_lines.c.order_id, order_view_lines.c.line_number)
        )
        for line in (await connection.execute(query)).mappings():
            values = {k: v for k, v in line.items() if k != "order_id"}
            lines[line["order_id"]].append(OrderLineView(**values))
    return [OrderView(**row._asdict(), lines=lines[row.order_id]) for row in rows]


async def list_orders(
    connection: AsyncConnection,
    scope: OrderScope,
    *,
    filters: OrderFilter,
    sort: SortKey = "-submitted_at",
    after: tuple[Any, UUID] | None = None,
    limit: int = 50,
) -> tuple[list[OrderView], tuple[Any, UUID] | None]:
    """One page of visible orders after the keyset `after`, and the keyset of the next page."""
    column = _sort_column(sort)
    descending = sort.startswith("-")
    query = _base_query().where(visible(scope))
    if filters.statuses:
        query = query.where(order_views.c.status.in_(filters.statuses))
    submitted_day = func.date(func.timezone("UTC", order_views.c.submitted_at))
    if filters.submitted_from:
        query = query.where(submitted_day >= filters.submitted_from)
    if filters.submitted_to:
        query = query.where(submitted_day <= filters.submitted_to)
    if filters.receipt_from:
        query = query.where(order_views.c.requested_receipt_date >= filters.receipt_from)
    if filters.receipt_to:
        query = query.where(order_views.c.requested_receipt_date <= filters.receipt_to)
    key = tuple_(column, order_views.c.order_id)
    if after is not None:
        query = query.where(key < tuple_(*after) if descending else key > tuple_(*after))
    ordering = (
        (column.desc(), order_views.c.order_id.desc())
        if descending
        else (column, order_views.c.order_id)
    )
    rows = list(await connection.execute(query.order_by(*ordering).limit(limit + 1)))
    page = await _with_lines(connection, rows[:limit])
    following = (_sort_value(page[-1], sort), page[-1].order_id) if len(rows) > limit else None
    return page, following


async def order_view(
    connection: AsyncConnection, scope: OrderScope, order_id: UUID
) -> OrderView | None:
    """The order if it exists and is visible; None either way it is not (the API answers 404)."""
    query = _base_query().where(order_views.c.order_id == order_id, visible(scope))
    rows = list(await connection.execute(query))
    views = await _with_lines(connection, rows)
    return views[0] if views else None


async def order_events(connection: AsyncConnection, order_id: UUID) -> list[StoredEvent]:
    """The order's events that the views have applied, oldest first."""
    stream = order_stream(order_id)
    applied = (
        select(projection_stream_versions.c.version)
        .where(projection_stream_versions.c.stream_id == stream)
        .scalar_subquery()
    )
    query = (
        select(events)
        .where(events.c.stream_id == stream, events.c.version <= func.coalesce(applied, 0))
        .order_by(events.c.version)
    )
    return [StoredEvent(**row._asdict()) for row in await connection.execute(query)]


async def account_view(
    connection: AsyncConnection, company: str, account_number: str
) -> AccountView | None:
    """The customer account and its contacts with an ordering web role."""
    account = (
        await connection.execute(
            select(account_views).where(
                account_views.c.company == company, account_views.c.account_number == account_number
            )
        )
    ).first()
    if account is None:
        return None
    query = (
        select(contact_views)
        .where(
            contact_views.c.company == company,
            contact_views.c.account_number == account_number,
            contact_views.c.web_roles.has_any(array(sorted(ORDERING_ROLES))),
        )
        .order_by(contact_views.c.lastname, contact_views.c.firstname, contact_views.c.contact_id)
    )
    contacts = [dict(row) for row in (await connection.execute(query)).mappings()]
    return AccountView(**account._asdict(), contacts=contacts)
