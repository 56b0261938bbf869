"""How each stored event changes the read models; the one code path of live runs and rebuilds.

Idempotent and ordered per aggregate: `apply_in_order` applies an event only if it is the next
version of its stream after the one recorded in the stream-versions table, and records it in
the same transaction, so a redelivered or older event changes nothing. `apply_batch` does the
same for many events at once: one lock and one version update for all their streams.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final
from uuid import UUID

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.events import (
    CommandRejected,
    ContactUpserted,
    CustomerAccountUpserted,
    OrderSubmitted,
    OrderSyncStatusChanged,
)
from sync_service.eventstore.base import StoredEvent
from sync_service.eventstore.envelopes import to_envelope
from sync_service.projections.tables import ReadModelTables, projection_checkpoints
from sync_service.streams import ORDER, aggregate_id

__all__ = [
    "ORDERS_PROJECTION",
    "apply_batch",
    "apply_in_order",
    "lock_stream_versions",
    "orderer_of",
    "record_freshness",
    "stream_version",
]

ORDERS_PROJECTION: Final = "orders"
"""The name of the read models' checkpoint row (one projection fills every table here)."""

_Apply = Callable[[AsyncConnection, ReadModelTables, StoredEvent], Awaitable[None]]


def orderer_of(event: OrderSubmitted, origin: str) -> UUID | None:
    """Who placed an order: the submitting contact; for an ERP order, its contact person."""
    candidates = [event.submitted_by]
    if origin == "scm" and event.order.contact_person_id:
        candidates.append(event.order.contact_person_id)
    for candidate in candidates:
        try:
            contact_id = UUID(candidate)
        except ValueError:
            continue  # "admin" (the bootstrap credential) or an SCM contact person number
        if contact_id.int != 0:  # the nil id stands for "no contact"
            return contact_id
    return None


async def stream_version(connection: AsyncConnection, tables: ReadModelTables, stream: str) -> int:
    """The stream's version applied so far, locking its row until the transaction ends."""
    versions = tables.versions
    await connection.execute(
        insert(versions).values(stream_id=stream, version=0).on_conflict_do_nothing()
    )
    query = select(versions.c.version).where(versions.c.stream_id == stream).with_for_update()
    return int(await connection.scalar(query) or 0)


async def apply_in_order(
    connection: AsyncConnection, tables: ReadModelTables, event: StoredEvent
) -> bool:
    """Apply `event` if it is the next version of its stream; False when it was applied before.

    A stream seen first at a later version (its earlier events changed nothing here) is
    accepted too: gaps are the caller's to close by reading the stream from the store.
    """
    if event.version <= await stream_version(connection, tables, event.stream_id):
        return False
    apply = _APPLY.get(event.event_type)
    if apply is not None:
        await apply(connection, tables, event)
    await connection.execute(
        update(tables.versions)
        .where(tables.versions.c.stream_id == event.stream_id)
        .values(version=event.version)
    )
    return True


async def lock_stream_versions(
    connection: AsyncConnection, tables: ReadModelTables, streams: Sequence[str]
) -> dict[str, int]:
    """Each stream's applied version, its row locked until the transaction ends."""
    ordered = sorted(set(streams))
    if not ordered:
        return {}
    versions = tables.versions
    await connection.execute(
        insert(versions).on_conflict_do_nothing(),
        [{"stream_id": stream, "version": 0} for stream in ordered],
    )
    # Locked in one order (by stream id), so two workers sharing streams never deadlock.
    locked = await connection.execute(
        select(versions.c.stream_id, versions.c.version)
        .where(versions.c.stream_id.in_(ordered))
        .order_by(versions.c.stream_id)
        .with_for_update()
    )
    return {row.stream_id: int(row.version) for row in locked}


