"""Property: any hostile text in any text field of any portal command settles, nothing stalls.

Each example fills every text field of every command type with a hostile string (one command
per field), puts the commands raw onto portal.commands.v1, each followed on its key by a valid
order, and waits until the processor's committed offsets reach the topic's end. Every hostile
command then has an outcome (accepted or rejected) and every order behind one is accepted.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.topics import PORTAL_COMMANDS
from sync_service.command_processor import (
    CONSUMER_GROUP,
    CommandProcessor,
    command_key,
    subscribe_command_processor,
)
from sync_service.db.schema import command_outcomes
from sync_service.demo_data import JANE_CONTACT_ID
from sync_service.eventstore.postgres import PostgresEventStore
from sync_service.settings import Settings
from sync_service.topics import ensure_topics
from tests.command_signing import signed_headers
from tests.hostile import HOSTILE_TEXT, Path, hostile_json, text_paths
from tests.kafka_offsets import until_consumed
from tests.kafka_roles import as_role, role_broker
from tests.sync_service.factories import invite, redeem, submit_order, upsert_contact, wire

pytestmark = pytest.mark.integration

COMMANDS: dict[str, Callable[[], Any]] = {
    "UpsertContact": lambda: upsert_contact(uuid.uuid4()),
    "InviteContact": lambda: invite(JANE_CONTACT_ID, f"code-hash-{uuid.uuid4()}"),
    "RedeemInvitation": lambda: redeem(JANE_CONTACT_ID, f"code-{uuid.uuid4()}", "credential"),
    "SubmitOrder": submit_order,
}
FIELDS: list[tuple[str, Path]] = [
    (name, path)
    for name, make in COMMANDS.items()
    for path in text_paths(type(make()), json.loads(wire(make()))["payload"])
]


@pytest.fixture
async def consuming(settings: Settings, demo: PostgresEventStore) -> AsyncIterator[None]:
    await ensure_topics(settings, [PORTAL_COMMANDS])
    broker = role_broker(settings, "command-processor")
    processor = CommandProcessor(
        demo, verifier=settings.command_verifier(), max_backoff_s=0.05, poison_attempts=2
    )
    subscribe_command_processor(broker, settings, processor)
    await broker.start()
    yield
    await broker.stop()


def test_every_text_field_of_every_command_is_tried() -> None:
    tried = {(name, ".".join(map(str, path))) for name, path in FIELDS}
    assert {("UpsertContact", "firstname"), ("SubmitOrder", "delivery_address.street"),
            ("SubmitOrder", "lines.0.unit"), ("RedeemInvitation", "credential_hash"),
            ("InviteContact", "code_hash")} <= tried  # fmt: skip
    assert len(FIELDS) >= 25


@pytest.mark.usefixtures("consuming")
@hypothesis_settings(
    max_examples=4,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # an example costs seconds: no shrinking
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
@given(values=st.lists(HOSTILE_TEXT, min_size=len(FIELDS), max_size=len(FIELDS)))
async def test_hostile_text_in_any_command_field_settles_and_the_next_order_is_accepted(
    settings: Settings, engine: AsyncEngine, values: list[str]
) -> None:
    hostile: dict[uuid.UUID, str] = {}
    behind: list[uuid.UUID] = []
    producer = AIOKafkaProducer(**as_role(settings, "api"), acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for (name, path), value in zip(FIELDS, values, strict=True):
            command, after = COMMANDS[name](), submit_order()
            raw = hostile_json(json.loads(wire(command)), path, value)
            topic, key = settings.topic(PORTAL_COMMANDS), command_key(command)
            # Signed: what a key holder (a faulty API) could send; unsigned ones are not read.
            await producer.send(topic, raw, key=key, headers=signed_headers(settings, key, raw))
            value = wire(after)  # behind it on its partition
            await producer.send(topic, value, key=key, headers=signed_headers(settings, key, value))
            hostile[command.command_id] = f"{name}.{'.'.join(map(str, path))}"
            behind.append(after.command_id)
        await producer.flush()
    finally:
        await producer.stop()
    await until_consumed(settings, PORTAL_COMMANDS, CONSUMER_GROUP, timeout_s=120)

    async with engine.connect() as connection:
        rows = await connection.execute(
            select(command_outcomes.c.command_id, command_outcomes.c.status).where(
                command_outcomes.c.command_id.in_([*hostile, *behind])
            )
        )
        outcomes = {row.command_id: row.status for row in rows}
    unsettled = [field for command_id, field in hostile.items() if command_id not in outcomes]
    assert unsettled == []
    assert {outcomes.get(command_id) for command_id in behind} == {"accepted"}
