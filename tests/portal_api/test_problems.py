"""Every error is an RFC 9457 problem naming the fields at fault, the way clients name them."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, Field

from contracts.errors import FieldError
from portal_api.limits import BodySizeLimit, FailureThrottle
from portal_api.problems import Problem, field_path, install_problem_handlers
from portal_api.schemas import ContactBody


class _Line(BaseModel):
    unit: str
    quantity: int = Field(gt=0)


class _Order(BaseModel):
    lines: list[_Line]


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=256)

    @app.post("/orders")
    async def submit(order: _Order) -> dict[str, int]:
        return {"lines": len(order.lines)}

    @app.put("/contacts")
    async def put_contact(contact: ContactBody) -> dict[str, str]:
        return {"lastname": contact.lastname}

    @app.get("/refuse")
    async def refuse() -> None:
        raise Problem(
            422, "bad contact", errors=[FieldError(field="contact.currency", message="missing")]
        )

    return app


async def _call(method: str, path: str, **kwargs: object) -> httpx.Response:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.request(method, path, **kwargs)  # type: ignore[arg-type]


def test_field_path_reads_like_the_request() -> None:
    assert field_path(("body", "lines", 2, "unit")) == "lines[2].unit"
    assert field_path(("body",)) == "body"
    assert field_path(("query", "email")) == "email"


async def test_validation_error_names_every_field() -> None:
    response = await _call("POST", "/orders", json={"lines": [{"unit": "ea", "quantity": 0}, {}]})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 422
    fields = {error["field"] for error in body["errors"]}
    assert fields == {"lines[0].quantity", "lines[1].unit", "lines[1].quantity"}


async def test_a_currency_or_country_code_is_asked_for_in_words() -> None:
    body = {"lastname": "C", "email": "c@x.test", "currency": "usd", "ship_to_country": "U"}
    response = await _call("PUT", "/contacts", json=body)
    assert response.status_code == 422
    messages = {error["field"]: error["message"] for error in response.json()["errors"]}
    assert messages == {
        "currency": "must be an ISO 4217 currency code: three capital letters, e.g. USD",
        "ship_to_country": "must be an ISO 3166 country code: two capital letters, e.g. US",
    }


async def test_raised_problem_keeps_its_errors() -> None:
    response = await _call("GET", "/refuse")
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "contact.currency", "message": "missing"}]
    assert response.json()["instance"] == "/refuse"


async def test_unknown_path_is_a_problem_too() -> None:
    response = await _call("GET", "/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_oversized_body_is_refused_with_413() -> None:
    lines = [{"unit": "ea", "quantity": 1}] * 20
    response = await _call("POST", "/orders", json={"lines": lines})
    assert response.status_code == 413
    assert "larger than 256 bytes" in response.json()["detail"]


def test_throttle_refuses_after_limit_and_forgets_after_window() -> None:
    now = [0.0]
    throttle = FailureThrottle(limit=3, window_s=60, clock=lambda: now[0])
    for _ in range(3):
        throttle.check("10.0.0.1")
        throttle.record_failure("10.0.0.1")
    with pytest.raises(Problem) as refused:
        throttle.check("10.0.0.1")
    assert refused.value.status == 429
    assert refused.value.headers["Retry-After"] == "61"
    throttle.check("10.0.0.2")  # other clients are not affected
    now[0] = 61.0
    throttle.check("10.0.0.1")  # the window has passed