async def apply_batch(
    connection: AsyncConnection,
    tables: ReadModelTables,
    events: Sequence[StoredEvent],
    locked: dict[str, int] | None = None,
) -> list[StoredEvent]:
    """Apply, in the given order, each event that is newer than its stream's applied version;
    return those applied. `locked`: the streams' versions from `lock_stream_versions`, if the
    caller took the locks already."""
    if not events:
        return []
    versions = tables.versions
    applied_version = dict(locked) if locked is not None else {}
    missing = [e.stream_id for e in events if e.stream_id not in applied_version]
    applied_version.update(await lock_stream_versions(connection, tables, missing))
    applied: list[StoredEvent] = []
    # Submitted orders are written together; anything else first flushes them, so every
    # event still takes effect in the given order. Of one order's submits, the last one wins,
    # as when applied one by one (an upsert sets every column; the lines are replaced).
    submitted: dict[Any, _OrderRows] = {}
    for event in events:
        if event.version <= applied_version[event.stream_id]:
            continue
        if event.event_type == "OrderSubmitted":
            rows = _order_rows(event)
            submitted.pop(rows[0]["order_id"], None)
            submitted[rows[0]["order_id"]] = rows
        else:
            await _write_orders(connection, tables, list(submitted.values()))
            submitted.clear()
            apply = _APPLY.get(event.event_type)
            if apply is not None:
                await apply(connection, tables, event)
        applied_version[event.stream_id] = event.version
        applied.append(event)
    await _write_orders(connection, tables, list(submitted.values()))
    moved = sorted({event.stream_id for event in applied})
    if moved:
        await connection.execute(
            update(versions)
            .where(versions.c.stream_id == bindparam("moved_stream"))
            .values(version=bindparam("moved_version")),
            [{"moved_stream": s, "moved_version": applied_version[s]} for s in moved],
        )
    return applied


async def record_freshness(connection: AsyncConnection, event: StoredEvent) -> None:
    """Note the newest event applied (by position) and when, for the lag view of ops."""
    statement = insert(projection_checkpoints).values(
        name=ORDERS_PROJECTION,
        last_position=event.position,
        last_event_at=event.occurred_at,
        applied_at=func.now(),
    )
    current = projection_checkpoints.c
    await connection.execute(
        statement.on_conflict_do_update(
            index_elements=[current.name],
            set_={
                "last_position": func.greatest(current.last_position, event.position),
                "last_event_at": func.greatest(current.last_event_at, event.occurred_at),
                "applied_at": func.now(),
            },
        )
    )


async def _contact_upserted(
    connection: AsyncConnection, tables: ReadModelTables, event: StoredEvent
) -> None:
    payload = to_envelope(event).payload
    assert isinstance(payload, ContactUpserted)
    contact = payload.contact
    values = {
        "firstname": contact.first_name,
        "lastname": contact.last_name,
        "email": contact.email,
        "company": contact.company,
        "account_number": contact.account_number,
        "web_roles": sorted(contact.web_roles),
    }
    statement = insert(tables.contacts).values(contact_id=contact.contact_id, **values)
    await connection.execute(
        statement.on_conflict_do_update(index_elements=["contact_id"], set_=values)
    )


async def _account_upserted(
    connection: AsyncConnection, tables: ReadModelTables, event: StoredEvent
) -> None:
    payload = to_envelope(event).payload
    assert isinstance(payload, CustomerAccountUpserted)
    account = payload.account
    if not account.company or not account.account_number:
        return  # not addressable by a representative's (company, account number)
    values = {"name": account.name, "currency": account.currency, "price_list": account.price_list}
    statement = insert(tables.accounts).values(
        company=account.company, account_number=account.account_number, **values
    )
    await connection.execute(
        statement.on_conflict_do_update(index_elements=["company", "account_number"], set_=values)
    )


async def _order_submitted(
    connection: AsyncConnection, tables: ReadModelTables, event: StoredEvent
) -> None:
    await _write_orders(connection, tables, [_order_rows(event)])


_OrderRows = tuple[dict[str, Any], list[dict[str, Any]]]


