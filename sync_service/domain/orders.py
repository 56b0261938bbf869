"""Submitting an order (SPEC §3, MAPPINGS.md sales order header and lines).

`build_sales_order` turns a SubmitOrder into the complete CDS sales order, every auto-filled
field set, or into the list of every problem at once; never a half-built order.

Where the values come from:
- A caller ordering for their own customer (everybody; an Administrator who sends none of
  company / customer_account): company, potential customer, price list, currency and ship-to
  from the contact record (an Administrator may still override ship_to_country). Language from
  the contact, else the customer account, else `en-us`.
- An Administrator ordering for another customer (sends company and/or customer_account, or
  is the bootstrap admin without a contact record): company and customer account from the
  request (falling back to the admin's own contact), then currency, price list and language
  from that customer account's record; ship-to from the request, else the account's address.

Line errors are named by the request's 0-based index (`lines[2].unit`), as pydantic names them.
When the company is unknown the products cannot be looked up, so only quantities are checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Context, Decimal, Inexact, InvalidOperation, Overflow
from typing import Final

from contracts.cds import Account, Contact, SalesOrder, SalesOrderDetail
from contracts.commands import SubmitOrder
from contracts.errors import FieldError
from sync_service.domain.catalog import Catalog, sales_units
from sync_service.domain.roles import Caller

__all__ = [
    "DEFAULT_DELIVERY_ADDRESS_DESCRIPTION",
    "DEFAULT_LANGUAGE",
    "DEFAULT_ORDER_NAME",
    "OrderingCustomer",
    "build_sales_order",
    "ordering_customer",
]

DEFAULT_ORDER_NAME: Final = "sales order"
DEFAULT_DELIVERY_ADDRESS_DESCRIPTION: Final = "delivery address description"
DEFAULT_LANGUAGE: Final = "en-us"
# Exact arithmetic for amounts: the contract bounds prices, quantities and lines so that an
# amount and an order total fit in 64 digits; a value that did not would raise, never round.
_AMOUNTS: Final = Context(prec=64, traps=[InvalidOperation, Overflow, Inexact])
_ADMIN_ONLY: Final = (
    ("company", "company"),
    ("customer_account", "customer account"),
    ("ship_to_country", "ship-to country/region"),
)


@dataclass(frozen=True, slots=True)
class OrderingCustomer:
    """Whose order it is: the legal entity and customer account to load and price from."""

    company: str | None
    account_number: str | None
    from_request: bool
    """True when an Administrator orders for a customer named in the request."""


def ordering_customer(
    command: SubmitOrder, caller: Caller, contact: Contact | None
) -> OrderingCustomer:
    """The company and customer account the order is for, before anything is checked."""
    own_company = contact.company if contact else None
    own_account = contact.account_number if contact else None
    if caller.is_admin and (command.company or command.customer_account or contact is None):
        return OrderingCustomer(
            command.company or own_company, command.customer_account or own_account, True
        )
    return OrderingCustomer(own_company, own_account, False)


@dataclass(frozen=True, slots=True)
class _Header:
    company: str | None
    account_number: str | None
    price_list: str | None
    currency: str | None
    ship_to_country: str | None
    language: str


def build_sales_order(
    command: SubmitOrder,
    caller: Caller,
    contact: Contact | None,
    account: Account | None,
    catalog: Catalog,
) -> SalesOrder | list[FieldError]:
    """The complete CDS sales order for `command`, or every problem that prevents it."""
    problems: list[FieldError] = []
    if not caller.may_submit_orders:
        problems.append(FieldError(field="issued_by", message="this caller may not order"))
    customer = ordering_customer(command, caller, contact)
    if customer.from_request:
        header = _header_from_account(command, customer, account, problems)
    else:
        header = _header_from_contact(command, caller, contact, account, problems)
    lines = _lines(command, header, catalog, problems)
    if problems:
        return problems
    return SalesOrder(
        sales_order_id=command.order_id,
        name=DEFAULT_ORDER_NAME,
        company=header.company,
        customer_account=header.account_number,
        invoice_account=header.account_number,
        contact_person_id=_contact_person(contact),
        currency=header.currency,
        price_list=header.price_list,
        language=header.language,
        ship_to_country=header.ship_to_country,
        delivery_address_description=DEFAULT_DELIVERY_ADDRESS_DESCRIPTION,
        ship_to_street=command.delivery_address.street,
        ship_to_city=command.delivery_address.city,
        ship_to_postal_code=command.delivery_address.postal_code,
        requested_receipt_date=command.requested_receipt_date,
        requisition_number=command.requisition_number,
        processing_status="pending",
        total_amount=_total(lines),
        lines=lines,
    )


def _header_from_contact(
    command: SubmitOrder,
    caller: Caller,
    contact: Contact | None,
    account: Account | None,
    problems: list[FieldError],
) -> _Header:
    if not caller.is_admin:
        for field, label in _ADMIN_ONLY:
            if getattr(command, field) is not None:
                message = f"only an administrator may set the {label}"
                problems.append(FieldError(field=field, message=message))
    if contact is None:
        problems.append(FieldError(field="contact_id", message="no contact record for the caller"))
        return _Header(None, None, None, None, None, DEFAULT_LANGUAGE)
    required = (
        ("company", "Company"),
        ("account_number", "Potential customer (Account Number)"),
        ("price_list", "Price list"),
        ("currency", "Currency"),
        ("ship_to_country", "Ship-to country/region"),
    )
    ship_to = command.ship_to_country if caller.is_admin else None
    for field, label in required:
        if field == "ship_to_country" and ship_to:
            continue
        if not getattr(contact, field):
            message = f"the contact record has no {label}, which an order needs"
            problems.append(FieldError(field=f"contact.{field}", message=message))
    language = contact.language or (account.language if account else None) or DEFAULT_LANGUAGE
    return _Header(
        contact.company,
        contact.account_number,
        contact.price_list,
        contact.currency,
        ship_to or contact.ship_to_country,
        language,
    )


def _header_from_account(
    command: SubmitOrder,
    customer: OrderingCustomer,
    account: Account | None,
    problems: list[FieldError],
) -> _Header:
    if not customer.company:
        problems.append(FieldError(field="company", message="give the company to order for"))
    if not customer.account_number:
        message = "give the customer account to order for"
        problems.append(FieldError(field="customer_account", message=message))
    ship_to = command.ship_to_country or (account.address_country if account else None)
    if account is None:
        if customer.company and customer.account_number:
            message = f"no customer account {customer.account_number} in {customer.company}"
            problems.append(FieldError(field="customer_account", message=message))
        if not ship_to:
            message = "give the ship-to country/region to deliver to"
            problems.append(FieldError(field="ship_to_country", message=message))
        return _Header(customer.company, customer.account_number, None, None, None, "")
    for field, label in (("price_list", "Price list"), ("currency", "Currency")):
        if not getattr(account, field):
            message = f"the customer account has no {label}, which an order needs"
            problems.append(FieldError(field=f"customer_account.{field}", message=message))
    if not ship_to:
        message = "give the ship-to country/region: the customer account has no address country"
        problems.append(FieldError(field="ship_to_country", message=message))
    return _Header(
        customer.company,
        customer.account_number,
        account.price_list,
        account.currency,
        ship_to,
        account.language or DEFAULT_LANGUAGE,
    )


def _lines(
    command: SubmitOrder, header: _Header, catalog: Catalog, problems: list[FieldError]
) -> list[SalesOrderDetail]:
    if not command.lines:
        problems.append(FieldError(field="lines", message="an order needs at least one item"))
    lines: list[SalesOrderDetail] = []
    for index, request in enumerate(command.lines):
        where = f"lines[{index}]"
        if request.quantity <= 0:
            message = "the quantity must be more than 0"
            problems.append(FieldError(field=f"{where}.quantity", message=message))
        if header.company is None:
            continue
        product = catalog.product(request.product_number)
        if product is None:
            message = f"no product {request.product_number!r} in {header.company}"
            problems.append(FieldError(field=f"{where}.product_number", message=message))
            continue
        units = sales_units(product)
        if request.unit not in units:
            message = f"{request.product_number} is not sold in {request.unit!r}"
            message += f" (units: {', '.join(sorted(units))})"
            problems.append(FieldError(field=f"{where}.unit", message=message))
            continue
        if header.price_list is None:
            continue  # the missing price list is reported once, on the header
        price = catalog.unit_price(header.price_list, request.product_number, request.unit)
        if price is None:
            message = f"{request.product_number} has no price in {request.unit!r} on "
            message += f"price list {header.price_list} and no list price"
            problems.append(FieldError(field=f"{where}.product_number", message=message))
            continue
        lines.append(
            SalesOrderDetail(
                sequence_number=index + 1,
                product_number=request.product_number,
                quantity=request.quantity,
                unit=request.unit,
                price_per_unit=price,
                extended_amount=_AMOUNTS.multiply(price, request.quantity),
                ship_to_country=header.ship_to_country,
                delivery_address_description=DEFAULT_DELIVERY_ADDRESS_DESCRIPTION,
                requested_receipt_date=command.requested_receipt_date,
            )
        )
    return lines


def _total(lines: list[SalesOrderDetail]) -> Decimal:
    total = Decimal(0)
    for line in lines:
        total = _AMOUNTS.add(total, line.extended_amount or Decimal(0))
    return total


def _contact_person(contact: Contact | None) -> str | None:
    # MAPPINGS.md: SCM numbers the contact person; until it has, the CDS contact id stands in.
    if contact is None:
        return None
    return contact.contact_person_id or str(contact.contact_id)
