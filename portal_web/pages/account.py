"""The Account page of a Customer representative: the customer account and who orders for it."""

from __future__ import annotations

from fastapi.responses import HTMLResponse
from starlette.requests import Request

from portal_api.order_reading import caller_account
from portal_web.pages.order_words import FORMATS
from portal_web.routing import page_router
from portal_web.templating import render
from portal_web.visitor import RepresentativeVisitor

__all__ = ["router"]

router = page_router()


@router.get("/account", response_class=HTMLResponse)
async def account(request: Request, visitor: RepresentativeVisitor) -> HTMLResponse:
    """The account as GET /account reads it (its 404 becomes a page saying why)."""
    found = await caller_account(request, visitor.caller)
    return render(
        request, visitor, "account/account.html", title="Account", account=found, **FORMATS
    )
