"""A rebuild's bulk replay: the whole store folded in memory into the read models' final rows.

Replaying event by event (projector.apply_in_order) costs a few statements per event. A rebuild
starts from empty tables and replays every stream from its first event, so it may as well fold
the events in position order into the rows they leave behind and write each table once, with
COPY. The fold does in memory what the projector's statements do, event type by event type
(an upsert replaces a row, a status change updates the order row if there is one, a rejection
inserts one only if there is none); a test holds it to the projector's result on a random store.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Final
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.events import (
    CommandRejected,
    ContactUpserted,
    CustomerAccountUpserted,
    OrderSubmitted,
    OrderSyncStatusChanged,
)
from sync_service.projections.projector import orderer_of
from sync_service.projections.tables import ReadModelTables
from sync_service.streams import ORDER, aggregate_id

__all__ = ["BulkReplay", "LastEvent", "bulk_replay"]

_PAGE: Final = 5_000
"""Events per read: positions are dense, so a page is a range of them.

Two pages are held (one folded, the next being read) with their payloads' text: 5,000 keep that
to a few MB, and reading ahead still hides the round trips (20,000 cost ~30 MB more, no faster).
"""
_PAYLOAD_OF: Final = (
    ContactUpserted.message_type,
    CustomerAccountUpserted.message_type,
    OrderSubmitted.message_type,
    OrderSyncStatusChanged.message_type,
    CommandRejected.message_type,
)
"""The event types that change a read model: only their payloads are read."""
# Payload only where a fold needs it: the other events just move their stream's version.
_READ: Final = """
SELECT position, stream_id, version, event_type, occurred_at, origin, company,
       CASE WHEN event_type = ANY($3::text[]) THEN payload::text END AS payload
FROM events WHERE position > $1 AND position <= $2 ORDER BY position
"""
_ORDER_COLUMNS: Final = (
    "order_id", "status", "sales_order_number", "company", "customer_account",
    "orderer_contact_id", "submitted_by", "origin", "requested_receipt_date", "currency",
    "total_amount", "sync_failure_reason", "submitted_at", "updated_at",
)  # fmt: skip
_LINE_COLUMNS: Final = (
    "order_id", "line_number", "product_number", "quantity", "unit", "price", "amount",
)  # fmt: skip
_CONTACT_COLUMNS: Final = (
    "contact_id", "firstname", "lastname", "email", "company", "account_number", "web_roles",
)  # fmt: skip
_ACCOUNT_COLUMNS: Final = ("company", "account_number", "name", "currency", "price_list")


@dataclass(frozen=True, slots=True)
class LastEvent:
    """The newest event replayed: where the replay stopped, and for the freshness row."""

    position: int
    occurred_at: datetime


@dataclass(slots=True)
class BulkReplay:
    """What a bulk replay wrote: events read, and the last of them (None: the store is empty)."""

    events: int
    last: LastEvent | None


@dataclass(slots=True)
class _Rows:
    """The read models being folded: each table's rows by key, in memory."""

    orders: dict[UUID, dict[str, Any]] = field(default_factory=dict)
    lines: dict[UUID, list[tuple[Any, ...]]] = field(default_factory=dict)
    contacts: dict[UUID, tuple[Any, ...]] = field(default_factory=dict)
    accounts: dict[tuple[str, str], tuple[Any, ...]] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Event:
    stream_id: str
    event_type: str
    occurred_at: datetime
    origin: str
    company: str
    payload: str  # JSON text: pydantic parses and validates it in one go


def _contact_upserted(rows: _Rows, event: _Event) -> None:
    contact = ContactUpserted.model_validate_json(event.payload).contact
    rows.contacts[contact.contact_id] = (
        contact.contact_id, contact.first_name, contact.last_name, contact.email,
        contact.company, contact.account_number, json.dumps(sorted(contact.web_roles)),
    )  # fmt: skip


def _account_upserted(rows: _Rows, event: _Event) -> None:
    account = CustomerAccountUpserted.model_validate_json(event.payload).account
    if not account.company or not account.account_number:
        return  # as the projector: not addressable by (company, account number)
    rows.accounts[(account.company, account.account_number)] = (
        account.company, account.account_number, account.name, account.currency,
        account.price_list,
    )  # fmt: skip


def _order_submitted(rows: _Rows, event: _Event) -> None:
    submitted = OrderSubmitted.model_validate_json(event.payload)
    order = submitted.order
    amounts = [line.extended_amount for line in order.lines if line.extended_amount is not None]
    total = order.total_amount if order.total_amount is not None else sum(amounts, Decimal(0))
    rows.orders[order.sales_order_id] = {
        "order_id": order.sales_order_id,
        "status": order.processing_status or "pending",
        "sales_order_number": order.sales_order_number,
        "company": order.company or event.company,
        "customer_account": order.customer_account,
        "orderer_contact_id": orderer_of(submitted, event.origin),
        "submitted_by": submitted.submitted_by,
        "origin": event.origin,
        "requested_receipt_date": order.requested_receipt_date,
        "currency": order.currency,
        "total_amount": total,
        "sync_failure_reason": None,
        "submitted_at": event.occurred_at,
        "updated_at": event.occurred_at,
    }
    rows.lines[order.sales_order_id] = [
        (
            order.sales_order_id,
            line.sequence_number or number,
            line.product_number,
            line.quantity,
            line.unit,
            line.price_per_unit,
            line.extended_amount,
        )
        for number, line in enumerate(order.lines, start=1)
    ]


