"""Who submits the chaos run's orders: the bootstrap Administrator and the demo contacts.

The contacts get their credentials the way a person does: the Administrator invites them
(`POST /admin/invitations`) and they redeem the code (`POST /invitations/redeem`). That happens
before any fault, so a failure here is a plain error of the setup, not a finding.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, Final
from uuid import UUID

import httpx

from sync_service.demo_data import JANE_CONTACT_ID, REP_CONTACT_ID, SAM_CONTACT_ID

__all__ = ["CONTACTS", "Caller", "sign_in"]

CONTACTS: Final = {
    "rep": REP_CONTACT_ID,  # Customer representative of customer X
    "jane": JANE_CONTACT_ID,  # Authorized users of X
    "sam": SAM_CONTACT_ID,
}
_POLL_S: Final = 0.25


@dataclass(frozen=True, slots=True)
class Caller:
    """One API client's identity: a name for the report and its bearer credential."""

    name: str
    token: str
    admin: bool

    @property
    def headers(self) -> dict[str, str]:
        """The Authorization header."""
        return {"Authorization": f"Bearer {self.token}"}


async def _until_accepted(
    client: httpx.AsyncClient, answer: httpx.Response, deadline: float
) -> None:
    """Wait for a command answered 202 (its outcome took longer than the API waits)."""
    if answer.status_code != 202:
        return
    location = answer.headers["Location"]
    while (await client.get(location)).json().get("status") != "accepted":
        if time.monotonic() > deadline:
            raise TimeoutError(f"{location} was not accepted in time")
        await asyncio.sleep(_POLL_S)


def _checked(answer: httpx.Response, *expected: int) -> dict[str, Any]:
    if answer.status_code not in expected:
        raise RuntimeError(
            f"{answer.request.method} {answer.request.url.path} answered "
            f"{answer.status_code}: {answer.text[:300]}"
        )
    body: dict[str, Any] = answer.json()
    return body


async def _contact(
    client: httpx.AsyncClient, admin: Caller, name: str, contact_id: UUID, deadline: float
) -> Caller:
    invited = await client.post(
        "/admin/invitations", json={"contact_id": str(contact_id)}, headers=admin.headers
    )
    code = _checked(invited, 201, 202)["code"]
    await _until_accepted(client, invited, deadline)
    redeemed = await client.post("/invitations/redeem", json={"code": code})
    caller = Caller(name, _checked(redeemed, 200, 202)["credential"], admin=False)
    await _until_accepted(client, redeemed, deadline)
    # The credential works once the redemption is in the write model the API reads.
    while (await client.get("/products", headers=caller.headers)).status_code != 200:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the credential of {name} did not work in time")
        await asyncio.sleep(_POLL_S)
    return caller


async def sign_in(api_url: str, admin_token: str, timeout_s: float = 60.0) -> list[Caller]:
    """The Administrator and a credential for each contact of CONTACTS, ready to use."""
    admin = Caller("admin", admin_token, admin=True)
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
        contacts = [
            await _contact(client, admin, name, contact_id, deadline)
            for name, contact_id in CONTACTS.items()
        ]
    return [admin, *contacts]
