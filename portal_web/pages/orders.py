"""The Orders pages: the list (filter, sort, pages) and each order with its live sync timeline.

Both read through portal_api.order_reading, as GET /orders and GET /orders/{id} do, so a page
shows exactly the orders the API shows and answers "not found" exactly where it answers 404.
"""

from __future__ import annotations

import asyncio
from typing import Final, get_args
from urllib.parse import urlencode
from uuid import UUID

from fastapi.responses import HTMLResponse
from starlette.requests import Request

from contracts.values import OrderSyncStatus
from portal_api.order_reading import find_order_with_history, order_page, own_order_arriving
from portal_api.problems import Problem
from portal_api.routes.views import MAX_LIMIT
from portal_web.pages.order_words import FORMATS, STATUS_WORDS
from portal_web.routing import page_router
from portal_web.templating import render
from portal_web.visitor import OrderingVisitor, PageNotFound, Visitor
from sync_service.projections.history import OrderHistory
from sync_service.projections.queries import OrderFilter, OrderView, SortKey

__all__ = ["ARRIVAL_WAIT_S", "PAGE_SIZE", "SORTS", "router"]

router = page_router()

PAGE_SIZE: Final = 20
ARRIVAL_WAIT_S: Final = 3.0
"""How long the order page waits for the visitor's just-submitted order to reach the views."""
ARRIVAL_POLL_S: Final = 0.1
SORTS: Final[dict[str, str]] = {
    "-submitted_at": "Newest first",
    "submitted_at": "Oldest first",
    "requested_receipt_date": "Requested receipt date, earliest first",
    "-requested_receipt_date": "Requested receipt date, latest first",
}
assert set(SORTS) == set(get_args(SortKey)), "every sort of GET /orders, and only those"
_STATUSES: Final = frozenset(get_args(OrderSyncStatus))


def _choice(request: Request) -> tuple[str, SortKey, str | None, int]:
    """Status filter, sort, cursor and page size of the list's query string, checked."""
    params = request.query_params
    status = params.get("status") or ""
    if status and status not in _STATUSES:
        raise Problem(422, f"There is no order status {status!r} to filter by.")
    sort = params.get("sort") or "-submitted_at"
    if sort not in SORTS:
        raise Problem(422, f"The orders cannot be sorted by {sort!r}.")
    cursor = params.get("cursor") or None
    if cursor is not None and len(cursor) > 500:
        raise Problem(422, "This page link is not one the portal gave out.")
    try:
        limit = int(params.get("limit") or PAGE_SIZE)
    except ValueError:
        raise Problem(422, "The page size must be a number.") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise Problem(422, f"The page size must be between 1 and {MAX_LIMIT}.")
    return status, sort, cursor, limit  # type: ignore[return-value]  # checked against SORTS


@router.get("/orders", response_class=HTMLResponse)
async def orders(request: Request, visitor: OrderingVisitor) -> HTMLResponse:
    """The orders the visitor's web role lets it see, filtered, sorted, a page at a time."""
    status, sort, cursor, limit = _choice(request)
    filters = OrderFilter(statuses=(status,) if status else ())
    try:
        page, next_cursor = await order_page(
            request, visitor.caller, filters=filters, sort=sort, cursor=cursor, limit=limit
        )
    except Problem as problem:
        if problem.status != 422:
            raise
        raise Problem(422, "This page link is not one the portal gave out.") from None

    def link(**extra: str) -> str:
        kept = {"status": status, "sort": sort if sort != "-submitted_at" else ""}
        kept["limit"] = str(limit) if limit != PAGE_SIZE else ""
        query = urlencode({k: v for k, v in {**kept, **extra}.items() if v})
        return f"/portal/orders?{query}" if query else "/portal/orders"

    return render(
        request,
        visitor,
        "orders/list.html",
        title="Orders",
        orders=page,
        chosen_status=status,
        sort=sort,
        limit=limit,
        sorts=SORTS,
        statuses=STATUS_WORDS,
        first_url=link() if cursor else None,
        next_url=link(cursor=next_cursor) if next_cursor else None,
        shows_orderer=visitor.caller.is_admin or visitor.caller.is_customer_representative,
        **FORMATS,
    )


async def _order(
    request: Request, visitor: Visitor, order_id: UUID, *, wait_s: float = 0.0
) -> tuple[OrderView, OrderHistory] | None:
    """The order with its history; None while the visitor's own new order is on its way."""
    deadline = asyncio.get_running_loop().time() + wait_s
    while True:
        try:
            return await find_order_with_history(request, visitor.caller, order_id)
        except Problem as problem:
            if problem.status != 404:
                raise
        arrival = await own_order_arriving(request, visitor.caller, order_id)
        if arrival is None:
            raise PageNotFound  # the same "not found" as any unknown address
        if arrival.refused is not None:
            raise Problem(422, f"Your order was refused: {arrival.refused}", title="Order refused")
        if asyncio.get_running_loop().time() >= deadline:
            return None
        await asyncio.sleep(ARRIVAL_POLL_S)


@router.get("/orders/{order_id:uuid}", response_class=HTMLResponse)
async def order(request: Request, visitor: OrderingVisitor, order_id: UUID) -> HTMLResponse:
    """One order: lines, totals, address, dates and its sync timeline, live while open."""
    # Right after the wizard's submit the order may not be in the views yet: wait a moment.
    found = await _order(request, visitor, order_id, wait_s=ARRIVAL_WAIT_S)
    if found is None:
        return render(
            request, visitor, "orders/arriving.html", title="Order received", order_id=order_id
        )
    view, history = found
    return render(
        request,
        visitor,
        "orders/order.html",
        title=f"Order {str(view.order_id)[:8]}",
        order=view,
        history=history,
        shows_orderer=visitor.caller.is_admin or visitor.caller.is_customer_representative,
        **FORMATS,
    )


@router.get("/orders/{order_id:uuid}/timeline", response_class=HTMLResponse)
async def timeline(request: Request, visitor: OrderingVisitor, order_id: UUID) -> HTMLResponse:
    """The order's status and sync timeline alone: what the order page's script polls."""
    found = await _order(request, visitor, order_id)
    if found is None:
        return render(request, visitor, "orders/_arriving.html", order_id=order_id)
    view, history = found
    return render(request, visitor, "orders/_timeline.html", order=view, history=history, **FORMATS)
