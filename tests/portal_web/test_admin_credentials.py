"""A contact's credentials on its administration page: listed without secrets, revoked by a
button that works without script, through the same command as the JSON route."""

from __future__ import annotations

import uuid

import pytest

from sync_service.demo_data import JANE_CONTACT_ID
from sync_service.domain.credentials import credential_id, hash_secret
from tests.portal_api.conftest import ADMIN, Portal
from tests.portal_api.views_helpers import credential
from tests.portal_web.admin_pages import page_of

pytestmark = pytest.mark.integration

JANE_PAGE = f"/portal/admin/contacts/{JANE_CONTACT_ID}"


def _revoke_path(credential_id: str) -> str:
    return f"{JANE_PAGE}/credentials/{credential_id}/revoke"


async def test_an_admin_sees_a_contacts_credentials_and_revokes_one(portal: Portal) -> None:
    client = portal.client
    jane = await credential(portal, JANE_CONTACT_ID)
    secret = jane["Authorization"].removeprefix("Bearer ")
    janes = str(credential_id(hash_secret(secret)))

    html = (await client.get(JANE_PAGE, headers=ADMIN)).text
    page = page_of(html)
    row = page.said(f"credential-{janes}")
    assert janes in row and "Active" in row and "Revoke" in row
    assert f'action="{_revoke_path(janes)}"' in html
    assert f'aria-label="Revoke credential {janes}"' in html
    assert secret not in html and hash_secret(secret) not in html

    revoked = await client.post(_revoke_path(janes), headers=ADMIN)

    assert revoked.status_code == 303, revoked.text
    assert revoked.headers["location"] == f"{JANE_PAGE}?revoked=yes"
    assert (await client.get("/products", headers=jane)).status_code == 401
    html = (await client.get(revoked.headers["location"], headers=ADMIN)).text
    shown = page_of(html)
    assert shown.said("revoke-outcome") == "The credential is revoked: it opens nothing any more."
    assert "Revoked" in shown.said(f"credential-{janes}")
    assert f'action="{_revoke_path(janes)}"' not in html  # nothing left to revoke

    again = await client.post(_revoke_path(janes), headers=ADMIN)
    assert again.status_code == 409
    assert page_of(again.text).said("revoke-problem") == (
        "The credential was not revoked: the credential was revoked before."
    )


async def test_unknown_credentials_and_other_roles_are_refused(portal: Portal) -> None:
    client = portal.client
    jane = await credential(portal, JANE_CONTACT_ID)
    janes = str(credential_id(hash_secret(jane["Authorization"].removeprefix("Bearer "))))

    unknown = await client.post(_revoke_path(str(uuid.uuid4())), headers=ADMIN)
    assert unknown.status_code == 404
    assert page_of(unknown.text).said("revoke-problem") == (
        "The credential was not revoked: the contact has no credential with this id."
    )
    assert (await client.post(_revoke_path("not-a-uuid"), headers=ADMIN)).status_code == 404
    assert (await client.post(_revoke_path(janes), headers=jane)).status_code == 403
    assert (await client.get("/products", headers=jane)).status_code == 200
