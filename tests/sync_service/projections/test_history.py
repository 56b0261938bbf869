"""An order's sync timeline from the events of its stream: which steps, when, and why it stopped."""

from __future__ import annotations

import uuid
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from contracts.cds import SalesOrder
from contracts.envelope import Message, envelope
from contracts.errors import FieldError
from contracts.events import CommandRejected, OrderSubmitted, OrderSyncStatusChanged
from contracts.values import OrderSyncStatus
from sync_service.eventstore.base import StoredEvent
from sync_service.eventstore.envelopes import to_new_event
from sync_service.projections.history import OrderHistory, order_history
from sync_service.projections.queries import OrderView
from sync_service.streams import order_stream

ORDER_ID = uuid.uuid4()
T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _stored(payloads: list[tuple[int, Message]], origin: str = "portal") -> list[StoredEvent]:
    """The order's stream: each payload at T0 + its seconds, versions 1, 2, ..."""
    stored = []
    for version, (seconds, payload) in enumerate(payloads, start=1):
        new = to_new_event(
            envelope(payload, origin=origin, company="usmf", occurred_at=_at(seconds))
        )
        stream = {"stream_id": order_stream(ORDER_ID), "stream_type": "order", "version": version}
        stored.append(
            StoredEvent(**asdict(new), **stream, position=version, recorded_at=new.occurred_at)
        )
    return stored


def _submitted(**order: object) -> OrderSubmitted:
    fields = {
        "sales_order_id": ORDER_ID, "ship_to_street": "1 Main St", "ship_to_city": "Redmond",
        "ship_to_postal_code": "98052", "ship_to_country": "US",
        "delivery_address_description": "dock 4", "requisition_number": "REQ-7", **order,
    }  # fmt: skip
    return OrderSubmitted(order=SalesOrder.model_validate(fields), submitted_by="someone")


def _changed(
    status: OrderSyncStatus, number: str | None = None, reason: str | None = None
) -> Message:
    return OrderSyncStatusChanged(
        salesorderid=ORDER_ID, status=status, sales_order_number=number, reason=reason
    )


def _view(status: str, number: str | None = None, reason: str | None = None) -> OrderView:
    return OrderView(
        order_id=ORDER_ID, status=status, sales_order_number=number, company="usmf",
        customer_account="US-001", orderer_contact_id=None, orderer_name=None,
        submitted_by="someone", origin="portal", requested_receipt_date=None, currency="USD",
        total_amount=Decimal(0), sync_failure_reason=reason, submitted_at=T0, updated_at=T0,
    )  # fmt: skip


def _steps(history: OrderHistory) -> list[tuple[str, bool, datetime | None, bool]]:
    return [(step.status, step.reached, step.at, step.current) for step in history.timeline]


def test_a_submitted_order_waits_for_the_erp_with_its_address() -> None:
    history = order_history(_view("pending"), _stored([(0, _submitted())]))
    assert _steps(history) == [
        ("pending", True, T0, True),
        ("synced", False, None, False),
        ("confirmed", False, None, False),
        ("shipped", False, None, False),
        ("invoiced", False, None, False),
    ]
    assert history.address is not None
    assert (history.address.street, history.address.city, history.address.description) == (
        "1 Main St",
        "Redmond",
        "dock 4",
    )
    assert (history.requisition_number, history.version, history.settled) == ("REQ-7", 1, False)


def test_each_step_has_the_time_its_event_reached_it() -> None:
    events = _stored(
        [(0, _submitted()), (2, _changed("synced", "SO-1")), (9, _changed("confirmed", "SO-1"))]
    )
    history = order_history(_view("confirmed", "SO-1"), events)
    assert _steps(history)[:4] == [
        ("pending", True, T0, False),
        ("synced", True, _at(2), False),
        ("confirmed", True, _at(9), True),
        ("shipped", False, None, False),
    ]
    assert history.timeline[1].sales_order_number == "SO-1"
    assert history.version == 3


def test_a_skipped_step_is_reached_without_a_time_and_invoiced_settles() -> None:
    events = _stored([(0, _submitted()), (5, _changed("shipped", "SO-2"))])
    shipped = order_history(_view("shipped", "SO-2"), events)
    assert [(s, reached, at) for s, reached, at, _ in _steps(shipped)] == [
        ("pending", True, T0),
        ("synced", True, None),
        ("confirmed", True, None),
        ("shipped", True, _at(5)),
        ("invoiced", False, None),
    ]
    invoiced = order_history(
        _view("invoiced", "SO-2"), [*events, *_stored([(8, _changed("invoiced"))])[:1]]
    )
    assert invoiced.settled


def test_a_failure_ends_the_timeline_with_its_reason() -> None:
    events = _stored(
        [
            (0, _submitted()),
            (2, _changed("synced", "SO-3")),
            (4, _changed("sync_failed", reason="CustomerGroupId is missing")),
        ]
    )
    failed = order_history(_view("sync_failed", "SO-3", "CustomerGroupId is missing"), events)
    assert _steps(failed) == [
        ("pending", True, T0, False),
        ("synced", True, _at(2), False),
        ("sync_failed", True, _at(4), True),
    ]
    assert failed.timeline[-1].reason == "CustomerGroupId is missing"
    assert not failed.settled  # ops may redrive it: the page keeps asking

    canceled = order_history(
        _view("canceled", "SO-3"), _stored([(0, _submitted()), (3, _changed("canceled"))])
    )
    assert _steps(canceled)[-1] == ("canceled", True, _at(3), True)
    assert canceled.timeline[-1].reason is None and canceled.settled


def test_a_refused_submit_is_submitted_then_failed_without_an_address() -> None:
    refused = CommandRejected(
        command_id=ORDER_ID,
        command_type="SubmitOrder",
        errors=[FieldError(field="contact.price_list", message="is missing")],
    )
    view = replace(
        _view("sync_failed", reason="contact.price_list: is missing"), submitted_at=_at(1)
    )
    history = order_history(view, _stored([(1, refused)]))
    assert _steps(history) == [
        ("pending", True, _at(1), False),
        ("sync_failed", True, _at(1), True),
    ]
    assert history.address is None and history.timeline[-1].reason == view.sync_failure_reason


def test_an_order_from_the_erp_arrives_numbered() -> None:
    events = _stored(
        [(0, _submitted(processing_status="synced", sales_order_number="SO-9"))], origin="scm"
    )
    history = order_history(_view("synced", "SO-9"), events)
    assert _steps(history)[:3] == [
        ("pending", True, T0, False),
        ("synced", True, T0, True),
        ("confirmed", False, None, False),
    ]
