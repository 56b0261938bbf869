"""Reading orders and the account as a caller: what GET /orders, /orders/{id}, /account and the
portal's pages share, so that both see exactly the same orders (SPEC §3 visibility)."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from starlette.requests import HTTPConnection

from contracts.errors import FieldError
from portal_api.problems import Problem
from sync_service.domain.roles import Caller
from sync_service.domain.visibility import OrderScope, order_scope
from sync_service.projections.history import OrderHistory
from sync_service.projections.queries import AccountView, OrderFilter, OrderView, SortKey
from sync_service.projections.reader import PostgresOrderViews
from sync_service.writemodel.base import WriteModelReader

__all__ = [
    "Arrival",
    "caller_account",
    "caller_record",
    "caller_scope",
    "find_order",
    "find_order_with_history",
    "order_page",
    "own_order_arriving",
]


async def caller_record(request: HTTPConnection, caller: Caller) -> tuple[str | None, str | None]:
    """The caller's company and account number as its contact record says now."""
    if caller.contact_id is None:
        return None, None
    reader: WriteModelReader = request.app.state.reader
    contact = await reader.contact(caller.contact_id)
    return (contact.company, contact.account_number) if contact else (None, None)


async def caller_scope(request: HTTPConnection, caller: Caller) -> OrderScope:
    """The orders `caller` may see, decided from its contact record at this request."""
    return order_scope(caller, *await caller_record(request, caller))


def _views(request: HTTPConnection) -> PostgresOrderViews:
    views: PostgresOrderViews = request.app.state.order_views
    return views


def _encode_cursor(sort: SortKey, keyset: tuple[Any, UUID]) -> str:
    raw = json.dumps([sort, keyset[0].isoformat(), str(keyset[1])]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: SortKey) -> tuple[Any, UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_sort, value, order_id = json.loads(raw)
        if cursor_sort != sort:
            raise ValueError("the cursor belongs to another sort order")
        parse = date.fromisoformat if "receipt" in sort else datetime.fromisoformat
        return parse(value), UUID(order_id)
    except (ValueError, TypeError, binascii.Error) as error:
        raise Problem(
            422,
            "the cursor is not one this API gave out for this sort order",
            errors=[FieldError(field="cursor", message=str(error) or "malformed")],
        ) from None


async def order_page(
    request: HTTPConnection,
    caller: Caller,
    *,
    filters: OrderFilter,
    sort: SortKey,
    cursor: str | None,
    limit: int,
) -> tuple[list[OrderView], str | None]:
    """One page of the orders the caller sees, and the cursor of the next page (None: last)."""
    after = _decode_cursor(cursor, sort) if cursor else None
    page, following = await _views(request).list_orders(
        await caller_scope(request, caller), filters=filters, sort=sort, after=after, limit=limit
    )
    return page, _encode_cursor(sort, following) if following else None


async def find_order(request: HTTPConnection, caller: Caller, order_id: UUID) -> OrderView:
    """The order; Problem 404 both when it does not exist and when the caller may not see it."""
    view = await _views(request).order(await caller_scope(request, caller), order_id)
    if view is None:
        raise Problem(404, "no such order")
    return view


async def find_order_with_history(
    request: HTTPConnection, caller: Caller, order_id: UUID
) -> tuple[OrderView, OrderHistory]:
    """The order with its sync timeline; Problem 404 exactly where `find_order` answers it."""
    found = await _views(request).order_with_history(await caller_scope(request, caller), order_id)
    if found is None:
        raise Problem(404, "no such order")
    return found


@dataclass(frozen=True, slots=True)
class Arrival:
    """The caller's own order, submitted but not (yet) in the caller's views."""

    refused: str | None = None
    """Why the order was refused after it was accepted for processing; None: on its way."""


async def own_order_arriving(
    request: HTTPConnection, caller: Caller, order_id: UUID
) -> Arrival | None:
    """For an order `find_order` does not find: the caller's own order on its way (or refused
    on the way), or None (not found, as any order the caller may not see).

    POST /orders answers before the order reaches the views, so the page shown right after a
    submit may ask too early. Only an order the caller claimed with its Idempotency-Key counts:
    whether it exists tells the caller nothing it does not know.
    """
    reader: WriteModelReader = request.app.state.reader
    if not await reader.claimed_order(caller.actor, order_id):
        return None
    stored = await _views(request).order(OrderScope(everything=True), order_id)
    if stored is None:
        return Arrival()
    if stored.status == "sync_failed" and stored.orderer_contact_id is None:
        # The processor refused it: the view of a refused submit names no orderer (projector).
        return Arrival(refused=stored.sync_failure_reason or "the order was refused")
    return None  # stored, yet not visible to the caller now (its account changed): not found


async def caller_account(request: HTTPConnection, caller: Caller) -> AccountView:
    """A Customer representative's customer account with the contacts who can order for it."""
    if not caller.is_customer_representative:
        raise Problem(403, "only a Customer representative has an account view")
    company, account_number = await caller_record(request, caller)
    views = _views(request)
    account = await views.account(company, account_number) if company and account_number else None
    if account is None:
        raise Problem(404, "your contact record names no known customer account")
    return account
