"""The OpenAPI document describes every error answer as the problem details the API sends."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema_rs
import pytest
from fastapi import FastAPI

from portal_api.app import create_app
from portal_api.problems import PROBLEM_JSON
from sync_service.settings import Settings

# Answered without PostgreSQL or Kafka: liveness, readiness (its own JSON) and metrics.
WITHOUT_STORE = {"/healthz", "/readyz", "/metrics"}


@pytest.fixture(scope="module")
def app() -> FastAPI:
    # Never started: the document and request validation need no lifespan.
    return create_app(Settings(allowed_hosts="portal.test"))


@pytest.fixture(scope="module")
def document(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def _problem_validator(document: dict[str, Any]) -> Any:
    schema = {"$ref": "#/components/schemas/ProblemDetails", "components": document["components"]}
    return jsonschema_rs.validator_for(schema)


def test_fastapis_own_validation_error_is_gone(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert "ValidationError" not in schemas
    problem = schemas["ProblemDetails"]
    assert set(problem["required"]) == {"title", "status", "detail"}
    assert {"type", "instance", "errors", "reason"} <= set(problem["properties"])
    assert problem["additionalProperties"] is False
    scheme = document["components"]["securitySchemes"]["bearer"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")


def test_every_error_answer_is_problem_json_with_the_one_schema(document: dict[str, Any]) -> None:
    for method, path, operation in _operations(document):
        for status, answer in operation["responses"].items():
            if int(status) < 400 or (path == "/readyz" and status == "503"):
                continue
            assert answer["content"] == {
                PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}
            }, (method, path, status)


def test_routes_declare_the_answers_they_can_give(document: dict[str, Any]) -> None:
    for method, path, operation in _operations(document):
        statuses = set(operation["responses"])
        where = (method, path)
        if path not in WITHOUT_STORE:
            assert "503" in statuses, where
            retry_after = operation["responses"]["503"]["headers"]["Retry-After"]
            assert retry_after["required"] is True
        if operation.get("parameters") or "requestBody" in operation:
            assert "422" in statuses, where
        if "requestBody" in operation:
            assert {"400", "413"} <= statuses, where
        if path.startswith(("/admin", "/ops", "/account", "/products", "/orders")):
            assert {"401", "403"} <= statuses, where
            assert operation["security"] == [{"bearer": []}], where
        elif path.startswith(("/commands", "/credentials")):  # the caller's own; 404 to others
            assert {"401", "404"} <= statuses, where
            assert operation["security"] == [{"bearer": []}], where
        else:
            assert "security" not in operation, where  # open to anyone
    redeem = document["paths"]["/invitations/redeem"]["post"]["responses"]
    assert {"404", "409", "410", "429"} <= set(redeem)
    assert redeem["429"]["headers"]["Retry-After"]["required"] is True


async def _answer(app: FastAPI, method: str, path: str, **kwargs: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
        return await client.request(method, path, **kwargs)


async def test_a_real_422_is_what_the_document_describes(
    app: FastAPI, document: dict[str, Any]
) -> None:
    answer = await _answer(app, "POST", "/invitations/redeem", json={"code": "a\u0000", "x": 1})
    assert answer.status_code == 422
    assert answer.headers["content-type"] == PROBLEM_JSON
    body = answer.json()
    _problem_validator(document).validate(body)
    assert isinstance(body["detail"], str)
    assert {e["field"] for e in body["errors"]} == {"code", "x"}
    assert body["instance"] == "/invitations/redeem"


async def test_a_real_400_for_unreadable_json_is_what_the_document_describes(
    app: FastAPI, document: dict[str, Any]
) -> None:
    headers = {"Content-Type": "application/json"}
    broken = await _answer(
        app, "POST", "/invitations/redeem", content=b'{"code": ', headers=headers
    )
    assert broken.status_code == 422
    assert [e["field"] for e in broken.json()["errors"]] == ["body"]
    _problem_validator(document).validate(broken.json())
    deep = await _answer(app, "POST", "/invitations/redeem", content=b"[" * 5000, headers=headers)
    assert deep.status_code == 400
    _problem_validator(document).validate(deep.json())