def _order_rows(event: StoredEvent) -> _OrderRows:
    """The order view row and line rows an OrderSubmitted event sets."""
    payload = to_envelope(event).payload
    assert isinstance(payload, OrderSubmitted)
    order = payload.order
    amounts = [line.extended_amount for line in order.lines if line.extended_amount is not None]
    values = {
        "order_id": order.sales_order_id,
        "status": order.processing_status or "pending",
        "sales_order_number": order.sales_order_number,
        "company": order.company or event.company,
        "customer_account": order.customer_account,
        "orderer_contact_id": orderer_of(payload, event.origin),
        "submitted_by": payload.submitted_by,
        "origin": event.origin,
        "requested_receipt_date": order.requested_receipt_date,
        "currency": order.currency,
        "total_amount": order.total_amount if order.total_amount is not None else sum(amounts),
        "sync_failure_reason": None,
        "submitted_at": event.occurred_at,
        "updated_at": event.occurred_at,
    }
    lines = [
        {
            "order_id": order.sales_order_id,
            "line_number": line.sequence_number or number,
            "product_number": line.product_number,
            "quantity": line.quantity,
            "unit": line.unit,
            "price": line.price_per_unit,
            "amount": line.extended_amount,
        }
        for number, line in enumerate(order.lines, start=1)
    ]
    return values, lines


async def _write_orders(
    connection: AsyncConnection, tables: ReadModelTables, orders: Sequence[_OrderRows]
) -> None:
    """Upsert the orders and replace their lines: three statements for any number of orders.

    The orders must be distinct (an upsert statement may touch a row only once)."""
    if not orders:
        return
    # Executed with a list of rows: compiled once and cached (SQLAlchemy batches the rows), where
    # a multi-row VALUES would be compiled again for every new batch size.
    statement = insert(tables.orders)
    excluded = statement.excluded
    columns = [name for name in orders[0][0] if name != "order_id"]
    await connection.execute(
        statement.on_conflict_do_update(
            index_elements=["order_id"], set_={name: excluded[name] for name in columns}
        ),
        [values for values, _ in orders],
    )
    lines = tables.lines
    ids = [values["order_id"] for values, _ in orders]
    await connection.execute(delete(lines).where(lines.c.order_id.in_(ids)))
    rows = [row for _, order_lines in orders for row in order_lines]
    if rows:
        await connection.execute(insert(lines), rows)


async def _order_status_changed(
    connection: AsyncConnection, tables: ReadModelTables, event: StoredEvent
) -> None:
    payload = to_envelope(event).payload
    assert isinstance(payload, OrderSyncStatusChanged)
    orders = tables.orders
    await connection.execute(
        update(orders)
        .where(orders.c.order_id == payload.salesorderid)
        .values(
            status=payload.status,
            sales_order_number=func.coalesce(
                payload.sales_order_number, orders.c.sales_order_number
            ),
            sync_failure_reason=payload.reason if payload.status == "sync_failed" else None,
            updated_at=event.occurred_at,
        )
    )


async def _command_rejected(
    connection: AsyncConnection, tables: ReadModelTables, event: StoredEvent
) -> None:
    # A refused SubmitOrder shows as a `sync_failed` order with the reasons. The event names no
    # customer and no orderer, so only Administrators see it; the submitter learns of the
    # refusal from GET /commands/{id}. A refusal after an accepted submit changes nothing.
    if not event.stream_id.startswith(f"{ORDER}-"):
        return
    payload = to_envelope(event).payload
    assert isinstance(payload, CommandRejected)
    reason = "; ".join(f"{error.field}: {error.message}" for error in payload.errors)
    statement = insert(tables.orders).values(
        order_id=UUID(aggregate_id(event.stream_id)),
        status="sync_failed",
        company=event.company,
        origin=event.origin,
        sync_failure_reason=reason,
        submitted_at=event.occurred_at,
        updated_at=event.occurred_at,
    )
    await connection.execute(statement.on_conflict_do_nothing())


_APPLY: Final[dict[str, _Apply]] = {
    "ContactUpserted": _contact_upserted,
    "CustomerAccountUpserted": _account_upserted,
    "OrderSubmitted": _order_submitted,
    "OrderSyncStatusChanged": _order_status_changed,
    "CommandRejected": _command_rejected,
}
