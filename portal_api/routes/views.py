"""The caller's order views and account (SPEC §3, §7), filtered by the caller's web role now."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from contracts.bounds import IsoDate
from contracts.values import OrderSyncStatus
from portal_api.auth import SignedInCaller
from portal_api.openapi import NEEDS_STORE, SIGNED_IN, WITH_PARAMETERS, problem_answers
from portal_api.order_reading import caller_account, find_order, order_page
from portal_api.schemas import CURSOR_PATTERN
from sync_service.projections.queries import OrderFilter, OrderView, SortKey

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
    filters = OrderFilter(
        statuses=tuple(status or ()),
        submitted_from=submitted_from,
        submitted_to=submitted_to,
        receipt_from=receipt_from,
        receipt_to=receipt_to,
    )
    page, next_cursor = await order_page(
        request, caller, filters=filters, sort=sort, cursor=cursor, limit=limit
    )
    return OrderPage(items=[_out(view) for view in page], next_cursor=next_cursor)


@router.get(
    "/orders/{order_id}",
    response_model=OrderOut,
    responses={**SIGNED_IN, **problem_answers(404), **WITH_PARAMETERS},
)
async def get_order(order_id: UUID, caller: SignedInCaller, request: Request) -> OrderOut:
    """One order; 404 both when it does not exist and when the caller may not see it."""
    return _out(await find_order(request, caller, order_id))


@router.get("/account", response_model=AccountOut, responses={**SIGNED_IN, **problem_answers(404)})
async def get_account(caller: SignedInCaller, request: Request) -> AccountOut:
    """A Customer representative's customer account and the contacts who can order for it."""
    account = await caller_account(request, caller)
    return AccountOut(
        company=account.company,
        account_number=account.account_number,
        name=account.name,
        currency=account.currency,
        price_list=account.price_list,
        contacts=[AccountContact(**contact) for contact in account.contacts],
    )
