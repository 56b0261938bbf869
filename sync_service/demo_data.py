"""The demo data set of SPEC §8, loaded as events through the normal append path.

Legal entity `usmf`, USD, ship-to US, en-us. Customer X = US-001 "Contoso Retail" (PL-US-001),
customer Y = US-002 "Fabrikam Supply" (PL-US-002). Contacts have fixed ids (below) so that
tests and the README walkthrough can name them. Six released products sell in `ea`, most also
in `box` (= 12 ea); P-1003 only in `ea`, and P-1005 has no price-list price (its list price
is used). Accounts and products come from the ERP, so their events have origin `scm`; the
contacts were created in the portal (origin `portal`).

Idempotent: each record is one stream, appended only when the stream is new, and recorded as
processed under `SEED_CONSUMER`; a second run (or two at once) changes nothing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final
from uuid import UUID

from contracts.cds import Account, Contact, Product, ProductPriceLevel, ProductUnit
from contracts.envelope import Message, envelope
from contracts.events import (
    ContactUpserted,
    CustomerAccountUpserted,
    PriceListPriceUpserted,
    ProductUpserted,
)
from contracts.values import Origin
from sync_service.eventstore import AlreadyProcessed, ConcurrencyConflict, ProcessedMessage
from sync_service.eventstore.envelopes import to_new_event
from sync_service.eventstore.postgres import PostgresEventStore
from sync_service.streams import (
    account_stream,
    contact_stream,
    price_stream,
    product_stream,
    stream_type,
)
from sync_service.writemodel.projector import apply_event

__all__ = [
    "ADMIN_CONTACT_ID",
    "COMPANY",
    "JANE_CONTACT_ID",
    "MAY_CONTACT_ID",
    "REP_CONTACT_ID",
    "SAM_CONTACT_ID",
    "SEED_CONSUMER",
    "demo_records",
    "seed_demo",
]

COMPANY: Final = "usmf"
SEED_CONSUMER: Final = "dualsync-seed-demo"
ADMIN_CONTACT_ID: Final = UUID("00000000-0000-4000-8000-00000000a001")
REP_CONTACT_ID: Final = UUID("00000000-0000-4000-8000-00000000a002")
JANE_CONTACT_ID: Final = UUID("00000000-0000-4000-8000-00000000a003")
SAM_CONTACT_ID: Final = UUID("00000000-0000-4000-8000-00000000a004")
MAY_CONTACT_ID: Final = UUID("00000000-0000-4000-8000-00000000a005")

_X = ("US-001", "Contoso Retail", "PL-US-001")
_Y = ("US-002", "Fabrikam Supply", "PL-US-002")

# (number, name, units, list price, {price list: its prices, one per unit in that order})
_PRODUCTS: Final[tuple[tuple[str, str, tuple[str, ...], str, dict[str, tuple[str, ...]]], ...]] = (
    ("P-1000", "Widget", ("ea", "box"), "10.00", {"PL-US-001": ("9.00", "100.00"),
                                                  "PL-US-002": ("9.50", "105.00")}),
    ("P-1001", "Gadget", ("ea", "box"), "25.00", {"PL-US-001": ("22.50", "250.00"),
                                                  "PL-US-002": ("23.00", "260.00")}),
    ("P-1002", "Bolt pack", ("ea", "box"), "5.00", {"PL-US-001": ("4.00", "45.00"),
                                                    "PL-US-002": ("4.20", "48.00")}),
    ("P-1003", "Cable 2 m", ("ea",), "8.00", {"PL-US-001": ("7.50",),
                                              "PL-US-002": ("7.80",)}),
    ("P-1004", "Toolkit", ("ea", "box"), "130.00", {"PL-US-001": ("120.00", "1380.00"),
                                                    "PL-US-002": ("125.00", "1400.00")}),
    ("P-1005", "Safety gloves", ("ea", "box"), "3.00", {}),
)  # fmt: skip
_FACTORS: Final = {"ea": Decimal(1), "box": Decimal(12)}


def _contact(contact_id: UUID, first: str, last: str, email: str, **fields: object) -> Contact:
    return Contact.model_validate(
        {
            "contact_id": contact_id,
            "first_name": first,
            "last_name": last,
            "email": email,
            "company": COMPANY,
            "currency": "USD",
            "ship_to_country": "US",
            "language": "en-us",
            **fields,
        }
    )


def _customer(account_number: str, name: str, price_list: str) -> dict[str, object]:
    return {"account_number": account_number, "price_list": price_list}


def demo_records() -> list[tuple[str, Origin, Message]]:
    """Every demo record as (stream id, origin, event payload), in loading order."""
    records: list[tuple[str, Origin, Message]] = []
    for number, name, price_list in (_X, _Y):
        account = Account(
            account_number=number,
            name=name,
            currency="USD",
            customer_group="10",
            language="en-us",
            price_list=price_list,
            address_country="US",
            company=COMPANY,
        )
        event = CustomerAccountUpserted(account=account)
        records.append((account_stream(COMPANY, number), "scm", event))
    for number, name, units, list_price, prices in _PRODUCTS:
        product = Product(
            product_number=number,
            name=name,
            default_unit="ea",
            units=[ProductUnit(symbol=unit, factor=_FACTORS[unit]) for unit in units],
            price=Decimal(list_price),
            default_site="1",
            default_warehouse="11",
            company=COMPANY,
        )
        records.append((product_stream(COMPANY, number), "scm", ProductUpserted(product=product)))
        for price_list, amounts in prices.items():
            for unit, amount in zip(units, amounts, strict=True):
                price = ProductPriceLevel(
                    price_list=price_list,
                    product_number=number,
                    unit=unit,
                    amount=Decimal(amount),
                    currency="USD",
                    company=COMPANY,
                )
                stream = price_stream(COMPANY, price_list, number, unit)
                records.append((stream, "scm", PriceListPriceUpserted(price=price)))
    x = _customer(*_X)
    contacts = (
        _contact(ADMIN_CONTACT_ID, "Portal", "Administrator", "admin@portal.example",
                 web_roles=["administrator"]),
        _contact(REP_CONTACT_ID, "Contoso", "Representative", "rep@x.example",
                 web_roles=["customer_representative"], **x),
        _contact(JANE_CONTACT_ID, "Jane", "Contoso", "jane@x.example",
                 web_roles=["authorized_user"], **x),
        _contact(SAM_CONTACT_ID, "Sam", "Contoso", "sam@x.example",
                 web_roles=["authorized_user"], **x),
        _contact(MAY_CONTACT_ID, "May", "Fabrikam", "may@y.example", **_customer(*_Y)),
    )  # fmt: skip
    for contact in contacts:
        upserted = ContactUpserted(contact=contact)
        records.append((contact_stream(contact.contact_id), "portal", upserted))
    return records


async def seed_demo(store: PostgresEventStore) -> int:
    """Load the demo records that are not in the store yet; return how many were appended."""
    appended = 0
    for stream_id, origin, payload in demo_records():
        event = to_new_event(envelope(payload, origin=origin, company=COMPANY))
        try:
            async with store.transaction() as unit:
                if await unit.stream_version(stream_id) > 0:
                    continue  # loaded before, or changed since: never overwrite
                await apply_event(unit.connection, stream_id, 1, event)
                await unit.append(
                    stream_id,
                    stream_type(stream_id),
                    0,
                    [event],
                    processed=ProcessedMessage(SEED_CONSUMER, stream_id),
                )
            appended += 1
        except (ConcurrencyConflict, AlreadyProcessed):
            continue  # another seeder got there first
    return appended
