"""The OpenAPI document's error answers: one problem-details schema, declared once.

Routes name the answers they can give with `problem_answers(...)` and the bundles below; the
document then says `application/problem+json` with `ProblemDetails` for each, as the API sends.
FastAPI's own 422 (`HTTPValidationError`) never appears: every route that validates declares
its 422 here, and FastAPI adds its default only to routes that do not.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, Final

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field

from portal_api.problems import PROBLEM_JSON

__all__ = [
    "ADMIN_ONLY",
    "NEEDS_STORE",
    "SIGNED_IN",
    "WITH_BODY",
    "WITH_PARAMETERS",
    "FieldAtFault",
    "ProblemDetails",
    "install_openapi",
    "problem_answers",
]

_SCHEMA_REF: Final = "#/components/schemas/ProblemDetails"


class FieldAtFault(BaseModel):
    """One field at fault, named the way the client sent it (`lines[2].unit`)."""

    field: str
    message: str


class ProblemDetails(BaseModel):
    """An error answer (RFC 9457), with every field at fault and the API's extension fields."""

    # Every member the API sends is declared: a new one must be added here to be documented.
    model_config = ConfigDict(extra="forbid", title="ProblemDetails")

    type: str = Field(default="about:blank", description="a URI naming the kind of problem")
    title: str = Field(description="the HTTP status phrase, or a short summary")
    status: int = Field(ge=400, le=599, description="the HTTP status code")
    detail: str = Field(description="what went wrong, for a person")
    instance: str | None = Field(default=None, description="the request path")
    errors: list[FieldAtFault] | None = Field(default=None, description="every field at fault")
    reason: str | None = Field(
        default=None, description="why an invitation was refused (unknown, expired, used_up)"
    )


_RETRY_AFTER: Final = {
    "Retry-After": {
        "description": "seconds to wait before trying again",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    }
}
_CHALLENGE: Final = {
    "WWW-Authenticate": {
        "description": "`Bearer`, when a bearer credential is what is missing",
        "required": False,
        "schema": {"type": "string"},
    }
}
_WHEN: Final = {
    400: "the body is not JSON that can be read (e.g. nested too deeply)",
    401: "no valid credential where one is needed",
    403: "the caller's web role does not allow this",
    404: "no such resource, or one the caller may not see",
    409: "the resource is not in a state that allows this",
    410: "the invitation has expired",
    413: "the request body is larger than the API accepts",
    431: "the request's headers are larger than the API accepts",
    422: "the request does not validate or is refused by a business rule; `errors` names "
    "every field at fault",
    429: "too many failed attempts (codes, passwords or credentials) from this client; wait "
    "for Retry-After",
    503: "PostgreSQL or Kafka is unavailable; retry after Retry-After",
}
_HEADERS: Final = {401: _CHALLENGE, 429: _RETRY_AFTER, 503: _RETRY_AFTER}


def problem_answers(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` entries of a route for these error statuses, as problem details."""
    answers: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        answer: dict[str, Any] = {
            "description": f"{HTTPStatus(status).phrase}: {_WHEN[status]}",
            "content": {PROBLEM_JSON: {"schema": {"$ref": _SCHEMA_REF}}},
        }
        if status in _HEADERS:
            answer["headers"] = _HEADERS[status]
        answers[status] = answer
    return answers


NEEDS_STORE: Final = problem_answers(503)
"""Every route that reads PostgreSQL or sends to Kafka (set on its router)."""
SIGNED_IN: Final = problem_answers(401, 403)
"""Routes for signed-in callers with a web role."""
ADMIN_ONLY: Final = SIGNED_IN
"""Routes for Administrators: the same answers, 403 for every other role."""
WITH_BODY: Final = problem_answers(400, 413, 422)
"""Routes that read a JSON body."""
WITH_PARAMETERS: Final = problem_answers(422)
"""Routes with path, query or header parameters to validate."""


_BEARER: Final = {
    "type": "http",
    "scheme": "bearer",
    "description": "`DUALSYNC_ADMIN_TOKEN`, or the credential that redeeming an invitation gave",
}


_FOREIGN_HOST: Final = "the Host header names a host this API does not answer to"


def _every_request_answers(spec: dict[str, Any]) -> None:
    # Any request may name a foreign Host (400) or carry too large headers (431): every
    # operation says so (portal_api/trust.py answers both before routing).
    for item in spec.get("paths", {}).values():
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            if "400" in responses:
                responses["400"]["description"] += f"; or {_FOREIGN_HOST}"
            else:
                responses["400"] = {
                    "description": f"Bad Request: {_FOREIGN_HOST}",
                    "content": {PROBLEM_JSON: {"schema": {"$ref": _SCHEMA_REF}}},
                }
            responses.setdefault("431", problem_answers(431)[431])


def _require_credentials(spec: dict[str, Any]) -> None:
    # A route that can answer 401 is one that needs a credential: say so, and which kind.
    for item in spec.get("paths", {}).values():
        for operation in item.values():
            responses = operation.get("responses", {})
            if "401" in responses:
                operation["security"] = [{"bearer": []}]
                # Wrong credentials are throttled per client address (portal_api/auth.py).
                responses.setdefault("429", problem_answers(429)[429])


def install_openapi(app: FastAPI) -> None:
    """Build `app`'s document with the ProblemDetails schema that the error answers refer to,
    and the bearer credential that the routes answering 401 require."""

    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            schemas = spec.setdefault("components", {}).setdefault("schemas", {})
            problem = ProblemDetails.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(problem.pop("$defs", {}))
            schemas["ProblemDetails"] = problem
            spec["components"]["securitySchemes"] = {"bearer": _BEARER}
            _every_request_answers(spec)
            _require_credentials(spec)
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = document  # type: ignore[method-assign]
