"""The caller's order views and account (SPEC §3, §7), filtered by the caller's web role now."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from contracts.bounds import IsoDate
from contracts.errors import FieldError
from contracts.values import OrderSyncStatus
from portal_api.auth import SignedInCaller
from portal_api.openapi import NEEDS_STORE, SIGNED_IN, WITH_PARAMETERS, problem_answers
from portal_api.problems import Problem
from portal_api.schemas import CURSOR_PATTERN
from sync_service.domain.roles import Caller
from sync_service.domain.visibility import OrderScope, order_scope
from sync_service.projections.queries import OrderFilter, OrderView, SortKey
from sync_service.projections.reader import PostgresOrderViews
from sync_service.writemodel.base import WriteModelReader

__all__ = ["MAX_LIMIT", "router"]

router = APIRouter(tags=["order views"], responses=NEEDS_STORE)

MAX_LIMIT = 200


class Orderer(BaseModel):
    """Who placed an order."""

    contact_id: UUID | None
    name: str | None


class OrderLineOut(BaseModel):
    """A line with its estimated net amount (price times quantity)."""

    line_number: int
    product_number: str | None
    quantity: Decimal | None
    unit: str | None
    price: Decimal | None
    amount: Decimal | None


class OrderOut(BaseModel):
    """An order as the portal shows it."""

    order_id: UUID
    status: str
    sales_order_number: str | None
    company: str | None
    customer_account: str | None
    orderer: Orderer | None
    origin: str
    requested_receipt_date: date | None
    currency: str | None
    total: Decimal | None
    sync_failure_reason: str | None
    submitted_at: datetime
    updated_at: datetime
    lines: list[OrderLineOut]


class OrderPage(BaseModel):
    """One page of orders; `next_cursor` fetches the next (null on the last page)."""

    items: list[OrderOut]
    next_cursor: str | None


class AccountContact(BaseModel):
    """A contact who can order for the account."""

    contact_id: UUID
    firstname: str | None
    lastname: str | None
    email: str | None
    web_roles: list[str]


class AccountOut(BaseModel):
    """The representative's customer account and its ordering contacts."""

    company: str
    account_number: str
    name: str | None
    currency: str | None
    price_list: str | None
    contacts: list[AccountContact]


def _out(view: OrderView) -> OrderOut:
    fields = asdict(view)
    orderer = None
    if view.orderer_contact_id is not None:
        orderer = Orderer(contact_id=view.orderer_contact_id, name=view.orderer_name)
    return OrderOut(**fields, orderer=orderer, total=view.total_amount)


async def _record(request: Request, caller: Caller) -> tuple[str | None, str | None]:
    """The caller's company and account number as its contact record says now."""
    if caller.contact_id is None:
        return None, None
    reader: WriteModelReader = request.app.state.reader
    contact = await reader.contact(caller.contact_id)
    return (contact.company, contact.account_number) if contact else (None, None)


async def _scope(request: Request, caller: Caller) -> OrderScope:
    return order_scope(caller, *await _record(request, caller))


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


@router.get("/orders", response_model=OrderPage, responses={**SIGNED_IN, **WITH_PARAMETERS})
async def list_orders(
    caller: SignedInCaller,
    request: Request,
    status: Annotated[list[OrderSyncStatus] | None, Query(description="one or more")] = None,
    submitted_from: IsoDate | None = None,
    submitted_to: IsoDate | None = None,
    receipt_from: IsoDate | None = None,
    receipt_to: IsoDate | None = None,
    sort: SortKey = "-submitted_at",
    cursor: Annotated[str | None, Query(max_length=500, pattern=CURSOR_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> OrderPage:
    """The orders the caller's web role lets it see, newest first unless sorted otherwise."""
    views: PostgresOrderViews = request.app.state.order_views
    filters = OrderFilter(
        statuses=tuple(status or ()),
        submitted_from=submitted_from,
        submitted_to=submitted_to,
        receipt_from=receipt_from,
        receipt_to=receipt_to,
    )
    after = _decode_cursor(cursor, sort) if cursor else None
    page, following = await views.list_orders(
        await _scope(request, caller), filters=filters, sort=sort, after=after, limit=limit
    )
    return OrderPage(
        items=[_out(view) for view in page],
        next_cursor=_encode_cursor(sort, following) if following else None,
    )


@router.get(
    "/orders/{order_id}",
    response_model=OrderOut,
    responses={**SIGNED_IN, **problem_answers(404), **WITH_PARAMETERS},
)
async def get_order(order_id: UUID, caller: SignedInCaller, request: Request) -> OrderOut:
    """One order; 404 both when it does not exist and when the caller may not see it."""
    views: PostgresOrderViews = request.app.state.order_views
    view = await views.order(await _scope(request, caller), order_id)
    if view is None:
        raise Problem(404, "no such order")
    return _out(view)


@router.get("/account", response_model=AccountOut, responses={**SIGNED_IN, **problem_answers(404)})
async def get_account(caller: SignedInCaller, request: Request) -> AccountOut:
    """A Customer representative's customer account and the contacts who can order for it."""
    if not caller.is_customer_representative:
        raise Problem(403, "only a Customer representative has an account view")
    company, account_number = await _record(request, caller)
    views: PostgresOrderViews = request.app.state.order_views
    account = await views.account(company, account_number) if company and account_number else None
    if account is None:
        raise Problem(404, "your contact record names no known customer account")
    return AccountOut(
        company=account.company,
        account_number=account.account_number,
        name=account.name,
        currency=account.currency,
        price_list=account.price_list,
        contacts=[AccountContact(**contact) for contact in account.contacts],
    )
