"""`dualsync portal-invite`: the link `make run` prints for the demo administrator."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from sync_service.demo_data import ADMIN_CONTACT_ID
from tests.portal_api.live_server import LivePortal, live_portal
from tests.stack import Stack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def live(stack: Stack, template_database: str) -> Iterator[LivePortal]:
    with live_portal(stack, template_database) as running:
        yield running


def _invite(live: LivePortal, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sync_service.cli", "portal-invite", *args, "--api", live.base_url],
        env={**os.environ, "DUALSYNC_ADMIN_TOKEN": live.admin_token},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_demo_administrator_gets_a_link_that_redeems(live: LivePortal) -> None:
    # Without an Account Number the contact cannot be invited: the API's refusal says so.
    refused = _invite(live, "admin@portal.example")
    assert refused.returncode == 1 and "Account Number" in refused.stderr, refused.stderr

    invited = _invite(live, "admin@portal.example", "--account-number", "US-002", "--wait", "30")
    assert invited.returncode == 0, invited.stderr
    [link] = re.findall(r"(http://\S+/portal/invitation\?code=\S+)", invited.stdout)
    assert link.startswith(f"{live.base_url}/portal/invitation?code=")
    [code] = parse_qs(urlsplit(link).query)["code"]
    with urllib.request.urlopen(link, timeout=30) as page:
        assert page.status == 200 and f'value="{code}"' in page.read().decode()
    redeem = urllib.request.Request(
        f"{live.base_url}/invitations/redeem",
        data=json.dumps({"code": code}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(redeem, timeout=30) as answer:
        redeemed = json.loads(answer.read())
    assert redeemed["contact_id"] == str(ADMIN_CONTACT_ID)
    assert redeemed["web_roles"] == ["administrator"]


def test_an_unknown_address_and_a_missing_token_are_refused(live: LivePortal) -> None:
    unknown = _invite(live, "nobody@portal.example")
    assert unknown.returncode == 1 and "0 contacts" in unknown.stderr
    no_token = subprocess.run(
        [sys.executable, "-m", "sync_service.cli", "portal-invite", "admin@portal.example"],
        env={k: v for k, v in os.environ.items() if k != "DUALSYNC_ADMIN_TOKEN"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert no_token.returncode == 1 and "DUALSYNC_ADMIN_TOKEN" in no_token.stderr
