"""The pages anyone may open: the home page (tiles by web role) and the terms and conditions."""

from __future__ import annotations

from fastapi.responses import HTMLResponse
from starlette.requests import Request

from portal_web.routing import page_router
from portal_web.templating import render
from portal_web.visitor import AnyVisitor

__all__ = ["router"]

router = page_router()


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, visitor: AnyVisitor) -> HTMLResponse:
    """Company details for everybody; the tiles of the visitor's web role once signed in."""
    return render(request, visitor, "home.html", title="Home")


@router.get("/terms", response_class=HTMLResponse)
async def terms(request: Request, visitor: AnyVisitor) -> HTMLResponse:
    """The terms and conditions of ordering through the portal."""
    return render(request, visitor, "terms.html", title="Terms and conditions")
