"""How the simulated ERP moves an order through its processing statuses, and what it answers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Final
from uuid import UUID, uuid5

from contracts.envelope import Envelope, envelope
from contracts.scm import SalesOrderHeader

__all__ = [
    "ACTIVE",
    "CONFIRMED",
    "DELIVERED",
    "INVOICED",
    "StatusDelays",
    "answer_envelope",
    "answer_message_id",
    "inbound_key",
    "order_number",
    "parse_duration",
]

ACTIVE: Final = "Active"
CONFIRMED: Final = "Confirmed"
DELIVERED: Final = "Delivered"
INVOICED: Final = "Invoiced"
_ORDER: Final = (ACTIVE, CONFIRMED, DELIVERED, INVOICED)

# Fixed, so that the same answer gets the same message id in every process and after restarts.
_ANSWER_NAMESPACE: Final = UUID("6f1c1f0e-3b5e-5d0a-9a47-e2d0c0a5e51d")
_DURATION: Final = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNIT_SECONDS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """Seconds of `2s`, `500ms`, `1.5m`, `0` (a bare number is seconds)."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"not a duration: {text!r} (e.g. 2s, 500ms, 1m, 0)")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2) or "s"]


@dataclass(frozen=True)
class StatusDelays:
    """When each status change follows, in seconds after the order was numbered; 0 skips it."""

    confirm_after: float = 5.0
    ship_after: float = 15.0
    invoice_after: float = 30.0

    def steps(self) -> list[tuple[str, timedelta]]:
        """The enabled status changes after Active, in processing order, with their delays."""
        delays = (self.confirm_after, self.ship_after, self.invoice_after)
        return [
            (status, timedelta(seconds=delay))
            for status, delay in zip(_ORDER[1:], delays, strict=True)
            if delay > 0
        ]

    def next_step(self, status: str) -> tuple[str, timedelta] | None:
        """The status change that follows `status`, or None when the order has no further step."""
        reached = _ORDER.index(status)
        return next(((s, d) for s, d in self.steps() if _ORDER.index(s) > reached), None)

    def unfinished_statuses(self) -> list[str]:
        """Statuses from which an order still has a step to take."""
        return [status for status in _ORDER if self.next_step(status) is not None]


def order_number(company: str, sequence: int) -> str:
    """The SCM sales order number of the `sequence`-th order of `company`, e.g. usmf-000001."""
    return f"{company}-{sequence:06d}"


def inbound_key(company: str, number: str) -> bytes:
    """The Kafka key of an order on scm.inbound.v1: its SCM integration key."""
    return f"{company}/{number}".encode()


def answer_message_id(company: str, cds_sales_order_id: UUID, status: str) -> UUID:
    """Stable per order and status, so a consumer drops a re-sent answer as a duplicate."""
    return uuid5(_ANSWER_NAMESPACE, f"{company}/{cds_sales_order_id}/{status}")


def _with_amounts(order: SalesOrderHeader, number: str) -> SalesOrderHeader:
    # SCM owns line amounts and the total; it computes them from price and quantity.
    lines = []
    for line in order.lines:
        amount = line.LineAmount
        if line.SalesPrice is not None and line.OrderedSalesQuantity is not None:
            amount = line.SalesPrice * line.OrderedSalesQuantity
        lines.append(line.model_copy(update={"SalesOrderNumber": number, "LineAmount": amount}))
    amounts = [line.LineAmount for line in lines if line.LineAmount is not None]
    total = sum(amounts, Decimal(0)) if amounts else order.OrderTotalAmount
    return order.model_copy(
        update={"SalesOrderNumber": number, "lines": lines, "OrderTotalAmount": total}
    )


def answer_envelope(
    order: SalesOrderHeader,
    *,
    company: str,
    number: str,
    status: str,
    correlation_id: UUID | None,
    causation_id: UUID | None = None,
) -> Envelope[SalesOrderHeader]:
    """The ERP's answer: the whole order as SCM holds it, with its number and `status`."""
    assert order.CDSSalesOrderId is not None  # only portal orders are numbered
    payload = _with_amounts(order, number).model_copy(
        update={"dataAreaId": company, "SalesOrderProcessingStatus": status}
    )
    return envelope(
        payload,
        origin="scm",
        company=company,
        correlation_id=correlation_id,
        causation_id=causation_id,
        message_id=answer_message_id(company, order.CDSSalesOrderId, status),
    )