def _order_status_changed(rows: _Rows, event: _Event) -> None:
    change = OrderSyncStatusChanged.model_validate_json(event.payload)
    order = rows.orders.get(change.salesorderid)
    if order is None:
        return  # an UPDATE of no row
    order["status"] = change.status
    if change.sales_order_number is not None:
        order["sales_order_number"] = change.sales_order_number
    order["sync_failure_reason"] = change.reason if change.status == "sync_failed" else None
    order["updated_at"] = event.occurred_at


def _command_rejected(rows: _Rows, event: _Event) -> None:
    if not event.stream_id.startswith(f"{ORDER}-"):
        return
    rejected = CommandRejected.model_validate_json(event.payload)
    order_id = UUID(aggregate_id(event.stream_id))
    if order_id in rows.orders:
        return  # ON CONFLICT DO NOTHING
    reason = "; ".join(f"{error.field}: {error.message}" for error in rejected.errors)
    rows.orders[order_id] = {
        **dict.fromkeys(_ORDER_COLUMNS),
        "order_id": order_id,
        "status": "sync_failed",
        "company": event.company,
        "origin": event.origin,
        "sync_failure_reason": reason,
        "submitted_at": event.occurred_at,
        "updated_at": event.occurred_at,
    }


_FOLD: Final[dict[str, Callable[[_Rows, _Event], None]]] = {
    ContactUpserted.message_type: _contact_upserted,
    CustomerAccountUpserted.message_type: _account_upserted,
    OrderSubmitted.message_type: _order_submitted,
    OrderSyncStatusChanged.message_type: _order_status_changed,
    CommandRejected.message_type: _command_rejected,
}


async def bulk_replay(
    connection: AsyncConnection,
    tables: ReadModelTables,
    head: int,
    progress: Callable[[int, int], None] | None = None,
) -> BulkReplay:
    """Fold every event up to position `head` into `tables`, which must be empty; in the
    connection's transaction. `progress(position, head)` after each page read."""
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    rows, count, last = _Rows(), 0, None

    async def page_after(after: int) -> list[Any]:
        return list(await driver.fetch(_READ, after, min(after + _PAGE, head), [*_PAYLOAD_OF]))

    # The next page is read while this one is folded: the server works beside Python.
    after, reading = 0, asyncio.ensure_future(page_after(0)) if head > 0 else None
    while reading is not None:
        page = await reading
        after = min(after + _PAGE, head)
        reading = asyncio.ensure_future(page_after(after)) if after < head else None
        await asyncio.sleep(0)  # let the read send its query before folding
        _fold_page(rows, page)
        count += len(page)
        if page:
            last = LastEvent(page[-1]["position"], page[-1]["occurred_at"])
        del page  # folded: its payloads need not wait for the next page
        if progress is not None:
            progress(after, head)
    await _copy(driver, tables, rows)
    return BulkReplay(count, last)


def _fold_page(rows: _Rows, page: list[Any]) -> None:
    versions, folds = rows.versions, _FOLD
    for record in page:
        stream_id = record["stream_id"]
        versions[stream_id] = record["version"]
        fold = folds.get(record["event_type"])
        if fold is not None:
            fold(rows, _Event(
                stream_id, record["event_type"], record["occurred_at"], record["origin"],
                record["company"], record["payload"],
            ))  # fmt: skip


async def _copy(driver: Any, tables: ReadModelTables, rows: _Rows) -> None:
    """COPY each table from its fold, then let the fold go: rows are streamed, never listed."""

    async def copy(
        table: Any, columns: tuple[str, ...], records: Iterable[tuple[Any, ...]]
    ) -> None:
        await driver.copy_records_to_table(
            table.name, schema_name=table.schema, columns=list(columns), records=records
        )

    if rows.orders:
        orders = (tuple(order[c] for c in _ORDER_COLUMNS) for order in rows.orders.values())
        await copy(tables.orders, _ORDER_COLUMNS, orders)
    rows.orders = {}
    if rows.lines:
        lines = (line for order_lines in rows.lines.values() for line in order_lines)
        await copy(tables.lines, _LINE_COLUMNS, lines)
    rows.lines = {}
    if rows.contacts:
        await copy(tables.contacts, _CONTACT_COLUMNS, rows.contacts.values())
    rows.contacts = {}
    if rows.accounts:
        await copy(tables.accounts, _ACCOUNT_COLUMNS, rows.accounts.values())
    rows.accounts = {}
    if rows.versions:
        await copy(tables.versions, ("stream_id", "version"), rows.versions.items())
    rows.versions = {}
