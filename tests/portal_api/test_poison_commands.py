"""Hand-crafted poison commands, straight onto portal.commands.v1 past the API's checks.

The portal fixture runs the API, the command processor, the relay and the projections. Each
poison command gets a `rejected` outcome at GET /commands/{id} within seconds, and the commands
sent after it on the same key (so the same partition) are applied and show in the views.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from contracts.topics import PORTAL_COMMANDS
from sync_service.command_processor import command_key
from sync_service.demo_data import JANE_CONTACT_ID, SAM_CONTACT_ID
from tests.command_signing import signed_headers
from tests.kafka_roles import as_role
from tests.portal_api.conftest import ADMIN, Portal
from tests.portal_api.views_helpers import credential, eventually, order_ids
from tests.sync_service.factories import hostile_wire, submit_order, upsert_contact, wire

pytestmark = pytest.mark.integration


async def _send(portal: Portal, key: bytes, *values: bytes) -> None:
    producer = AIOKafkaProducer(**as_role(portal.settings, "api"), acks="all")  # forged as the API
    await producer.start()
    try:
        for value in values:
            headers = signed_headers(portal.settings, key, value)  # what a key holder could send
            await producer.send_and_wait(
                portal.settings.topic(PORTAL_COMMANDS), value, key=key, headers=headers
            )
    finally:
        await producer.stop()


async def _settled(portal: Portal, command_id: object) -> dict[str, Any]:
    async def status() -> dict[str, Any]:
        answer = await portal.client.get(f"/commands/{command_id}", headers=ADMIN)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    return await eventually(status, lambda found: found["status"] != "pending")


def _names_without_showing(errors: list[dict[str, str]], field: str) -> None:
    assert any(error["field"].endswith(field) for error in errors), errors
    assert all(f"{e['field']}{e['message']}".isprintable() for e in errors), errors


async def test_a_nul_order_is_rejected_and_the_orders_behind_it_are_accepted_and_seen(
    portal: Portal,
) -> None:
    jane = await credential(portal, JANE_CONTACT_ID)
    poison = submit_order()
    behind = [submit_order(), submit_order(requisition_number="REQ-2")]
    started = time.monotonic()
    address = {"street": "A\x00B", "city": "Redmond", "postal_code": "98052"}
    raw = hostile_wire(poison, delivery_address=address)
    await _send(portal, command_key(poison), raw, *(wire(c) for c in behind))

    refused = await _settled(portal, poison.command_id)
    took = time.monotonic() - started

    assert refused["status"] == "rejected"
    _names_without_showing(refused["errors"], "delivery_address.street")
    assert took < 15, f"{took:.1f} s"
    for command in behind:
        assert (await _settled(portal, command.command_id))["status"] == "accepted"
    wanted = {str(command.order_id) for command in behind}
    assert await eventually(lambda: order_ids(portal, jane), lambda ids: ids == wanted)


async def test_a_nul_firstname_is_rejected_and_the_change_behind_it_is_applied(
    portal: Portal,
) -> None:
    poison = upsert_contact(SAM_CONTACT_ID, email="sam@x.example")
    behind = upsert_contact(SAM_CONTACT_ID, firstname="Samuel", email="sam@x.example")
    raw = hostile_wire(poison, firstname="Sa\x00m")
    await _send(portal, command_key(poison), raw, wire(behind))

    refused = await _settled(portal, poison.command_id)
    assert refused["status"] == "rejected"
    _names_without_showing(refused["errors"], "firstname")
    assert (await _settled(portal, behind.command_id))["status"] == "accepted"
    found = await portal.client.get(
        "/admin/contacts", params={"email": "sam@x.example"}, headers=ADMIN
    )
    assert found.status_code == 200, found.text
    assert [contact["firstname"] for contact in found.json()] == ["Samuel"]
