"""The write model brought up to date with many events at once, for bulk loads (initial sync).

The upserts of `projector.apply_event` (accounts, products, prices, contacts), one statement per
table instead of one per event: an upsert sets every column of its row, so of several events
for one row only the last one's values remain, as when they are applied one by one. Other
events go through `apply_event` itself, in order. A test holds the two to the same result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.cds import Account, Contact, Product, ProductPriceLevel
from contracts.envelope import Message
from contracts.events import (
    ContactUpserted,
    CustomerAccountUpserted,
    PriceListPriceUpserted,
    ProductUpserted,
)
from sync_service.db.schema import contacts, customer_accounts, price_list_prices, products
from sync_service.eventstore import NewEvent
from sync_service.writemodel.projector import apply_event, contact_row

__all__ = ["apply_events"]

_Row = tuple[dict[str, Any], dict[str, Any]]  # (key columns, other columns)


def _contact(version: int, event: NewEvent, message: Message | None) -> _Row:
    if isinstance(message, ContactUpserted):
        contact = message.contact
    else:
        contact = Contact.model_validate(event.payload["contact"])
    return {"contact_id": contact.contact_id}, contact_row(contact, version)


def _account(_version: int, event: NewEvent, message: Message | None) -> _Row:
    if isinstance(message, CustomerAccountUpserted):
        account = message.account
    else:
        account = Account.model_validate(event.payload["account"])
    keys = {"company": account.company or event.company, "account_number": account.account_number}
    return keys, {
        "name": account.name,
        "price_list": account.price_list,
        "currency": account.currency,
        "language": account.language,
        "record": dict(event.payload["account"]),
    }


def _product(_version: int, event: NewEvent, message: Message | None) -> _Row:
    if isinstance(message, ProductUpserted):
        product = message.product
    else:
        product = Product.model_validate(event.payload["product"])
    keys = {"company": product.company or event.company, "product_number": product.product_number}
    record = dict(event.payload["product"])
    return keys, {
        "name": product.name,
        "default_unit": product.default_unit,
        "units": record.get("msdyn_units", []),
        "list_price": product.price,
        "record": record,
    }


def _price(_version: int, event: NewEvent, message: Message | None) -> _Row:
    if isinstance(message, PriceListPriceUpserted):
        price = message.price
    else:
        price = ProductPriceLevel.model_validate(event.payload["price"])
    keys = {
        "company": price.company or event.company,
        "price_list": price.price_list,
        "product_number": price.product_number,
        "unit": price.unit,
    }
    return keys, {"amount": price.amount, "currency": price.currency}


_ROWS: Final[Mapping[str, tuple[Table, Callable[[int, NewEvent, Message | None], _Row]]]] = {
    "ContactUpserted": (contacts, _contact),
    "CustomerAccountUpserted": (customer_accounts, _account),
    "ProductUpserted": (products, _product),
    "PriceListPriceUpserted": (price_list_prices, _price),
}


async def apply_events(
    connection: AsyncConnection,
    events: Sequence[tuple[str, int, NewEvent]],
    messages: Sequence[Message | None] | None = None,
) -> None:
    """Bring the write model up to date with `events`: (stream, version, event), in order.

    `messages`, when given, are the events as decided (the pydantic models their payloads were
    dumped from), which spares validating each payload again.
    """
    pending: dict[Table, dict[tuple[Any, ...], dict[str, Any]]] = {}
    models = messages if messages is not None else [None] * len(events)
    for (stream_id, version, event), message in zip(events, models, strict=True):
        upsert = _ROWS.get(event.event_type)
        if upsert is None:
            await apply_event(connection, stream_id, version, event)
            continue
        table, row_of = upsert
        keys, values = row_of(version, event, message)
        rows = pending.setdefault(table, {})
        key = tuple(keys.values())
        rows.pop(key, None)  # the last event's row, in its own place in the order
        rows[key] = {**keys, **values}
    for table, rows in pending.items():
        await _upsert_many(connection, table, list(rows.values()))


async def _upsert_many(
    connection: AsyncConnection, table: Table, rows: Sequence[dict[str, Any]]
) -> None:
    statement = insert(table)
    keys = [column.name for column in table.primary_key.columns]
    values = {name: statement.excluded[name] for name in rows[0] if name not in keys}
    await connection.execute(
        statement.on_conflict_do_update(index_elements=keys, set_=values), list(rows)
    )
