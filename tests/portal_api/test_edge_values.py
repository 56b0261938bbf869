"""Values no consumer could store are answered 422 naming the field, never 202 and never 500.

Bodies are sent as ASCII JSON (`\\u0000`, `\\ud800` escapes), as a hostile client would.
"""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import httpx
import pytest

from contracts.bounds import MAX_JSON_DEPTH
from portal_api.openapi import ProblemDetails
from sync_service.demo_data import JANE_CONTACT_ID
from tests.portal_api.conftest import ADMIN, Portal
from tests.portal_api.views_helpers import ORDER, credential

pytestmark = pytest.mark.integration

RTL_MARK = "\u200f"
CONTACT: dict[str, Any] = {
    "firstname": "Dana",
    "lastname": "Contoso",
    "email": "dana@x.example",
    "company": "usmf",
    "account_number": "US-001",
}


async def _send(
    portal: Portal, method: str, path: str, body: Any, headers: dict[str, str]
) -> httpx.Response:
    raw = json.dumps(body).encode("ascii")  # escapes NUL and lone surrogates, as JSON may
    return await portal.client.request(
        method, path, content=raw, headers={**headers, "Content-Type": "application/json"}
    )


def _problem(response: httpx.Response, status: int) -> dict[str, str]:
    """The fields at fault of a problem answer with `status`, after checking its shape."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = ProblemDetails.model_validate(response.json())  # the documented schema, no extras
    assert body.status == status
    return {error.field: error.message for error in body.errors or []}


def _order_with(path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    order = copy.deepcopy(ORDER)
    target: Any = order
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return order


# (where in the order, the hostile value, words the answer must use about it)
ORDER_CASES: list[tuple[tuple[str | int, ...], Any, str]] = [
    (("delivery_address", "street"), "A\u0000B", "control characters"),
    (("requisition_number",), "R\u0000", "control characters"),
    (("delivery_address", "city"), "Red\u0007mond", "control characters"),
    (("lines", 0, "unit"), "e\u0000a", "control characters"),
    (("delivery_address", "street"), "\ud800", "lone surrogate"),
    (("delivery_address", "city"), "x" * 100_000, "at most 200"),
    (("lines", 0, "quantity"), "1E-20000", "6 after it"),
    (("lines", 0, "quantity"), "1E+999999", "12 digits"),
    (("lines", 0, "quantity"), "NaN", "12 digits"),
    (("lines", 1, "quantity"), 1e-7, "6 decimal places"),
]


async def test_an_order_no_consumer_could_store_is_422_naming_the_field(portal: Portal) -> None:
    jane = await credential(portal, JANE_CONTACT_ID)
    for path, value, why in ORDER_CASES:
        answer = await _send(portal, "POST", "/orders", _order_with(path, value), jane)
        field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
        fields = _problem(answer, 422)
        assert list(fields) == [field], (path, value)
        assert why in fields[field], (path, value)
    # Nothing of the above was queued: the next valid order is accepted as usual.
    accepted = await _send(portal, "POST", "/orders", ORDER, jane)
    assert accepted.status_code == 202, accepted.text


async def test_a_contact_with_nul_in_its_name_is_422_and_a_right_to_left_mark_is_kept(
    portal: Portal,
) -> None:
    contact_id = uuid.uuid4()
    path = f"/admin/contacts/{contact_id}"
    refused = await _send(portal, "PUT", path, {**CONTACT, "firstname": "Da\u0000na"}, ADMIN)
    assert list(_problem(refused, 422)) == ["firstname"]
    rtl_name = f"{RTL_MARK}\u05d3\u05e0\u05d4{RTL_MARK}"
    kept = await _send(portal, "PUT", path, {**CONTACT, "firstname": rtl_name}, ADMIN)
    assert kept.status_code == 200, kept.text
    assert kept.json()["firstname"] == rtl_name
    found = await portal.client.get("/admin/contacts", params={"email": "dana@x.example"})
    assert found.status_code == 401  # no credential: the lookup below is the Administrator's
    found = await portal.client.get(
        "/admin/contacts", params={"email": "dana@x.example"}, headers=ADMIN
    )
    assert [c["firstname"] for c in found.json()] == [rtl_name]


QUERY_CASES = [
    ("/admin/contacts?email=a%00b", "email"),
    ("/products?company=us%00mf", "company"),
    ("/orders?cursor=a%00b", "cursor"),
    ("/ops/deadletters?company=us%00mf", "company"),
    ("/ops/deadletters?error_class=a%01b", "error_class"),
    ("/ops/deadletters?since=9999-12-31T23:00:00-05:00", "since"),
]


async def test_parameters_and_bodies_no_lookup_could_use_are_422_naming_them(
    portal: Portal,
) -> None:
    for path, field in QUERY_CASES:
        answer = await portal.client.get(path, headers=ADMIN)
        assert list(_problem(answer, 422)) == [field], path
    paused = await _send(
        portal, "POST", "/ops/maps/SalesOrderHeaders/pause", {"reason": "a\u0000"}, ADMIN
    )
    assert list(_problem(paused, 422)) == ["reason"]
    redrive = await _send(portal, "POST", "/ops/deadletters/redrive", {"company": "\u0000"}, ADMIN)
    assert list(_problem(redrive, 422)) == ["company"]
    jane = await credential(portal, JANE_CONTACT_ID)
    # httpx refuses such a header itself; ASGI lets a raw one through, as a proxy might.
    raw = json.dumps(ORDER).encode()
    request = portal.client.build_request("POST", "/orders", content=raw, headers=jane)
    request.headers["Content-Type"] = "application/json"
    request.headers["Idempotency-Key"] = "key\tone"
    answer = await portal.client.send(request)
    assert list(_problem(answer, 422)) == ["idempotency-key"]


async def test_a_body_nested_too_deeply_is_a_problem_not_a_server_error(portal: Portal) -> None:
    jane = await credential(portal, JANE_CONTACT_ID)
    brackets = b"[" * (256 * 1024)  # the body cap, in unclosed brackets
    headers = {**jane, "Content-Type": "application/json"}
    answer = await portal.client.post("/orders", content=brackets, headers=headers)
    fields = _problem(answer, 400)
    assert f"deeper than {MAX_JSON_DEPTH}" in fields["body"]
    nested: Any = "x"
    for _ in range(500):  # closed, and within the parser's reach: the schema refuses it
        nested = [nested]
    answer = await _send(portal, "POST", "/orders", _order_with(("lines",), nested), jane)
    assert list(_problem(answer, 422)) == ["lines[0]"]
