"""The wizard's three pages: what each step shows, read through the API's own functions."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Final

from fastapi.responses import HTMLResponse
from starlette.requests import Request

from contracts.cds import Contact, SalesOrder
from contracts.errors import FieldError
from portal_api.catalog import products_for_caller
from portal_api.ordering import preview_order
from portal_api.problems import Problem
from portal_api.schemas import ProductView
from portal_web.pages.order_draft import INFORMATION_FIELDS, Draft, DraftLine, order_body
from portal_web.templating import render
from portal_web.visitor import Visitor
from sync_service.writemodel.base import WriteModelReader

__all__ = ["information_page", "items_page", "money", "review_page"]

_LINE_FIELD: Final = re.compile(r"^lines\[(\d+)\](?:\.(\w+))?")
_CENT: Final = Decimal("0.01")


def unit_prices(product: ProductView) -> str:
    """The product's units and prices for the page's script: {"ea": "9.00", "box": ""}."""
    return json.dumps({u.unit: "" if u.price is None else str(u.price) for u in product.units})


def money(amount: Decimal | None) -> str:
    """An estimated amount as shown: two places (the script rounds the same way)."""
    return "" if amount is None else f"{amount.quantize(_CENT, rounding=ROUND_HALF_UP):,}"


@dataclass(slots=True)
class Row:
    """One item of the draft as the pages show it, with its estimated net amount."""

    index: int
    line: DraftLine
    name: str | None
    price: Decimal | None
    amount: Decimal | None
    errors: dict[str, str] = field(default_factory=dict)
    """Column (product_number, quantity, unit) -> the API's message."""


@dataclass(slots=True)
class Catalog:
    """The products the visitor may order, priced on the price list the order will use."""

    products: list[ProductView]
    currency: str | None
    problem: str | None = None

    def price(self, product_number: str, unit: str) -> Decimal | None:
        """The price of one `unit` of the product, if the catalog has one."""
        for product in self.products:
            if product.product_number == product_number:
                return next((u.price for u in product.units if u.unit == unit), None)
        return None

    def name(self, product_number: str) -> str | None:
        """The product's name, if the catalog has the product."""
        return next((p.name for p in self.products if p.product_number == product_number), None)


def _reader(request: Request) -> WriteModelReader:
    reader: WriteModelReader = request.app.state.reader
    return reader


async def _contact(request: Request, visitor: Visitor) -> Contact | None:
    contact_id = visitor.caller.contact_id
    return await _reader(request).contact(contact_id) if contact_id else None


async def _catalog(request: Request, visitor: Visitor, draft: Draft) -> Catalog:
    """`GET /products` for the customer the order is for (an Administrator's pick included)."""
    reader = _reader(request)
    company = price_list = currency = None
    if visitor.caller.is_admin and draft.company:
        company = draft.company
        account = None
        if draft.customer_account:
            account = await reader.customer_account(draft.company, draft.customer_account)
        price_list, currency = (account.price_list, account.currency) if account else (None, None)
    try:
        products = await products_for_caller(reader, visitor.caller, company, price_list)
    except Problem as refused:
        return Catalog([], None, problem=refused.detail)
    return Catalog(products, currency or next((p.currency for p in products), None))


def _rows(draft: Draft, catalog: Catalog, problems: list[FieldError]) -> list[Row]:
    rows = []
    for index, line in enumerate(draft.lines):
        price = catalog.price(line.product_number, line.unit)
        try:
            amount = None if price is None else price * Decimal(line.quantity)
        except InvalidOperation:
            amount = None
        rows.append(Row(index, line, catalog.name(line.product_number), price, amount))
    for problem in problems:
        found = _LINE_FIELD.match(problem.field)
        if found and int(found[1]) < len(rows):
            column = found[2] or "product_number"
            errors = rows[int(found[1])].errors
            errors[column] = (
                f"{errors[column]}; {problem.message}" if column in errors else problem.message
            )
    return rows


