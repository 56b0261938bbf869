"""The order rules: every auto-filled field, and every refusal naming its field, all at once."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from contracts.cds import Account, Contact, Product, ProductUnit, SalesOrder
from contracts.commands import SubmitOrder
from contracts.errors import FieldError
from sync_service.domain.catalog import Catalog
from sync_service.domain.orders import build_sales_order, ordering_customer
from sync_service.domain.roles import Caller

JANE = uuid.UUID("00000000-0000-4000-8000-00000000a003")
ORDER = uuid.UUID("11111111-1111-4111-8111-111111111111")
JANE_CALLER = Caller.contact(JANE, ["authorized_user"])
ADMIN = Caller.bootstrap_admin()


def contact(**changes: Any) -> Contact:
    fields: dict[str, Any] = {
        "contact_id": JANE,
        "company": "usmf",
        "account_number": "US-001",
        "price_list": "PL-US-001",
        "currency": "USD",
        "ship_to_country": "US",
        "language": "en-us",
        "web_roles": ["authorized_user"],
    }
    fields.update(changes)
    return Contact.model_validate(fields)


def account(**changes: Any) -> Account:
    fields: dict[str, Any] = {
        "account_number": "US-002",
        "name": "Fabrikam Supply",
        "currency": "USD",
        "price_list": "PL-US-002",
        "language": "en-gb",
        "address_country": "CA",
        "company": "usmf",
    }
    fields.update(changes)
    return Account.model_validate(fields)


CATALOG = Catalog(
    products={
        "P-1000": Product(
            product_number="P-1000",
            default_unit="ea",
            units=[
                ProductUnit(symbol="ea", factor=Decimal(1)),
                ProductUnit(symbol="box", factor=Decimal(12)),
            ],
            price=Decimal("10.00"),
        ),
        "P-1003": Product(product_number="P-1003", default_unit="ea", price=None),
        "P-1005": Product(
            product_number="P-1005",
            default_unit="ea",
            units=[
                ProductUnit(symbol="ea", factor=Decimal(1)),
                ProductUnit(symbol="box", factor=Decimal(12)),
            ],
            price=Decimal("3.00"),
        ),
    },
    prices={
        ("PL-US-001", "P-1000", "ea"): Decimal("9.00"),
        ("PL-US-001", "P-1000", "box"): Decimal("100.00"),
        ("PL-US-002", "P-1000", "ea"): Decimal("9.50"),
    },
)


def command(**changes: Any) -> SubmitOrder:
    fields: dict[str, Any] = {
        "command_id": uuid.uuid4(),
        "issued_by": str(JANE),
        "order_id": ORDER,
        "contact_id": JANE,
        "requested_receipt_date": date(2025, 4, 1),
        "delivery_address": {"street": "1 Main St", "city": "Redmond", "postal_code": "98052"},
        "requisition_number": "REQ-7",
        "lines": [
            {"product_number": "P-1000", "quantity": "3", "unit": "ea"},
            {"product_number": "P-1000", "quantity": "2", "unit": "box"},
        ],
    }
    fields.update(changes)
    return SubmitOrder.model_validate(fields)


def test_an_authorized_users_order_is_filled_from_the_contact_record() -> None:
    order = build_sales_order(command(), JANE_CALLER, contact(), None, CATALOG)

    assert isinstance(order, SalesOrder)
    header = order.model_dump(by_alias=False, exclude={"lines"})
    assert header == {
        "sales_order_id": ORDER,
        "sales_order_number": None,
        "name": "sales order",
        "customer_account": "US-001",
        "invoice_account": "US-001",
        "contact_person_id": str(JANE),
        "currency": "USD",
        "price_list": "PL-US-001",
        "language": "en-us",
        "ship_to_country": "US",
        "delivery_address_description": "delivery address description",
        "ship_to_street": "1 Main St",
        "ship_to_city": "Redmond",
        "ship_to_postal_code": "98052",
        "requested_receipt_date": date(2025, 4, 1),
        "requisition_number": "REQ-7",
        "processing_status": "pending",
        "total_amount": Decimal("227.00"),
        "company": "usmf",
    }
    assert [line.model_dump(by_alias=False) for line in order.lines] == [
        {
            "sequence_number": 1,
            "product_number": "P-1000",
            "quantity": Decimal(3),
            "unit": "ea",
            "price_per_unit": Decimal("9.00"),
            "extended_amount": Decimal("27.00"),
            "ship_to_country": "US",
            "delivery_address_description": "delivery address description",
            "requested_receipt_date": date(2025, 4, 1),
        },
        {
            "sequence_number": 2,
            "product_number": "P-1000",
            "quantity": Decimal(2),
            "unit": "box",
            "price_per_unit": Decimal("100.00"),
            "extended_amount": Decimal("200.00"),
            "ship_to_country": "US",
            "delivery_address_description": "delivery address description",
            "requested_receipt_date": date(2025, 4, 1),
        },
    ]


def test_the_contact_person_is_the_scm_number_once_scm_has_given_one() -> None:
    order = build_sales_order(
        command(), JANE_CALLER, contact(contact_person_id="CP-42"), None, CATALOG
    )
    assert isinstance(order, SalesOrder) and order.contact_person_id == "CP-42"


def test_language_falls_back_to_the_account_then_en_us() -> None:
    from_account = build_sales_order(
        command(), JANE_CALLER, contact(language=None), account(), CATALOG
    )
    default = build_sales_order(command(), JANE_CALLER, contact(language=None), None, CATALOG)
    assert isinstance(from_account, SalesOrder) and from_account.language == "en-gb"
    assert isinstance(default, SalesOrder) and default.language == "en-us"


def test_the_list_price_times_the_unit_factor_stands_in_when_the_price_list_has_none() -> None:
    lines = [{"product_number": "P-1005", "quantity": "2", "unit": "box"}]
    order = build_sales_order(command(lines=lines), JANE_CALLER, contact(), None, CATALOG)
    assert isinstance(order, SalesOrder)
    assert order.lines[0].price_per_unit == Decimal("36.00")
    assert order.lines[0].extended_amount == Decimal("72.00")


def test_an_admin_orders_for_another_customer_from_its_account_record() -> None:
    cmd = command(issued_by="admin", company="USMF", customer_account="US-002")
    assert ordering_customer(cmd, ADMIN, None).account_number == "US-002"

    order = build_sales_order(cmd, ADMIN, None, account(), CATALOG)

    assert isinstance(order, SalesOrder)
    assert (order.company, order.customer_account, order.invoice_account) == (
        "usmf",
        "US-002",
        "US-002",
    )
    assert (order.price_list, order.currency, order.language) == ("PL-US-002", "USD", "en-gb")
    assert order.ship_to_country == "CA"  # the account's address, as none was given
    assert order.contact_person_id is None
    assert order.lines[0].price_per_unit == Decimal("9.50")


def test_an_admin_may_set_the_ship_to_country() -> None:
    cmd = command(
        issued_by="admin", company="usmf", customer_account="US-002", ship_to_country="MX"
    )
    order = build_sales_order(cmd, ADMIN, None, account(), CATALOG)
    assert isinstance(order, SalesOrder)
    assert order.ship_to_country == "MX" and order.lines[0].ship_to_country == "MX"


def _fields(result: SalesOrder | list[FieldError]) -> list[str]:
    assert isinstance(result, list), "expected a refusal"
    return [error.field for error in result]


REFUSALS = [
    ("non-admin company", {"company": "usmf"}, {}, ["company"]),
    ("non-admin customer account", {"customer_account": "US-002"}, {}, ["customer_account"]),
    ("non-admin ship-to", {"ship_to_country": "CA"}, {}, ["ship_to_country"]),
    ("no company", {}, {"company": None}, ["contact.company"]),
    ("no potential customer", {}, {"account_number": None}, ["contact.account_number"]),
    ("no price list", {}, {"price_list": None}, ["contact.price_list"]),
    ("no currency", {}, {"currency": None}, ["contact.currency"]),
    ("no ship-to", {}, {"ship_to_country": None}, ["contact.ship_to_country"]),
    ("no lines", {"lines": []}, {}, ["lines"]),
    (
        "unknown product",
        {"lines": [{"product_number": "P-9", "quantity": "1", "unit": "ea"}]},
        {},
        ["lines[0].product_number"],
    ),
    (
        "unit not sold",
        {"lines": [{"product_number": "P-1000", "quantity": "1", "unit": "kgs"}]},
        {},
        ["lines[0].unit"],
    ),
    (
        "no price anywhere",
        {"lines": [{"product_number": "P-1003", "quantity": "1", "unit": "ea"}]},
        {},
        ["lines[0].product_number"],
    ),
]


@pytest.mark.parametrize(
    ("request_changes", "contact_changes", "fields"),
    [case[1:] for case in REFUSALS],
    ids=[case[0] for case in REFUSALS],
)
def test_each_rule_refuses_naming_its_field(
    request_changes: dict[str, Any], contact_changes: dict[str, Any], fields: list[str]
) -> None:
    result = build_sales_order(
        command(**request_changes), JANE_CALLER, contact(**contact_changes), None, CATALOG
    )
    assert _fields(result) == fields


def test_a_quantity_that_is_not_positive_is_refused_naming_the_line() -> None:
    # The contract refuses it on the wire too; the rule holds for a model built in code.
    cmd = command().model_copy(
        update={
            "lines": [command().lines[0], command().lines[1].model_copy(update={"quantity": 0})]
        }
    )
    assert _fields(build_sales_order(cmd, JANE_CALLER, contact(), None, CATALOG)) == [
        "lines[1].quantity"
    ]


def test_every_problem_is_reported_at_once() -> None:
    cmd = command(
        company="usmf",
        ship_to_country="CA",
        lines=[
            {"product_number": "P-1000", "quantity": "1", "unit": "ea"},
            {"product_number": "P-9", "quantity": "1", "unit": "ea"},
            {"product_number": "P-1000", "quantity": "1", "unit": "kgs"},
        ],
    )
    result = build_sales_order(
        cmd, JANE_CALLER, contact(currency=None, ship_to_country=None), None, CATALOG
    )
    assert _fields(result) == [
        "company",
        "ship_to_country",
        "contact.currency",
        "contact.ship_to_country",
        "lines[1].product_number",
        "lines[2].unit",
    ]


def test_a_caller_without_a_role_may_not_order() -> None:
    may = Caller.contact(JANE, [])
    assert _fields(build_sales_order(command(), may, contact(), None, CATALOG)) == ["issued_by"]


def test_an_admin_for_an_unknown_account_or_without_one_is_refused() -> None:
    unknown = command(issued_by="admin", company="usmf", customer_account="US-404")
    assert _fields(build_sales_order(unknown, ADMIN, None, None, CATALOG)) == [
        "customer_account",
        "ship_to_country",
    ]
    nothing = command(issued_by="admin")
    assert _fields(build_sales_order(nothing, ADMIN, None, None, Catalog())) == [
        "company",
        "customer_account",
        "ship_to_country",
    ]
    no_prices = command(issued_by="admin", company="usmf", customer_account="US-002")
    bare = account(price_list=None, currency=None)
    assert _fields(build_sales_order(no_prices, ADMIN, None, bare, CATALOG)) == [
        "customer_account.price_list",
        "customer_account.currency",
    ]
