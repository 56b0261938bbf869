"""No secret in clear: after a whole flow, every table, topic record and log line is searched.

The flow, through the API and the portal's pages with the services beside them (command
processor, relay, projections, outbound mapping): the administrator invites a contact (and
opens the ops page with the bootstrap token); the
contact redeems the code for an API credential, redeems it again in the portal with a password,
signs in (a session cookie) and submits an order, which reaches SCM. Then each secret in use
(the code, the credential, the password, the session ids, the administrator's token, the
command signing key) is looked for, as it is and in the obvious encodings, in every row of
every table of the test's database, in the key, value and headers of every record of every topic
of the test's prefix, and in every log line written meanwhile (JSON, as services write them).
"""

from __future__ import annotations

import base64
import io
import logging
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from urllib.parse import quote, quote_plus

import asyncpg  # type: ignore[import-untyped]
import pytest
import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from contracts.topics import PORTAL_COMMANDS, SCM_SALESORDERS
from portal_api.ops_page.session import OPS_COOKIE
from portal_api.portal_session import SESSION_COOKIE
from sync_service.demo_data import JANE_CONTACT_ID
from sync_service.domain.credentials import hash_secret
from sync_service.logs import configure_logging
from sync_service.mappings.outbound import OutboundWorker
from sync_service.settings import Settings
from tests.conftest import _asyncpg_dsn
from tests.kafka_roles import as_role
from tests.portal_api.conftest import ADMIN, ADMIN_TOKEN, Portal
from tests.portal_api.views_helpers import ORDER, eventually

pytestmark = pytest.mark.integration

PASSWORD = "Maple-Orbit-Quartz-0417"
_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


@contextmanager
def _service_logs(settings: Settings) -> Iterator[io.StringIO]:
    """Every log line (ours and the libraries') as the services write them, into a buffer."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging.getLogger("aiokafka").level)
    configure_logging(settings.model_copy(update={"log_format": "json", "log_level": "DEBUG"}))
    lines = io.StringIO()
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(lines)
    # The test's own HTTP client logs each URL it asks for; no service uses httpx.
    client_logger = logging.getLogger("httpx")
    client_level = client_logger.level
    client_logger.setLevel(logging.WARNING)
    try:
        yield lines
    finally:
        root.handlers[:], level, kafka_level = saved
        root.setLevel(level)
        logging.getLogger("aiokafka").setLevel(kafka_level)
        client_logger.setLevel(client_level)
        structlog.reset_defaults()


@pytest.fixture
async def logs(portal: Portal) -> AsyncIterator[io.StringIO]:
    with _service_logs(portal.settings) as lines:
        yield lines


def _forms(secret: str) -> dict[str, str]:
    """`secret` as it is and in the encodings a careless line of code would store it in."""
    raw = secret.encode("utf-8")
    forms = {
        "clear": secret,
        "base64": base64.b64encode(raw).decode(),
        "base64url": base64.urlsafe_b64encode(raw).decode().rstrip("="),
        "hex": raw.hex(),
        "url-quoted": quote(secret, safe=""),
        "form-encoded": quote_plus(secret),
    }
    try:  # a token is itself base64url: its bytes, re-encoded, are the same secret
        decoded = base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))
    except ValueError:
        decoded = b""
    if len(decoded) >= 16:
        forms["decoded, hex"] = decoded.hex()
        forms["decoded, base64"] = base64.b64encode(decoded).decode().rstrip("=")
    return forms


def _found(secrets: dict[str, str], where: str, text: str, findings: list[str]) -> None:
    folded = text.casefold()
    for name, secret in secrets.items():
        for form, encoded in _forms(secret).items():
            if encoded.casefold() in folded:
                findings.append(f"{name} ({form}) in {where}")


async def _tables(settings: Settings) -> dict[str, str]:
    """Every row of every table of the test's database, as text (each row as one string)."""
    connection = await asyncpg.connect(_asyncpg_dsn(settings.database_url))
    try:
        tables = await connection.fetch(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' "
            "AND table_schema NOT IN ('pg_catalog', 'information_schema')"
        )
        found = {}
        for table in tables:
            name = f'"{table["table_schema"]}"."{table["table_name"]}"'
            rows = await connection.fetch(f"SELECT t::text AS row FROM {name} AS t")
            found[name] = "\n".join(row["row"] for row in rows)
        return found
    finally:
        await connection.close()


