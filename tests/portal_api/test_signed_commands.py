"""A command the API did not sign: GET /commands/{id} says why it was rejected, and nothing of it
is applied (the API, the command processor and the projections running as in production)."""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaProducer

from contracts.topics import PORTAL_COMMANDS
from sync_service.command_processor import command_key
from sync_service.demo_data import JANE_CONTACT_ID
from sync_service.domain.credentials import hash_secret, new_secret
from tests.kafka_roles import as_role
from tests.portal_api.conftest import ADMIN, Portal
from tests.portal_api.views_helpers import eventually
from tests.sync_service.factories import invite, wire

pytestmark = pytest.mark.integration


async def test_a_forged_invitation_is_shown_rejected_with_its_reason_and_is_not_issued(
    portal: Portal,
) -> None:
    forged = invite(JANE_CONTACT_ID, hash_secret(new_secret()))
    # As the API's principal: the only one that may write commands, the forger's best case.
    producer = AIOKafkaProducer(**as_role(portal.settings, "api"), acks="all")
    await producer.start()
    try:
        topic = portal.settings.topic(PORTAL_COMMANDS)
        await producer.send_and_wait(topic, wire(forged), key=command_key(forged))
    finally:
        await producer.stop()

    async def status() -> dict[str, object]:
        answer = await portal.client.get(f"/commands/{forged.command_id}", headers=ADMIN)
        assert answer.status_code in (200, 404), answer.text  # 404 until it has an outcome
        return dict(answer.json()) if answer.status_code == 200 else {"status": "pending"}

    settled = await eventually(status, lambda found: found["status"] != "pending")
    assert settled["status"] == "rejected"
    assert settled["errors"] == [
        {
            "field": "signature",
            "message": "the command is not signed: it was not sent by the portal API",
        }
    ]
    assert await portal.store.read_stream(f"invitation-{forged.invitation_id}") == []
    assert await portal.app.state.reader.invitation_by_code_hash(forged.code_hash) is None
