"""How the order pages say things: statuses in words, amounts, quantities, dates and times."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Final

from sync_service.domain.roles import (
    ADMINISTRATOR,
    AUTHORIZED_USER,
    BOOTSTRAP_ACTOR,
    CUSTOMER_REPRESENTATIVE,
)
from sync_service.projections.queries import OrderView

__all__ = ["FORMATS", "STATUS_WORDS", "announcement", "placed_by"]

STATUS_WORDS: Final = {
    "pending": "Submitted, not yet in the ERP",
    "synced": "In the ERP",
    "confirmed": "Confirmed",
    "shipped": "Shipped",
    "invoiced": "Invoiced",
    "sync_failed": "Sync failed",
    "canceled": "Canceled",
}
"""The sync status of SPEC §3 as a customer reads it."""

STEP_WORDS: Final = {**STATUS_WORDS, "pending": "Submitted"}
"""The timeline's step names: the first step is the submission itself."""

ROLE_WORDS: Final = {
    ADMINISTRATOR: "Administrator",
    CUSTOMER_REPRESENTATIVE: "Customer representative",
    AUTHORIZED_USER: "Authorized user",
}


def money(amount: Decimal | None, currency: str | None) -> str:
    """`1,234.50 USD`; a dash when there is no amount."""
    if amount is None:
        return "—"
    return f"{amount:,.2f} {currency or ''}".rstrip()


def quantity(value: Decimal | None) -> str:
    """`3`, `2.5`: without the trailing zeros a stored Numeric keeps."""
    if value is None:
        return "—"
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def day(value: date | None) -> str:
    """`14 Dec 2026`; a dash when there is no date."""
    return "—" if value is None else f"{value.day} {value:%b %Y}"


def when(value: datetime | None) -> str:
    """`30 Nov 2026, 17:52:05 UTC`: seconds, since the ERP answers within seconds."""
    if value is None:
        return ""
    moment = value.astimezone(UTC)
    return f"{moment.day} {moment:%b %Y, %H:%M:%S} UTC"


def iso(value: datetime | date | None) -> str:
    """The machine-readable form for a `<time datetime>`."""
    return "" if value is None else value.isoformat()


def placed_by(view: OrderView) -> str:
    """Who placed the order, for a representative's or an administrator's list."""
    if view.orderer_name:
        return view.orderer_name
    if view.submitted_by == BOOTSTRAP_ACTOR:
        return "Administrator (bootstrap)"
    if view.origin == "scm":
        return "Entered in the ERP"
    return "—"


def roles(web_roles: list[str]) -> str:
    """The contact's web roles in the seed's words."""
    return ", ".join(ROLE_WORDS.get(role, role) for role in web_roles) or "No web role"


def announcement(view: OrderView) -> str:
    """What a screen reader says when the order's status changes while the page is open."""
    text = f"Order status: {STATUS_WORDS.get(view.status, view.status)}"
    if view.sales_order_number:
        text += f", SCM order number {view.sales_order_number}"
    if view.status == "sync_failed" and view.sync_failure_reason:
        text += f". Reason: {view.sync_failure_reason}"
    return text + "."


FORMATS: Final[dict[str, Any]] = {
    "status_words": STATUS_WORDS,
    "step_words": STEP_WORDS,
    "money": money,
    "quantity": quantity,
    "day": day,
    "when": when,
    "iso": iso,
    "placed_by": placed_by,
    "roles": roles,
    "announcement": announcement,
}
"""The names the order and account templates use to say things."""