async def _topics(settings: Settings) -> dict[str, str]:
    """Every record of every topic of the test's prefix: key, value and headers, as text."""
    # As the operator, who may read every topic (and so must find no secret there).
    admin = AIOKafkaAdminClient(**as_role(settings, "operator"))
    await admin.start()
    try:
        names = [t for t in await admin.list_topics() if t.startswith(settings.topic_prefix)]
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(**as_role(settings, "operator"), enable_auto_commit=False)
    await consumer.start()
    found: dict[str, list[str]] = {name: [] for name in names}
    try:
        await consumer._client.force_metadata_update()
        partitions = [
            TopicPartition(name, partition)
            for name in names
            for partition in consumer.partitions_for_topic(name) or ()
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            batches = await consumer.getmany(timeout_ms=1000)
            for tp, records in batches.items():
                for record in records:
                    parts = [record.key or b"", record.value or b""]
                    parts += [
                        name.encode() + b"=" + (value or b"") for name, value in record.headers
                    ]
                    found[tp.topic].append(b" ".join(parts).decode("utf-8", "replace"))
    finally:
        await consumer.stop()
    return {name: "\n".join(records) for name, records in found.items()}


async def _on_scm(settings: Settings, order_id: str) -> bool:
    return order_id in (await _topics(settings)).get(settings.topic(SCM_SALESORDERS), "")


async def _page_token(portal: Portal, path: str) -> str:
    page = await portal.client.get(path)
    found = _CSRF.search(page.text)
    assert found is not None, page.text
    return found.group(1)


async def test_no_code_credential_password_session_token_or_key_is_stored_sent_or_logged(
    portal: Portal, outbound: OutboundWorker, logs: io.StringIO
) -> None:
    client = portal.client
    # The administrator invites Jane (two redemptions: one for the API, one for the portal).
    invited = await client.post(
        "/admin/invitations",
        json={"contact_id": str(JANE_CONTACT_ID), "kind": "group", "max_redemptions": 2},
        headers=ADMIN,
    )
    assert invited.status_code == 201, invited.text
    code = str(invited.json()["code"])
    # ... and opens the ops page with the bootstrap token (an ops session of its own).
    ops = await client.post(
        "/ops/login", data={"credential": ADMIN_TOKEN}, headers={"Origin": "http://portal.test"}
    )
    assert ops.status_code == 303, ops.text
    ops_session = ops.cookies[OPS_COOKIE]
    assert (await client.get("/ops")).status_code == 200
    redeemed = await client.post("/invitations/redeem", json={"code": code})
    assert redeemed.status_code == 200, redeemed.text
    credential = str(redeemed.json()["credential"])
    # In the portal: the code again with a password, then signed out and in again.
    token = await _page_token(portal, f"/portal/invitation?code={quote(code)}")
    form = {"csrf_token": token, "code": code, "password": PASSWORD, "confirmation": PASSWORD}
    done = await client.post("/portal/invitation", data=form)
    assert done.status_code == 303, done.text
    first_session = client.cookies.get(SESSION_COOKIE)
    token = await _page_token(portal, "/portal/")  # the session's own form token
    signed_out = await client.post("/portal/sign-out", data={"csrf_token": token})
    assert signed_out.status_code == 303, signed_out.text
    client.cookies.clear()
    token = await _page_token(portal, "/portal/sign-in")
    form = {"csrf_token": token, "email": "jane@x.example", "password": PASSWORD, "next": ""}
    signed_in = await client.post("/portal/sign-in", data=form)
    assert signed_in.status_code == 303, signed_in.text
    session = client.cookies.get(SESSION_COOKIE)
    assert session and first_session and session != first_session
    assert (await client.get("/portal/orders")).status_code == 200
    # Jane orders with her credential; the order reaches SCM.
    bearer = {"Authorization": f"Bearer {credential}"}
    accepted = await client.post("/orders", json=ORDER, headers=bearer)
    assert accepted.status_code == 202, accepted.text
    order_id = str(accepted.json()["order_id"])
    assert await eventually(lambda: _on_scm(portal.settings, order_id), bool)

    signing_key = portal.settings.command_signing_key
    assert signing_key is not None
    secrets = {
        "invitation code": code,
        "credential": credential,
        "password": PASSWORD,
        "session id": session,
        "earlier session id": first_session,
        "admin token": ADMIN_TOKEN,
        "ops session id": ops_session,
        "command signing key": signing_key.get_secret_value(),
    }
    findings: list[str] = []
    tables = await _tables(portal.settings)
    for table, rows in tables.items():
        _found(secrets, f"table {table}", rows, findings)
    topics = await _topics(portal.settings)
    for topic, records in topics.items():
        _found(secrets, f"topic {topic}", records, findings)
    written = logs.getvalue()
    _found(secrets, "the log", written, findings)

    assert findings == []
    # The search looked where the flow wrote: it would have seen them.
    assert hash_secret(code) in tables['"public"."invitations"']  # kept as its hash only
    assert hash_secret(credential) in tables['"public"."credentials"']
    assert "dualsync-signature=" in topics[portal.settings.topic(PORTAL_COMMANDS)]
    assert order_id in topics[portal.settings.topic(SCM_SALESORDERS)]
    assert "command.handled" in written and "InvitationRedeemed" in "".join(topics.values())
