"""The bulk rebuild (a fold of the store, then COPY) leaves what an event-by-event replay leaves."""

from __future__ import annotations

import random
import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.cds import Account, Contact, Product, ProductPriceLevel, SalesOrder
from contracts.envelope import Message, envelope
from contracts.errors import FieldError
from contracts.events import (
    CommandRejected,
    ContactUpserted,
    CustomerAccountUpserted,
    OrderSubmitted,
    OrderSyncStatusChanged,
    PriceListPriceUpserted,
    ProductUpserted,
)
from sync_service.eventstore.envelopes import to_new_event
from sync_service.eventstore.postgres import PostgresEventStore
from sync_service.projections.rebuild import rebuild_projections
from sync_service.projections.tables import LIVE, projection_checkpoints
from sync_service.streams import (
    account_stream,
    contact_stream,
    order_stream,
    price_stream,
    product_stream,
)

pytestmark = pytest.mark.integration

_STATUSES = ("pending", "synced", "confirmed", "shipped", "invoiced", "sync_failed", "canceled")
_ROLES = ("administrator", "customer_representative", "authorized_user")


def _maybe(rng: random.Random, value: Any) -> Any:
    return value if rng.random() < 0.8 else None


def _order(rng: random.Random, order_id: uuid.UUID, contacts: list[uuid.UUID]) -> OrderSubmitted:
    lines = [
        {
            "sequencenumber": _maybe(rng, n),
            "productid.msdyn_productnumber": f"P-{rng.randint(1, 9)}",
            "quantity": str(rng.randint(1, 20)),
            "uomid.msdyn_symbol": rng.choice(("ea", "box")),
            "priceperunit": _maybe(rng, f"{rng.randint(1, 999)}.{rng.randint(0, 99):02d}"),
            "extendedamount": _maybe(rng, f"{rng.randint(1, 9999)}.50"),
        }
        for n in range(1, rng.randint(0, 4) + 1)
    ]
    order = SalesOrder.model_validate(
        {
            "salesorderid": order_id,
            "msdyn_salesordernumber": _maybe(rng, f"SO-{rng.randint(1, 99999)}"),
            "customerid.accountnumber": _maybe(rng, f"US-{rng.randint(1, 5):03d}"),
            "msdyn_contactperson.msdyn_contactpersonid": _maybe(rng, f"CP-{rng.randint(1, 9)}"),
            "transactioncurrencyid.isocurrencycode": _maybe(rng, "USD"),
            "msdyn_requestedreceiptdate": _maybe(rng, f"2026-12-{rng.randint(1, 28):02d}"),
            "msdyn_processingstatus": _maybe(rng, rng.choice(_STATUSES)),
            "totalamount": _maybe(rng, f"{rng.randint(1, 99999)}.25"),
            "msdyn_company": _maybe(rng, rng.choice(("usmf", "demf"))),
            "lines": lines,
        }
    )
    submitter = rng.choice([*(str(c) for c in contacts), "admin", "scm", str(uuid.UUID(int=0))])
    return OrderSubmitted(order=order, submitted_by=submitter)


def _status(rng: random.Random, order_id: uuid.UUID) -> OrderSyncStatusChanged:
    status = rng.choice(_STATUSES)
    return OrderSyncStatusChanged.model_validate(
        {
            "salesorderid": order_id,
            "status": status,
            "sales_order_number": _maybe(rng, f"SO-{rng.randint(1, 99999)}"),
            "reason": _maybe(rng, f"reason {rng.randint(1, 9)}"),
        }
    )


def _rejected(rng: random.Random) -> CommandRejected:
    errors = [
        FieldError(field=f"lines[{n}].quantity", message="must be positive")
        for n in range(rng.randint(1, 2))
    ]
    return CommandRejected(command_id=uuid.uuid4(), command_type="SubmitOrder", errors=errors)


