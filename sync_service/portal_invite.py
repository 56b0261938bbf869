"""`dualsync portal-invite EMAIL`: an invitation link for a contact, from the running API.

`make run` runs it for the demo administrator once the API answers, so that the first person
can choose a password and sign in to the portal without writing an HTTP request by hand. The
demo administrator has no Account Number, which an invitation needs (SPEC §3): `make run` gives
it customer Y's (as the API tests do) with `--account-number`. It asks
the API (with the bootstrap credential, DUALSYNC_ADMIN_TOKEN) as any administrator would: the
invitation goes through the command bus like every other.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any
from urllib.parse import quote, urlencode

from sync_service.api_client import api_base_url
from sync_service.api_client import call_api as _call
from sync_service.settings import Settings

__all__ = ["add_portal_invite_verb", "api_base_url", "run_portal_invite"]

_POLL_S = 0.5


def add_portal_invite_verb(verbs: Any) -> None:
    """Add `portal-invite EMAIL [--api URL] [--wait SECONDS]` to the CLI's sub-commands."""
    invite = verbs.add_parser(
        "portal-invite",
        help="invite a contact to the portal through the running API; prints the link",
    )
    invite.add_argument("email", help="the contact's e-mail address, e.g. admin@portal.example")
    invite.add_argument(
        "--api", metavar="URL", help="the API's base URL (default: from DUALSYNC_API_HOST/_PORT)"
    )
    invite.add_argument(
        "--account-number", metavar="NUMBER",
        help="when the contact has no Account Number (an invitation needs one), give it this one "
        "first, as an administrator would on the contact's record (PUT /admin/contacts)",
    )  # fmt: skip
    invite.add_argument(
        "--wait", type=float, default=0.0, metavar="SECONDS",
        help="wait this long for the API to be ready (default: ask once)",
    )  # fmt: skip


class _Refused(Exception):
    pass


def _wait_until_ready(base: str, token: str, wait_s: float) -> None:
    deadline = time.monotonic() + wait_s
    while True:
        try:
            status, _ = _call(base, "GET", "/readyz", token)
            if status == 200:
                return
            why = f"/readyz answers {status}"
        except OSError as error:
            why = str(error)
        if time.monotonic() >= deadline:
            raise _Refused(f"the API at {base} is not ready ({why})")
        time.sleep(_POLL_S)


def _invite(base: str, token: str, email: str, account_number: str | None, wait_s: float) -> str:
    _wait_until_ready(base, token, wait_s)
    status, contacts = _call(base, "GET", "/admin/contacts?" + urlencode({"email": email}), token)
    if status != 200:
        raise _Refused(f"finding {email} was refused ({status}: {contacts})")
    if len(contacts) != 1:
        raise _Refused(f"{len(contacts)} contacts have the e-mail address {email}, not one")
    contact = contacts[0]
    contact_id = contact.pop("contact_id")
    if account_number and not contact.get("account_number"):
        record = {**contact, "account_number": account_number}
        status, answer = _call(base, "PUT", f"/admin/contacts/{contact_id}", token, record)
        if status not in (200, 202):
            raise _Refused(f"giving {email} the Account Number was refused ({status}: {answer})")
    body = {"contact_id": contact_id}
    status, created = _call(base, "POST", "/admin/invitations", token, body)
    if status == 202:
        created = created["invitation"]  # works once the command is accepted, in moments
    elif status != 201:
        raise _Refused(f"inviting {email} was refused ({status}: {created})")
    return f"{base}/portal/invitation?code={quote(created['code'], safe='')}"


async def run_portal_invite(args: argparse.Namespace, settings: Settings) -> int:
    """Print the invitation link of the contact with `args.email`; 1 when refused."""
    token = settings.admin_token.get_secret_value() if settings.admin_token else None
    if not token:
        message = "dualsync: error: set DUALSYNC_ADMIN_TOKEN (the bootstrap credential)"
        print(message, file=sys.stderr)
        return 1
    base = (args.api or api_base_url(settings)).rstrip("/")
    try:
        link = await asyncio.to_thread(
            _invite, base, token, args.email, args.account_number, args.wait
        )
    except _Refused as refused:
        print(f"dualsync: error: {refused}", file=sys.stderr)
        return 1
    print(f"dualsync: invitation for {args.email}: {link}")
    print(f"dualsync: open it to choose a password; then sign in at {base}/portal/sign-in")
    return 0
