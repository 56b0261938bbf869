"""Ops over HTTP: dead letters (list, show, redrive, redrive all matching, discard) and maps,
against the real Kafka and PostgreSQL, with who did what recorded.

The portal fixture runs the API, the command processor, the relay and the projections; the
outbound mapping worker runs beside it, so a portal order with a product SCM lacks becomes a
real dead letter.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from contracts.envelope import Envelope, Message
from contracts.scm import SalesOrderHeader
from contracts.topics import CDS_EVENTS, DEADLETTER, SCM_SALESORDERS
from sync_service.demo_data import ADMIN_CONTACT_ID, JANE_CONTACT_ID
from sync_service.streams import order_stream
from tests.portal_api.conftest import ADMIN, Portal
from tests.portal_api.views_helpers import credential, eventually
from tests.sync_service.mappings.orders import order_event, portal_order, product_without_site
from tests.sync_service.mappings.test_outbound import _append
from tests.sync_service.mappings.wire import read, send, send_raw

pytestmark = pytest.mark.integration


def _product(number: str) -> Envelope[Message]:
    """The released product as SCM sends it once it exists there (site and warehouse set)."""
    return product_without_site(number, default_site="3", default_warehouse="31")


async def _dead_letters(portal: Portal, count: int, **params: str) -> list[dict[str, Any]]:
    """The open dead letters once there are `count` of them."""

    async def listed() -> list[dict[str, Any]]:
        answer = await portal.client.get("/ops/deadletters", params=params, headers=ADMIN)
        assert answer.status_code == 200, answer.text
        items: list[dict[str, Any]] = answer.json()["items"]
        return items

    return await eventually(listed, lambda items: len(items) >= count)


async def _order_of_unknown_product(portal: Portal, number: str) -> uuid.UUID:
    """A portal order of a product the SCM side lacks: the outbound worker dead-letters it."""
    order = portal_order(number)
    await send(
        portal.settings, CDS_EVENTS, (order_stream(order.sales_order_id), order_event(order))
    )
    return order.sales_order_id


def _errors(answer: Any) -> list[str]:
    return [error["field"] for error in answer.json()["errors"]]


async def test_a_dead_letter_of_a_missing_product_is_redriven_once_the_product_exists(
    portal: Portal, outbound: None
) -> None:
    order_id = await _order_of_unknown_product(portal, "P-9100")
    [letter] = await _dead_letters(portal, 1)
    assert (letter["map"], letter["error_class"], letter["company"], letter["status"]) == (
        "SalesOrderHeaders", "UnknownReference", "usmf", "open",
    )  # fmt: skip
    whole = (
        await portal.client.get(f"/ops/deadletters/{letter['dead_letter_id']}", headers=ADMIN)
    ).json()
    assert str(order_id) in whole["original_value"]
    assert whole["errors"] and "P-9100" in whole["errors"][0]["message"]
    assert (whole["attempts"], whole["resolved_by"], whole["actions"]) == (1, None, [])
    # Published to the topic and indexed under the same id.
    [published] = await read(portal.settings, DEADLETTER, lambda seen: len(seen) >= 1)
    assert str(published.env.message_id) == letter["dead_letter_id"]

    await _append(portal.store, "product-usmf-P-9100", _product("P-9100"))
    redriven = await portal.client.post(
        f"/ops/deadletters/{letter['dead_letter_id']}/redrive", headers=ADMIN
    )

    assert redriven.status_code == 200, redriven.text
    assert redriven.json()["outcome"] == "redriven"
    sent = await read(portal.settings, SCM_SALESORDERS, lambda seen: len(seen) >= 1, settle_s=2)
    orders = [
        r.env.payload
        for r in sent
        if isinstance(r.env.payload, SalesOrderHeader) and r.env.payload.CDSSalesOrderId == order_id
    ]
    assert len(orders) == 1
    assert orders[0].lines[0].ShippingSiteId == "3"
    closed = (
        await portal.client.get(f"/ops/deadletters/{letter['dead_letter_id']}", headers=ADMIN)
    ).json()
    assert (closed["status"], closed["resolved_by"]) == ("redriven", "admin-token")
    assert [(a["actor"], a["action"]) for a in closed["actions"]] == [("admin-token", "redrive")]
    again = await portal.client.post(
        f"/ops/deadletters/{letter['dead_letter_id']}/redrive", headers=ADMIN
    )
    assert again.status_code == 409


async def test_redrive_all_matching_redrives_only_what_the_filter_names(
    portal: Portal, outbound: None
) -> None:
    await _order_of_unknown_product(portal, "P-9201")
    await _order_of_unknown_product(portal, "P-9202")
    await send_raw(portal.settings, CDS_EVENTS, ("garbage", b"{not json"))
    await _dead_letters(portal, 3)
    await _append(portal.store, "product-usmf-P-9201", _product("P-9201"))

    answer = await portal.client.post(
        "/ops/deadletters/redrive", json={"map": "SalesOrderHeaders"}, headers=ADMIN
    )

    assert answer.status_code == 200, answer.text
    counts = answer.json()
    assert (counts["matched"], counts["redriven"], counts["still_failing"]) == (2, 1, 1)
    [still] = counts["errors"].values()
    assert "P-9202" in still
    left = await _dead_letters(portal, 2)
    assert sorted(item["error_class"] for item in left) == ["InvalidMessage", "UnknownReference"]
    undecodable = await _dead_letters(portal, 1, error_class="InvalidMessage")
    assert [item["map"] for item in undecodable] == [None]
    redriven = await _dead_letters(portal, 1, status="redriven")
    assert [item["resolved_by"] for item in redriven] == ["admin-token"]


async def test_discard_needs_a_reason_and_records_who(portal: Portal, outbound: None) -> None:
    admin_contact = await _administrator_contact(portal)
    await _order_of_unknown_product(portal, "P-9300")
    [letter] = await _dead_letters(portal, 1)
    path = f"/ops/deadletters/{letter['dead_letter_id']}/discard"

    for body in ({}, {"reason": "   "}):
        refused = await portal.client.post(path, json=body, headers=admin_contact)
        assert refused.status_code == 422, refused.text
        assert _errors(refused) == ["reason"]
    discarded = await portal.client.post(
        path, json={"reason": "the customer cancelled by phone"}, headers=admin_contact
    )

    assert discarded.status_code == 200, discarded.text
    assert discarded.json()["outcome"] == "discarded"
    whole = (
        await portal.client.get(f"/ops/deadletters/{letter['dead_letter_id']}", headers=ADMIN)
    ).json()
    actor = f"contact:{ADMIN_CONTACT_ID}"
    assert (whole["status"], whole["resolution"], whole["resolved_by"]) == (
        "discarded", "the customer cancelled by phone", actor,
    )  # fmt: skip
    [action] = whole["actions"]
    assert (action["actor"], action["action"], action["reason"]) == (
        actor, "discard", "the customer cancelled by phone",
    )  # fmt: skip
    again = await portal.client.post(path, json={"reason": "twice"}, headers=ADMIN)
    assert again.status_code == 409


async def test_pause_and_resume_over_http_say_who_and_why(portal: Portal) -> None:
    paused = await portal.client.post(
        "/ops/maps/ContactPersonsV2/pause", json={"reason": "SCM maintenance"}, headers=ADMIN
    )
    assert paused.status_code == 200, paused.text
    assert {k: paused.json()[k] for k in ("paused", "paused_by", "paused_reason", "note")} == {
        "paused": True, "paused_by": "admin-token", "paused_reason": "ops",
        "note": "SCM maintenance",
    }  # fmt: skip
    listed = (await portal.client.get("/ops/maps", headers=ADMIN)).json()
    assert listed["alert"] == {"threshold": 10, "window_s": 300.0}
    by_name = {m["name"]: m for m in listed["maps"]}
    assert by_name["ContactPersonsV2"]["paused"] is True
    assert by_name["ContactPersonsV2"]["direction"] == "both"
    assert by_name["ReleasedProducts"]["direction"] == "inbound"
    assert by_name["CustomersV3"]["paused"] is False
    assert {"open_dead_letters", "dead_letters_in_window", "parked_records"} <= set(
        by_name["CustomersV3"]
    )

    resumed = await portal.client.post("/ops/maps/ContactPersonsV2/resume", headers=ADMIN)
    assert resumed.status_code == 200, resumed.text
    assert (resumed.json()["paused"], resumed.json()["paused_by"]) == (False, None)
    assert resumed.json()["changed_by"] == "admin-token"
    unknown = await portal.client.post("/ops/maps/NoSuchMap/pause", headers=ADMIN)
    assert unknown.status_code == 404
    assert "NoSuchMap" in unknown.json()["detail"]


ENDPOINTS = [
    ("GET", "/ops/deadletters", None),
    ("GET", f"/ops/deadletters/{uuid.UUID(int=1)}", None),
    ("POST", f"/ops/deadletters/{uuid.UUID(int=1)}/redrive", None),
    ("POST", "/ops/deadletters/redrive", {}),
    ("POST", f"/ops/deadletters/{uuid.UUID(int=1)}/discard", {"reason": "test"}),
    ("GET", "/ops/maps", None),
    ("POST", "/ops/maps/CustomersV3/pause", None),
    ("POST", "/ops/maps/CustomersV3/resume", None),
]


async def test_every_ops_endpoint_refuses_anonymous_and_non_administrators(
    portal: Portal,
) -> None:
    jane = await credential(portal, JANE_CONTACT_ID)
    for method, path, body in ENDPOINTS:
        anonymous = await portal.client.request(method, path, json=body)
        assert anonymous.status_code == 401, (method, path, anonymous.text)
        assert anonymous.headers["content-type"] == "application/problem+json"
        forbidden = await portal.client.request(method, path, json=body, headers=jane)
        assert forbidden.status_code == 403, (method, path, forbidden.text)
    listed = (await portal.client.get("/ops/maps", headers=ADMIN)).json()
    assert not any(m["paused"] for m in listed["maps"])  # nothing was done on their behalf


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "lost"}, "status"),
        ({"map": "NoSuchMap"}, "map"),
        ({"since": "2026-11-24T10:00:00"}, "since"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-11-24T10:00:00Z", "until": "2026-11-24T09:00:00Z"}, "until"),
        ({"limit": "0"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
    ],
)
async def test_a_bad_filter_is_refused_naming_the_field(
    portal: Portal, params: dict[str, str], field: str
) -> None:
    answer = await portal.client.get("/ops/deadletters", params=params, headers=ADMIN)
    assert answer.status_code == 422, answer.text
    assert _errors(answer) == [field]


async def test_bad_bodies_and_unknown_ids(portal: Portal) -> None:
    missing = uuid.uuid4()
    for method, path, body in [
        ("GET", f"/ops/deadletters/{missing}", None),
        ("POST", f"/ops/deadletters/{missing}/redrive", None),
        ("POST", f"/ops/deadletters/{missing}/discard", {"reason": "gone"}),
    ]:
        answer = await portal.client.request(method, path, json=body, headers=ADMIN)
        assert answer.status_code == 404, (path, answer.text)
        assert str(missing) in answer.json()["detail"]
    # Only a UUID routes to a dead letter (so that /ops/deadletters/redrive is never one).
    not_an_id = await portal.client.get("/ops/deadletters/42", headers=ADMIN)
    assert not_an_id.status_code == 404
    assert not_an_id.headers["content-type"] == "application/problem+json"
    for body, field in [({"map": "NoSuchMap"}, "map"), ({"colour": "red"}, "colour")]:
        answer = await portal.client.post("/ops/deadletters/redrive", json=body, headers=ADMIN)
        assert (answer.status_code, _errors(answer)) == (422, [field]), answer.text
    nothing = await portal.client.post("/ops/deadletters/redrive", headers=ADMIN)
    assert nothing.json()["matched"] == 0


async def _administrator_contact(portal: Portal) -> dict[str, str]:
    """The demo Administrator contact's credential (given an account so it can be invited)."""
    body = {
        "firstname": "Portal", "lastname": "Administrator", "email": "admin@portal.example",
        "company": "usmf", "account_number": "US-002", "price_list": "PL-US-002",
        "currency": "USD", "ship_to_country": "US", "language": "en-us",
        "web_roles": ["administrator"],
    }  # fmt: skip
    put = await portal.client.put(f"/admin/contacts/{ADMIN_CONTACT_ID}", json=body, headers=ADMIN)
    assert put.status_code == 200, put.text
    return await credential(portal, ADMIN_CONTACT_ID)
