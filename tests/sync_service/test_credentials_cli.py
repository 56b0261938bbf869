"""`dualsync credentials list|revoke`: an administrator's verbs, against a running API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator

import pytest

from sync_service.demo_data import JANE_CONTACT_ID
from sync_service.domain.credentials import credential_id, hash_secret
from tests.portal_api.live_server import LivePortal, live_portal
from tests.stack import Stack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def live(stack: Stack, template_database: str) -> Iterator[LivePortal]:
    with live_portal(stack, template_database) as running:
        yield running


def _dualsync(
    live: LivePortal, *args: str, token: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sync_service.cli", "credentials", *args, "--api", live.base_url],
        env={**os.environ, "DUALSYNC_ADMIN_TOKEN": token or live.admin_token},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _status_with(live: LivePortal, token: str) -> int:
    request = urllib.request.Request(
        f"{live.base_url}/products", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_list_then_revoke_and_the_credential_opens_nothing(live: LivePortal) -> None:
    janes = str(credential_id(hash_secret(live.jane_token)))
    assert _status_with(live, live.jane_token) == 200

    listed = _dualsync(live, "list", "jane@x.example")  # by e-mail address, or by id
    assert listed.returncode == 0, listed.stderr
    [row] = [line for line in listed.stdout.splitlines() if line.startswith(janes)]
    assert row.split()[1] == "active"
    assert live.jane_token not in listed.stdout
    assert hash_secret(live.jane_token) not in listed.stdout

    revoked = _dualsync(live, "revoke", str(JANE_CONTACT_ID), janes)

    assert revoked.returncode == 0, revoked.stderr
    assert f"credential {janes} revoked" in revoked.stdout
    assert _status_with(live, live.jane_token) == 401  # at once: the verb waited for it
    as_json = _dualsync(live, "list", str(JANE_CONTACT_ID), "--json")
    [item] = [i for i in json.loads(as_json.stdout) if i["credential_id"] == janes]
    assert (item["status"], item["revoked_by"]) == ("revoked", "admin")
    again = _dualsync(live, "revoke", str(JANE_CONTACT_ID), janes)
    assert again.returncode == 1 and "the credential was revoked before" in again.stderr


def test_unknown_contacts_credentials_and_tokens_are_refused(live: LivePortal) -> None:
    nobody = _dualsync(live, "list", "nobody@x.example")
    assert nobody.returncode == 1 and "0 contacts" in nobody.stderr
    unknown = _dualsync(live, "revoke", str(JANE_CONTACT_ID), str(uuid.uuid4()))
    assert unknown.returncode == 1
    assert "404: the contact has no credential with this id" in unknown.stderr
    wrong = _dualsync(live, "list", str(JANE_CONTACT_ID), token="not-the-token")
    assert wrong.returncode == 1 and "401" in wrong.stderr
