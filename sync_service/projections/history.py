"""An order's sync timeline and delivery address, read from the events of its stream.

The order view keeps only the newest status; the order's stream keeps every step with its
time. Only the events the views have applied are read (reader.py bounds them by the stream's
projected version), so the timeline never runs ahead of the status the order view shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from contracts.events import CommandRejected, OrderSubmitted, OrderSyncStatusChanged
from sync_service.eventstore.base import StoredEvent
from sync_service.eventstore.envelopes import to_envelope
from sync_service.projections.queries import OrderView

__all__ = [
    "PROGRESS",
    "DeliveryAddress",
    "OrderHistory",
    "TimelineStep",
    "order_history",
]

PROGRESS: Final = ("pending", "synced", "confirmed", "shipped", "invoiced")
"""The steps an order goes through, in order; `pending` is the step "submitted"."""
_STOPS: Final = frozenset({"sync_failed", "canceled"})


@dataclass(frozen=True, slots=True, kw_only=True)
class TimelineStep:
    """One step of the timeline: a status of PROGRESS, or where the order stopped."""

    status: str
    reached: bool
    at: datetime | None = None
    """When the step was reached; None when not reached, or reached by a later step only."""
    current: bool = False
    sales_order_number: str | None = None
    """On the `synced` step: the ERP's number of the order."""
    reason: str | None = None
    """On a `sync_failed` step: why, in the words of the ERP or the portal."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryAddress:
    """Where the order is to be delivered, as it was submitted."""

    description: str | None
    street: str | None
    city: str | None
    postal_code: str | None
    country: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderHistory:
    """What the order's stream adds to its view: the timeline, the address, the requisition."""

    timeline: list[TimelineStep]
    address: DeliveryAddress | None
    requisition_number: str | None
    version: int
    """The stream version the timeline reflects: it changes whenever the timeline may."""

    @property
    def settled(self) -> bool:
        """Whether no further step is to be expected (invoiced or canceled)."""
        return self.timeline[-1].status in ("invoiced", "canceled") and self.timeline[-1].reached


@dataclass(slots=True)
class _Reached:
    at: dict[str, datetime]
    number: str | None = None
    stop_at: datetime | None = None

    def reach(self, status: str, at: datetime) -> None:
        if status in PROGRESS:
            self.at.setdefault(status, at)
        elif status in _STOPS:
            self.stop_at = at  # the newest stop: a failure after a retry is the one that counts


def order_history(view: OrderView, events: Sequence[StoredEvent]) -> OrderHistory:
    """The history of the order `view` from its stream's `events` (oldest first)."""
    reached = _Reached(at={"pending": view.submitted_at})
    address: DeliveryAddress | None = None
    requisition: str | None = None
    for event in events:
        payload = to_envelope(event).payload
        if isinstance(payload, OrderSubmitted):
            order = payload.order
            reached.at["pending"] = event.occurred_at
            # An order created in the ERP arrives already numbered, with the ERP's status.
            if order.processing_status:
                reached.reach(order.processing_status, event.occurred_at)
            address = DeliveryAddress(
                description=order.delivery_address_description,
                street=order.ship_to_street,
                city=order.ship_to_city,
                postal_code=order.ship_to_postal_code,
                country=order.ship_to_country,
            )
            requisition = order.requisition_number
        elif isinstance(payload, OrderSyncStatusChanged):
            reached.reach(payload.status, event.occurred_at)
        elif isinstance(payload, CommandRejected):
            reached.reach("sync_failed", event.occurred_at)
    version = events[-1].version if events else 0
    return OrderHistory(
        timeline=_timeline(view, reached),
        address=address,
        requisition_number=requisition,
        version=version,
    )


def _timeline(view: OrderView, reached: _Reached) -> list[TimelineStep]:
    # How far the order got: the furthest step any event reached, or its status now.
    furthest = max(
        [PROGRESS.index(status) for status in reached.at]
        + ([PROGRESS.index(view.status)] if view.status in PROGRESS else [])
    )
    stopped = view.status in _STOPS
    current = -1 if stopped else PROGRESS.index(view.status) if view.status in PROGRESS else 0
    steps = [
        TimelineStep(
            status=status,
            reached=index <= furthest,
            at=reached.at.get(status) if index <= furthest else None,
            current=index == current,
            sales_order_number=view.sales_order_number if status == "synced" else None,
        )
        for index, status in enumerate(PROGRESS)
    ]
    if not stopped:
        return steps
    # Stopped: the steps it reached, then where it stopped; the others will not come.
    stop = TimelineStep(
        status=view.status,
        reached=True,
        at=reached.stop_at,
        current=True,
        reason=view.sync_failure_reason if view.status == "sync_failed" else None,
    )
    return [step for step in steps if step.reached] + [stop]
