"""Credentials that expire and can be revoked (issue 16): listed for administrators without their
secret, revoked through the command bus, refused with 401 from the very next request."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sync_service.db.engine import create_engine
from sync_service.demo_data import ADMIN_CONTACT_ID, JANE_CONTACT_ID, SAM_CONTACT_ID
from sync_service.domain.credentials import hash_secret
from sync_service.writemodel.rebuild import rebuild_write_model
from tests.portal_api.conftest import ADMIN, Portal
from tests.portal_api.views_helpers import redeemed

pytestmark = pytest.mark.integration


async def _invitable_administrator(portal: Portal) -> uuid.UUID:
    """The demo's Administrator contact, given the Account Number an invitation needs."""
    [record] = (
        await portal.client.get("/admin/contacts?email=admin@portal.example", headers=ADMIN)
    ).json()
    assert record.pop("contact_id") == str(ADMIN_CONTACT_ID)
    saved = await portal.client.put(
        f"/admin/contacts/{ADMIN_CONTACT_ID}",
        json={**record, "account_number": "US-002"},
        headers=ADMIN,
    )
    assert saved.status_code == 200, saved.text
    return ADMIN_CONTACT_ID


def _bearer(redeemed: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {redeemed['credential']}"}


def _credentials_path(contact_id: uuid.UUID) -> str:
    return f"/admin/contacts/{contact_id}/credentials"


async def test_the_list_shows_a_credential_with_its_expiry_but_never_its_secret(
    portal: Portal,
) -> None:
    before = datetime.now(UTC)
    jane = await redeemed(portal, JANE_CONTACT_ID)

    listed = await portal.client.get(_credentials_path(JANE_CONTACT_ID), headers=ADMIN)

    assert listed.status_code == 200, listed.text
    [item] = listed.json()
    assert item["credential_id"] == jane["credential_id"]
    assert (item["contact_id"], item["status"]) == (str(JANE_CONTACT_ID), "active")
    assert (item["revoked_at"], item["revoked_by"]) == (None, None)
    expires_at = datetime.fromisoformat(item["expires_at"])
    assert expires_at == datetime.fromisoformat(jane["expires_at"])
    ttl = timedelta(days=portal.settings.credential_ttl_days)
    assert before + ttl <= expires_at <= datetime.now(UTC) + ttl
    assert before <= datetime.fromisoformat(item["created_at"]) <= datetime.now(UTC)
    assert jane["credential"] not in listed.text
    assert hash_secret(jane["credential"]) not in listed.text


async def test_a_revoked_credential_gets_401_from_the_very_next_request(portal: Portal) -> None:
    jane = await redeemed(portal, JANE_CONTACT_ID)
    other = await redeemed(portal, JANE_CONTACT_ID)  # a second device of Jane's
    assert (await portal.client.get("/products", headers=_bearer(jane))).status_code == 200

    path = f"{_credentials_path(JANE_CONTACT_ID)}/{jane['credential_id']}/revoke"
    revoked = await portal.client.post(path, headers=ADMIN)

    assert revoked.status_code == 200, revoked.text
    assert (revoked.json()["status"], revoked.json()["revoked_by"]) == ("revoked", "admin")
    refused = await portal.client.get("/products", headers=_bearer(jane))
    assert refused.status_code == 401
    assert refused.json()["detail"] == "the credential has been revoked"
    assert refused.headers["WWW-Authenticate"] == "Bearer"
    # Only that one: Jane's other credential still works.
    assert (await portal.client.get("/products", headers=_bearer(other))).status_code == 200
    statuses = {
        item["credential_id"]: item["status"]
        for item in (
            await portal.client.get(_credentials_path(JANE_CONTACT_ID), headers=ADMIN)
        ).json()
    }
    assert statuses == {jane["credential_id"]: "revoked", other["credential_id"]: "active"}
    again = await portal.client.post(path, headers=ADMIN)
    assert (
        again.status_code == 409 and again.json()["detail"] == "the credential was revoked before"
    )


async def test_a_revocation_survives_a_rebuild_of_the_write_model(portal: Portal) -> None:
    # Event-sourced: the credential's id, expiry and revocation all come back from the events.
    jane = await redeemed(portal, JANE_CONTACT_ID)
    path = f"{_credentials_path(JANE_CONTACT_ID)}/{jane['credential_id']}/revoke"
    assert (await portal.client.post(path, headers=ADMIN)).status_code == 200
    before = (await portal.client.get(_credentials_path(JANE_CONTACT_ID), headers=ADMIN)).json()

    engine = create_engine(portal.settings.database_url)
    try:
        await rebuild_write_model(engine)
    finally:
        await engine.dispose()

    after = (await portal.client.get(_credentials_path(JANE_CONTACT_ID), headers=ADMIN)).json()
    assert after == before
    assert (await portal.client.get("/products", headers=_bearer(jane))).status_code == 401


async def test_an_expired_credential_gets_401_saying_it_expired(portal: Portal) -> None:
    jane = await redeemed(portal, JANE_CONTACT_ID)
    expires_at = datetime.fromisoformat(jane["expires_at"])
    assert (await portal.client.get("/products", headers=_bearer(jane))).status_code == 200

    portal.app.state.clock = lambda: expires_at - timedelta(seconds=1)
    assert (await portal.client.get("/products", headers=_bearer(jane))).status_code == 200
    portal.app.state.clock = lambda: expires_at
    expired = await portal.client.get("/products", headers=_bearer(jane))

    assert expired.status_code == 401
    assert expired.json()["detail"] == "the credential has expired"
    [item] = (await portal.client.get(_credentials_path(JANE_CONTACT_ID), headers=ADMIN)).json()
    assert item["status"] == "expired"


async def test_the_credential_ttl_setting_decides_the_expiry(portal: Portal) -> None:
    portal.app.state.settings = portal.settings.model_copy(update={"credential_ttl_days": 1.5})
    before = datetime.now(UTC)
    jane = await redeemed(portal, JANE_CONTACT_ID)

    expires_at = datetime.fromisoformat(jane["expires_at"])
    assert before + timedelta(hours=36) <= expires_at <= datetime.now(UTC) + timedelta(hours=36)


async def test_only_an_administrator_lists_or_revokes(portal: Portal) -> None:
    jane = await redeemed(portal, JANE_CONTACT_ID)
    path = _credentials_path(JANE_CONTACT_ID)
    revoke = f"{path}/{jane['credential_id']}/revoke"

    assert (await portal.client.get(path)).status_code == 401
    assert (await portal.client.get(path, headers=_bearer(jane))).status_code == 403
    refused = await portal.client.post(revoke, headers=_bearer(jane))
    assert refused.status_code == 403
    assert (await portal.client.get("/products", headers=_bearer(jane))).status_code == 200

    # An Administrator contact may, as the bootstrap administrator may; the event names it.
    administrator = await redeemed(portal, await _invitable_administrator(portal))
    revoked = await portal.client.post(revoke, headers=_bearer(administrator))
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_by"] == str(ADMIN_CONTACT_ID)


async def test_unknown_contacts_and_credentials_are_404(portal: Portal) -> None:
    jane = await redeemed(portal, JANE_CONTACT_ID)
    nobody = uuid.uuid4()

    assert (await portal.client.get(_credentials_path(nobody), headers=ADMIN)).status_code == 404
    unknown_contact = f"{_credentials_path(nobody)}/{jane['credential_id']}/revoke"
    assert (await portal.client.post(unknown_contact, headers=ADMIN)).status_code == 404
    unknown = f"{_credentials_path(JANE_CONTACT_ID)}/{uuid.uuid4()}/revoke"
    answer = await portal.client.post(unknown, headers=ADMIN)
    assert answer.status_code == 404
    assert answer.json()["detail"] == "the contact has no credential with this id"
    # Jane's credential named under Sam is not Sam's: 404, and Jane's keeps working.
    wrong = f"{_credentials_path(SAM_CONTACT_ID)}/{jane['credential_id']}/revoke"
    assert (await portal.client.post(wrong, headers=ADMIN)).status_code == 404
    assert (await portal.client.get("/products", headers=_bearer(jane))).status_code == 200
    malformed = await portal.client.get("/admin/contacts/not-a-uuid/credentials", headers=ADMIN)
    assert malformed.status_code == 422


async def test_a_contact_sees_and_revokes_its_own_credentials_only(portal: Portal) -> None:
    jane = await redeemed(portal, JANE_CONTACT_ID)
    laptop = await redeemed(portal, JANE_CONTACT_ID)
    sam = await redeemed(portal, SAM_CONTACT_ID)

    own = await portal.client.get("/credentials", headers=_bearer(jane))
    assert own.status_code == 200
    assert {item["credential_id"] for item in own.json()} == {
        jane["credential_id"],
        laptop["credential_id"],
    }
    not_hers = await portal.client.post(
        f"/credentials/{sam['credential_id']}/revoke", headers=_bearer(jane)
    )
    assert not_hers.status_code == 404
    assert (await portal.client.get("/products", headers=_bearer(sam))).status_code == 200

    revoked = await portal.client.post(
        f"/credentials/{laptop['credential_id']}/revoke", headers=_bearer(jane)
    )
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_by"] == str(JANE_CONTACT_ID)
    assert (await portal.client.get("/products", headers=_bearer(laptop))).status_code == 401
    assert (await portal.client.get("/products", headers=_bearer(jane))).status_code == 200
    assert (await portal.client.get("/credentials")).status_code == 401
    assert (await portal.client.get("/credentials", headers=ADMIN)).status_code == 404
