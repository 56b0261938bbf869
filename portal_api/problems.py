"""RFC 9457 problem details: every error the API gives, with the fields at fault named."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route

from contracts.bounds import MAX_JSON_DEPTH, readable_message
from contracts.errors import FieldError

__all__ = [
    "PROBLEM_JSON",
    "Problem",
    "field_errors",
    "field_path",
    "install_problem_handlers",
    "problem_response",
    "validated",
]

PROBLEM_JSON = "application/problem+json"
_INVALID = "the request does not validate; see errors"
_Model = TypeVar("_Model", bound=BaseModel)


class Problem(Exception):
    """An error answer: status, a short title, detail, and the fields at fault."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: Sequence[FieldError] = (),
        type_: str = "about:blank",
        title: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = list(errors)
        self.type = type_
        self.title = title or HTTPStatus(status).phrase
        self.headers = headers or {}
        self.extra = extra or {}


def problem_response(problem: Problem, instance: str | None = None) -> JSONResponse:
    """The JSON answer for `problem`."""
    body: dict[str, Any] = {
        "type": problem.type,
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        **problem.extra,
    }
    if instance:
        body["instance"] = instance
    if problem.errors:
        body["errors"] = [error.model_dump() for error in problem.errors]
    return JSONResponse(
        body, status_code=problem.status, media_type=PROBLEM_JSON, headers=problem.headers
    )


def field_path(location: Iterable[int | str]) -> str:
    """`("body", "lines", 2, "unit")` -> `lines[2].unit`, the way a client names the field."""
    parts = list(location)
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:]
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "body"


def field_errors(items: Iterable[Mapping[str, Any]]) -> list[FieldError]:
    """pydantic's error items as the API reports them: the field's path and a readable message."""
    from portal_api.schemas import PATTERN_MESSAGES  # the schemas import this module's names

    errors: list[FieldError] = []
    for item in items:
        # Pydantic puts the union branch or validator name in the location; keep the fields.
        location = [p for p in item.get("loc", ()) if not str(p).startswith("function-")]
        if item.get("type") == "json_invalid":
            location = ["body"]  # FastAPI puts the character offset there, not a field
        message = readable_message(item, PATTERN_MESSAGES)
        errors.append(FieldError(field=field_path(location), message=message))
    return errors


def validated(model: type[_Model], data: Mapping[str, Any]) -> _Model:
    """`data` as the request body `model`, or the API's 422 naming the same fields in the same
    words as when the body arrives as JSON (for a page's form)."""
    try:
        return model.model_validate(data)
    except ValidationError as invalid:
        raise Problem(422, _INVALID, errors=field_errors(invalid.errors())) from invalid


def _unreadable_body(exc: StarletteHTTPException) -> Problem | None:
    """FastAPI's 400 for a body its JSON parser gave up on, with the reason when it is known."""
    if exc.status_code != 400 or not isinstance(exc.__cause__, RecursionError):
        return None
    message = f"JSON nested deeper than {MAX_JSON_DEPTH} levels of objects and arrays"
    return Problem(
        400,
        "the body cannot be read: " + message,
        errors=[FieldError(field="body", message=message)],
    )


def _allowed_methods(request: Request) -> str:
    """Every method the requested path answers, for the `Allow` of a 405.

    Starlette names only the first route whose path matches: `/orders` would allow POST but
    not GET. A path that one route names literally is that route's path, not a value of
    another's parameter (`/ops/deadletters/redrive` is not a dead letter id).
    """
    matching = [
        route
        for route in request.app.routes
        if isinstance(route, Route) and route.matches(request.scope)[0] != Match.NONE
    ]
    literal = [route for route in matching if not route.param_convertors]
    methods = {method for route in literal or matching for method in route.methods or ()}
    return ", ".join(sorted(methods))


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error, including FastAPI's own, as problem details."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problem = Problem(422, _INVALID, errors=field_errors(exc.errors()))
        return problem_response(problem, request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = _allowed_methods(request)
        problem = _unreadable_body(exc) or Problem(
            exc.status_code, str(exc.detail), headers=headers
        )
        return problem_response(problem, request.url.path)
