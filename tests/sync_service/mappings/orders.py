"""Portal orders and events for the mapping tests, on the demo data set."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from contracts.cds import Product, SalesOrder, SalesOrderDetail
from contracts.envelope import Envelope, Message, envelope
from contracts.events import OrderSubmitted, ProductUpserted
from contracts.values import Origin
from sync_service.demo_data import JANE_CONTACT_ID

__all__ = ["order_event", "portal_order", "product_without_site"]


def portal_order(*product_numbers: str, **changes: Any) -> SalesOrder:
    """Jane's order of 3 ea of each product (P-1000 and P-1001 unless told otherwise)."""
    lines = [
        SalesOrderDetail(
            sequence_number=index + 1,
            product_number=number,
            quantity=Decimal(3),
            unit="ea",
            price_per_unit=Decimal("9.00"),
            extended_amount=Decimal("27.00"),
            ship_to_country="US",
            delivery_address_description="delivery address description",
            requested_receipt_date=date(2026, 12, 15),
        )
        for index, number in enumerate(product_numbers or ("P-1000", "P-1001"))
    ]
    fields: dict[str, Any] = {
        "sales_order_id": uuid.uuid4(),
        "name": "sales order",
        "customer_account": "US-001",
        "invoice_account": "US-001",
        "contact_person_id": str(JANE_CONTACT_ID),
        "currency": "USD",
        "price_list": "PL-US-001",
        "language": "en-us",
        "ship_to_country": "US",
        "delivery_address_description": "delivery address description",
        "ship_to_street": "1 Main St",
        "requested_receipt_date": date(2026, 12, 15),
        "processing_status": "pending",
        "company": "usmf",
        "lines": lines,
    }
    fields.update(changes)
    return SalesOrder.model_validate(fields)


def order_event(order: SalesOrder, origin: Origin = "portal") -> Envelope[Message]:
    """OrderSubmitted of `order`, as the command processor appends it."""
    event = OrderSubmitted(order=order, submitted_by=str(JANE_CONTACT_ID))
    return envelope(event, origin=origin, company="usmf")


def product_without_site(number: str = "P-9000", **changes: Any) -> Envelope[Message]:
    """A released product that SCM has not given a default site and warehouse yet."""
    product = Product(
        product_number=number, name="Crate", default_unit="ea", units=[],
        price=Decimal("4.00"), company="usmf", **changes,
    )  # fmt: skip
    return envelope(ProductUpserted(product=product), origin="scm", company="usmf")
