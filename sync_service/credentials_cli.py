"""`dualsync credentials list CONTACT` and `dualsync credentials revoke CONTACT CREDENTIAL_ID`.

They ask the running API with DUALSYNC_ADMIN_TOKEN, as an administrator's client would: a
revocation is a command like any other, and the verb returns once it took effect (the next
request with the credential gets 401). CONTACT is a contact id or its e-mail address.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from sync_service.api_client import api_base_url, call_api
from sync_service.settings import Settings

__all__ = ["add_credentials_verb", "run_credentials_verb"]

EXIT_REFUSED = 1


class _Refused(Exception):
    pass


def add_credentials_verb(verbs: Any) -> None:
    """Add `credentials list|revoke` to the CLI's sub-commands."""
    credentials = verbs.add_parser(
        "credentials", help="the API credentials of a contact: list them, revoke one"
    )
    actions = credentials.add_subparsers(dest="credentials_verb", required=True)
    listing = actions.add_parser("list", help="the contact's credentials, newest first")
    revoke = actions.add_parser("revoke", help="revoke one; it gets 401 from the next request")
    for parser in (listing, revoke):
        parser.add_argument("contact", metavar="CONTACT", help="a contact id or e-mail address")
    revoke.add_argument("credential_id", type=UUID, metavar="CREDENTIAL_ID")
    listing.add_argument("--json", action="store_true", help="JSON instead of a table")
    for parser in (listing, revoke):
        parser.add_argument(
            "--api", metavar="URL", help="the API's base URL (default: DUALSYNC_API_HOST/_PORT)"
        )


async def run_credentials_verb(args: argparse.Namespace, settings: Settings) -> int:
    """Run `credentials list` or `credentials revoke`; 1 when the API refuses."""
    token = settings.admin_token.get_secret_value() if settings.admin_token else None
    if not token:
        print(
            "dualsync: error: set DUALSYNC_ADMIN_TOKEN (the bootstrap credential)", file=sys.stderr
        )
        return EXIT_REFUSED
    base = (args.api or api_base_url(settings)).rstrip("/")
    try:
        return await asyncio.to_thread(_run, args, base, token)
    except _Refused as refused:
        print(f"dualsync: error: {refused}", file=sys.stderr)
        return EXIT_REFUSED
    except OSError as error:
        print(f"dualsync: error: the API at {base} does not answer ({error})", file=sys.stderr)
        return EXIT_REFUSED


def _run(args: argparse.Namespace, base: str, token: str) -> int:
    contact_id = _contact_id(base, token, args.contact)
    path = f"/admin/contacts/{contact_id}/credentials"
    if args.credentials_verb == "revoke":
        status, answer = call_api(base, "POST", f"{path}/{args.credential_id}/revoke", token)
        if status == 202:
            print(f"dualsync: revocation sent; not applied yet: {base}{answer['status_url']}")
            return 0
        if status != 200:
            raise _Refused(f"revoking {args.credential_id} was refused ({status}: {answer})")
        print(f"dualsync: credential {args.credential_id} revoked: it opens nothing any more")
        return 0
    status, answer = call_api(base, "GET", path, token)
    if status != 200:
        raise _Refused(f"listing the credentials was refused ({status}: {answer})")
    if args.json:
        print(json.dumps(answer, indent=2))
        return 0
    print(f"{'CREDENTIAL_ID':36}  {'STATUS':8}  {'CREATED':25}  {'EXPIRES':25}  REVOKED")
    for item in answer:
        revoked = f"{item['revoked_at']} by {item['revoked_by']}" if item["revoked_at"] else "-"
        created, expires = item["created_at"] or "-", item["expires_at"] or "never"
        print(
            f"{item['credential_id']:36}  {item['status']:8}  {created:25}  {expires:25}  {revoked}"
        )
    return 0


def _contact_id(base: str, token: str, contact: str) -> UUID:
    """CONTACT as an id: itself, or the one contact with that e-mail address."""
    try:
        return UUID(contact)
    except ValueError:
        pass
    status, found = call_api(base, "GET", "/admin/contacts?" + urlencode({"email": contact}), token)
    if status != 200:
        raise _Refused(f"finding {contact} was refused ({status}: {found})")
    if len(found) != 1:
        raise _Refused(f"{len(found)} contacts have the e-mail address {contact}, not one")
    return UUID(found[0]["contact_id"])
