"""A page route: every refusal and outage is a page a person can read, never problem JSON."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from starlette.requests import Request

from portal_api.problems import Problem
from portal_api.unavailable import RETRY_AFTER_S, unavailable_problem
from portal_web.templating import render
from portal_web.visitor import PageNotFound, PageRefused, SignInRequired, Visitor
from sync_service.domain.roles import Caller

__all__ = ["PageRoute", "page_router", "sign_in_url"]


def sign_in_url(next_path: str) -> str:
    """The sign-in page, coming back to `next_path` afterwards."""
    return f"/portal/sign-in?next={quote(next_path, safe='/')}"


class PageRoute(APIRoute):
    """Answers the page's exceptions with pages: sign-in redirect, 403, 404, 503."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_as_page(request: Request) -> Response:
            try:
                return await handle(request)
            except SignInRequired:
                return RedirectResponse(sign_in_url(request.url.path), status_code=303)
            except PageRefused as refused:
                return _message(request, 403, "Not available", refused.message)
            except PageNotFound:
                return _message(
                    request, 404, "Not found", "There is nothing to show at this address."
                )
            except Problem as problem:
                return _message(request, problem.status, problem.title, problem.detail)
            except Exception as error:
                outage = unavailable_problem(error)
                if outage is None:
                    raise
                response = _message(
                    request,
                    503,
                    "Temporarily unavailable",
                    f"{outage.detail}. Please try again in {RETRY_AFTER_S} seconds.",
                )
                response.headers.update(outage.headers)
                return response

        return handle_as_page


def _message(request: Request, status: int, title: str, message: str) -> Response:
    # The visitor, when finding it is not what failed: the header still names who is signed in.
    found = getattr(request.state, "visitor", None)
    return render(
        request,
        found if isinstance(found, Visitor) else Visitor(Caller.anonymous()),
        "message.html",
        status=status,
        title=title,
        message=message,
    )


def page_router() -> APIRouter:
    """A router for pages: left out of the OpenAPI document, refusals answered as pages."""
    return APIRouter(include_in_schema=False, route_class=PageRoute)
