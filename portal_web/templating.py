"""Rendering a page: one Jinja2 environment, autoescaped, with the visitor in every template."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request

from portal_web.sessions import set_form_cookie
from portal_web.visitor import Visitor

__all__ = ["TEMPLATES", "render"]

TEMPLATES: Final = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,  # a misspelt name fails the test, not the page silently
    trim_blocks=True,
    lstrip_blocks=True,
)


def render(
    request: Request,
    visitor: Visitor,
    template: str,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """The page `template` for `visitor`; `context` adds the page's own names."""
    html = TEMPLATES.get_template(template).render(
        request=request, visitor=visitor, path=request.url.path, **context
    )
    response = HTMLResponse(html, status_code=status, headers=headers)
    # Pages show personal data: never from a shared cache, never framed by another site.
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
    )
    response.headers.setdefault("Referrer-Policy", "same-origin")
    set_form_cookie(request, response)  # the token the page's anonymous forms post back
    return response