def _streams(rng: random.Random) -> list[list[tuple[str, Message]]]:
    """Random streams: each a list of (stream id, event), in stream order."""
    contacts = [uuid.uuid4() for _ in range(12)]
    streams: list[list[tuple[str, Message]]] = []
    for contact_id in contacts:
        stream = contact_stream(contact_id)
        events: list[tuple[str, Message]] = []
        for _ in range(rng.randint(1, 3)):
            contact = Contact.model_validate(
                {
                    "contactid": contact_id,
                    "firstname": _maybe(rng, rng.choice(("Jane", "Sam", "May"))),
                    "lastname": _maybe(rng, f"Doe{rng.randint(1, 9)}"),
                    "emailaddress1": _maybe(rng, f"c{rng.randint(1, 99)}@example.com"),
                    "msdyn_company": _maybe(rng, "usmf"),
                    "parentcustomerid.accountnumber": _maybe(rng, "US-001"),
                    "adx_webroles": rng.sample(_ROLES, rng.randint(0, 3)),
                }
            )
            events.append((stream, ContactUpserted(contact=contact)))
        if rng.random() < 0.2:
            events.append((stream, _rejected(rng)))  # not an order stream: no view changes
        streams.append(events)
    for n in range(8):
        number = f"US-{n:03d}" if n < 7 else None  # one account without a number: not shown
        for _ in range(rng.randint(1, 2)):
            account = Account.model_validate(
                {
                    "accountnumber": number,
                    "name": f"Customer {rng.randint(1, 99)}",
                    "transactioncurrencyid.isocurrencycode": _maybe(rng, "USD"),
                    "defaultpricelevelid.name": _maybe(rng, "PL-1"),
                    "msdyn_company": "usmf",
                }
            )
            streams.append(
                [(account_stream("usmf", number or "-"), CustomerAccountUpserted(account=account))]
            )
    for n in range(6):
        product = Product.model_validate({"msdyn_productnumber": f"P-{n}", "msdyn_company": "usmf"})
        price = ProductPriceLevel.model_validate(
            {"pricelevelid.name": "PL-1", "productid.msdyn_productnumber": f"P-{n}",
             "uomid.msdyn_symbol": "ea", "amount": "9.99", "msdyn_company": "usmf"}
        )  # fmt: skip
        streams.append([(product_stream("usmf", f"P-{n}"), ProductUpserted(product=product))])
        streams.append(
            [(price_stream("usmf", "PL-1", f"P-{n}", "ea"), PriceListPriceUpserted(price=price))]
        )
    for _ in range(40):
        order_id = uuid.uuid4()
        stream = order_stream(order_id)
        events = []
        shape = rng.random()
        if shape < 0.15:  # a refused submit: a sync_failed view row; later events change it
            events.append((stream, _rejected(rng)))
        if shape < 0.9:
            events.append((stream, _order(rng, order_id, contacts)))
        if rng.random() < 0.2:
            events.append((stream, _rejected(rng)))  # after the submit: changes nothing
        events += [(stream, _status(rng, order_id)) for _ in range(rng.randint(0, 3))]
        if events:
            streams.append(events)
    return streams


async def _random_store(store: PostgresEventStore, seed: int) -> int:
    """Append the random streams interleaved at random, each stream in its own order."""
    rng = random.Random(seed)
    pending = [list(events) for events in _streams(rng)]
    versions: dict[str, int] = {}
    appended = 0
    while pending:
        events = rng.choice(pending)
        stream, message = events.pop(0)
        if not events:
            pending.remove(events)
        origin = rng.choice(("portal", "scm"))
        new = to_new_event(envelope(message, origin=origin, company=rng.choice(("usmf", "demf"))))
        version = versions.get(stream, 0)
        await store.append(stream, stream.split("-", 1)[0], version, [new])
        versions[stream] = version + 1
        appended += 1
    return appended


async def _dump(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    async with engine.connect() as connection:
        dump = {
            table.name: [
                tuple(row)
                for row in await connection.execute(
                    select(table).order_by(*table.primary_key.columns)
                )
            ]
            for table in LIVE.all()
        }
        checkpoint = (await connection.execute(select(projection_checkpoints))).all()
    dump["checkpoint"] = [(row.name, row.last_position, row.last_event_at) for row in checkpoint]
    return dump


def _normalised(dump: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
    # Numeric columns compare by value: 0 and Decimal("0") are one amount.
    return {
        name: [
            tuple(Decimal(v) if isinstance(v, int | Decimal) else v for v in row) for row in rows
        ]
        for name, rows in dump.items()
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_a_bulk_rebuild_equals_an_event_by_event_replay(
    engine: AsyncEngine, pg_store: PostgresEventStore, seed: int
) -> None:
    appended = await _random_store(pg_store, seed)

    one_by_one = await rebuild_projections(engine, bulk=False)
    expected = await _dump(engine)
    bulk = await rebuild_projections(engine)
    actual = await _dump(engine)

    assert one_by_one.events == bulk.events == appended
    assert bulk.position == one_by_one.position == await pg_store.head_position()
    assert sum(len(rows) for rows in expected.values()) > appended // 2, "a store worth comparing"
    assert expected["order_views"] and expected["order_view_lines"], "orders with lines"
    assert any(row[1] == "sync_failed" for row in expected["order_views"])
    assert _normalised(actual) == _normalised(expected)


async def test_a_bulk_rebuild_reports_progress_and_an_empty_store_rebuilds_empty(
    engine: AsyncEngine, pg_store: PostgresEventStore
) -> None:
    report = await rebuild_projections(engine)
    assert (report.events, report.position) == (0, 0)
    assert all(not rows for name, rows in (await _dump(engine)).items() if name != "checkpoint")

    appended = await _random_store(pg_store, 7)
    seen: list[tuple[int, int]] = []
    report = await rebuild_projections(engine, progress=lambda *at: seen.append(at))
    assert report.events == appended
    head = await pg_store.head_position()
    assert seen[-1] == (head, head)