def _by_form_field(problems: list[FieldError]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for problem in problems:
        name = INFORMATION_FIELDS.get(problem.field, problem.field)
        errors[name] = f"{errors[name]}; {problem.message}" if name in errors else problem.message
    return errors


async def information_page(
    request: Request,
    visitor: Visitor,
    draft: Draft,
    problems: list[FieldError],
    *,
    status: int = 200,
) -> HTMLResponse:
    """Step 1: date, delivery address, requisition number; company and ship-to locked unless
    the visitor is an Administrator, who picks the company and customer account."""
    contact = await _contact(request, visitor)
    accounts = await _reader(request).customer_accounts() if visitor.caller.is_admin else []
    companies = sorted({a.company for a in accounts if a.company})
    return render(
        request,
        visitor,
        "wizard/information.html",
        status=status,
        title="Create order: Order information",
        step="information",
        draft=draft,
        contact=contact,
        accounts=accounts,
        companies=companies,
        errors=_by_form_field(problems),
    )


async def items_page(
    request: Request,
    visitor: Visitor,
    draft: Draft,
    problems: list[FieldError],
    *,
    status: int = 200,
    editing: int | None = None,
    acted: bool = False,
) -> HTMLResponse:
    """Step 2: the items with their estimated net amounts and total; the item editor.
    `acted`: shown after an item was added, changed or removed (the script puts the focus back)."""
    catalog = await _catalog(request, visitor, draft)
    rows = _rows(draft, catalog, problems)
    units = sorted({unit.unit for product in catalog.products for unit in product.units})
    return render(
        request,
        visitor,
        "wizard/items.html",
        status=status,
        title="Create order: Items",
        step="items",
        draft=draft,
        catalog=catalog,
        rows=rows,
        total=sum((row.amount for row in rows if row.amount is not None), Decimal(0)),
        units=units,
        editing=editing,
        acted=acted,
        editor=draft.lines[editing] if editing is not None else DraftLine(),
        general=[p.message for p in problems if p.field == "lines"],
        money=money,
        unit_prices=unit_prices,
    )


def _filled_in(
    visitor: Visitor, order: SalesOrder | None, contact: Contact | None
) -> list[tuple[str, str | None]]:
    """The values the order takes from the contact record (or, for an Administrator's pick,
    from the customer account): the built order's when it builds, else the contact's own."""
    person = visitor.name or "Administrator (bootstrap)"
    if order is not None:
        values: list[str | None] = [
            order.company, order.customer_account, order.invoice_account,
            person,
            order.language, order.currency, order.price_list, order.ship_to_country,
            order.name, order.delivery_address_description,
        ]  # fmt: skip
    elif contact is not None and not visitor.caller.is_admin:
        values = [
            contact.company, contact.account_number, contact.account_number, person,
            contact.language, contact.currency, contact.price_list, contact.ship_to_country,
        ]  # fmt: skip
        values = [value or "Not set" for value in values] + [None, None]
    else:
        values = [None] * 10
    labels = [
        "Company", "Potential customer", "Invoice customer", "Contact person", "Language",
        "Currency", "Price list", "Ship to country/region", "Sales order name",
        "Delivery address description",
    ]  # fmt: skip
    return list(zip(labels, values, strict=True))


def _where(field_name: str) -> str:
    """Which part of the order a problem is about, in words, for the review's list."""
    found = _LINE_FIELD.match(field_name)
    if found:
        column = (found[2] or "product").replace("_number", "").replace("_", " ")
        return f"Item {int(found[1]) + 1}, {column}"
    return field_name.replace("delivery_address.", "").replace("_", " ").capitalize()


async def review_page(
    request: Request,
    visitor: Visitor,
    draft: Draft,
    *,
    notice: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    """Step 3: everything entered, everything filled in, and what would refuse the order."""
    body = order_body(draft, visitor.caller)
    if isinstance(body, list):
        built: SalesOrder | list[FieldError] = body
    else:
        built = await preview_order(_reader(request), visitor.caller, body)
    order = built if isinstance(built, SalesOrder) else None
    problems = built if isinstance(built, list) else []
    catalog = await _catalog(request, visitor, draft)
    rows = _rows(draft, catalog, [])
    if order is not None:  # the processor's own prices and amounts
        for row, line in zip(rows, order.lines, strict=False):
            row.price, row.amount = line.price_per_unit, line.extended_amount
    contact = await _contact(request, visitor)
    if order is not None:
        company, ship_to = order.company, order.ship_to_country
    elif visitor.caller.is_admin:
        company, ship_to = draft.company or None, draft.ship_to_country or None
    else:
        company = contact.company if contact else None
        ship_to = contact.ship_to_country if contact else None
    return render(
        request,
        visitor,
        "wizard/review.html",
        status=status,
        title="Create order: Review and submit",
        step="review",
        draft=draft,
        rows=rows,
        currency=order.currency if order else catalog.currency,
        total=sum((row.amount for row in rows if row.amount is not None), Decimal(0)),
        filled_in=_filled_in(visitor, order, contact),
        company=company,
        ship_to=ship_to,
        missing=[p.message for p in problems if p.field.startswith("contact.")],
        others=[
            (_where(p.field), p.message) for p in problems if not p.field.startswith("contact.")
        ],
        notice=notice,
        money=money,
    )
