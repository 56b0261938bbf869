"""Who may command: only what the portal API signed is decided (real Kafka and PostgreSQL).

The forger here may write to portal.commands.v1 (as anyone on the broker may without ACLs, or
a principal that is allowed to) but does not hold the signing key.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import AIOKafkaProducer  # type: ignore[import-untyped]
from prometheus_client import REGISTRY
from pydantic import SecretStr

from contracts.envelope import envelope, to_json_bytes
from contracts.topics import PORTAL_COMMANDS
from sync_service.command_processor import (
    CommandProcessor,
    CommandRecord,
    Handled,
    command_key,
    subscribe_command_processor,
)
from sync_service.demo_data import JANE_CONTACT_ID
from sync_service.domain.credentials import hash_secret, new_secret
from sync_service.eventstore.postgres import PostgresEventStore
from sync_service.settings import Settings
from sync_service.topics import ensure_topics
from sync_service.writemodel import CommandOutcome
from sync_service.writemodel.postgres import PostgresWriteModelReader
from tests.command_signing import new_signing_key, signed_headers
from tests.kafka_roles import role_broker
from tests.sync_service.factories import invite, redeem, submit_order, upsert_contact, wire

pytestmark = pytest.mark.integration

UNSIGNED = "the command is not signed: it was not sent by the portal API"
UNKNOWN_KEY = "the command is signed with a key this processor does not know"
BAD_SIGNATURE = "the command's signature does not match its content"


@pytest.fixture
def previous_key() -> str:
    """A key the processor still accepts (a rollout in progress); the API signs with another."""
    return new_signing_key()


@pytest.fixture
def processor_settings(settings: Settings, previous_key: str) -> Settings:
    return settings.model_copy(update={"command_signing_previous_keys": SecretStr(previous_key)})


@pytest.fixture
async def running(
    processor_settings: Settings, demo: PostgresEventStore
) -> AsyncIterator[CommandProcessor]:
    """The command processor consuming the test's commands topic, verifying with both keys."""
    await ensure_topics(processor_settings, [PORTAL_COMMANDS])
    verifier = processor_settings.command_verifier()
    processor = CommandProcessor(demo, verifier=verifier, max_backoff_s=0.2)
    broker = role_broker(processor_settings, "command-processor")
    subscribe_command_processor(broker, processor_settings, processor)
    await broker.start()
    yield processor
    await broker.stop()


async def _put(
    producer: AIOKafkaProducer,
    settings: Settings,
    key: bytes,
    value: bytes,
    headers: list[tuple[str, bytes]] | None = None,
) -> None:
    topic = settings.topic(PORTAL_COMMANDS)
    await producer.send_and_wait(topic, value, key=key, headers=headers or [])


async def _outcome(reader: PostgresWriteModelReader, command_id: uuid.UUID) -> CommandOutcome:
    for _ in range(600):  # 30 s
        if (outcome := await reader.command_outcome(command_id)) is not None:
            return outcome
        await asyncio.sleep(0.05)
    raise AssertionError(f"no outcome for command {command_id} within 30 s")


def _unverified(reason: str) -> float:
    labels = {"reason": reason}
    return REGISTRY.get_sample_value("dualsync_commands_unverified_total", labels) or 0.0


def _refused_for(outcome: CommandOutcome, message: str) -> None:
    assert outcome.status == "rejected"
    assert [(e.field, e.message) for e in outcome.errors] == [("signature", message)]


@pytest.mark.usefixtures("running")
async def test_a_forged_administrator_and_invitation_are_rejected_unread(
    settings: Settings,
    producer: AIOKafkaProducer,
    reader: PostgresWriteModelReader,
    demo: PostgresEventStore,
) -> None:
    before = _unverified("unsigned")
    new_admin = uuid.uuid4()
    # issued_by "admin" is all the bootstrap administrator's commands say about their sender.
    admin = upsert_contact(new_admin, web_roles=["administrator"], email="admin@forged.example")
    code = new_secret()
    invitation = invite(JANE_CONTACT_ID, hash_secret(code))
    for command in (admin, invitation):
        await _put(producer, settings, command_key(command), wire(command))

    for command in (admin, invitation):
        outcome = await _outcome(reader, command.command_id)
        _refused_for(outcome, UNSIGNED)
        assert outcome.command_type == type(command).message_type
    assert await reader.contact(new_admin) is None
    assert await reader.invitation_by_code_hash(hash_secret(code)) is None
    assert await demo.read_stream(f"contact-{new_admin}") == []
    assert await demo.read_stream(f"invitation-{invitation.invitation_id}") == []
    assert _unverified("unsigned") - before == 2


@pytest.mark.usefixtures("running")
async def test_a_forged_redemption_by_invitation_id_gets_no_credential(
    settings: Settings, producer: AIOKafkaProducer, reader: PostgresWriteModelReader
) -> None:
    code = new_secret()
    invitation = invite(JANE_CONTACT_ID, hash_secret(code))
    key, value = command_key(invitation), wire(invitation)
    await _put(producer, settings, key, value, signed_headers(settings, key, value))
    assert (await _outcome(reader, invitation.command_id)).status == "accepted"

    def naming_the_invitation(code_hash: str | None) -> tuple[str, object]:
        credential = new_secret()
        command = redeem(JANE_CONTACT_ID, hash_secret(new_secret()), hash_secret(credential))
        command = command.model_copy(
            update={"invitation_id": invitation.invitation_id, "code_hash": code_hash}
        )
        return credential, command

    # Unsigned: not read at all. Signed (a faulty API): the code's hash must be this invitation's.
    forged_credential, forged = naming_the_invitation(hash_secret("a guess"))
    await _put(producer, settings, command_key(forged), wire(forged))
    wrong_credential, wrong_code = naming_the_invitation(hash_secret("a guess"))
    no_credential, no_code = naming_the_invitation(None)
    for command in (wrong_code, no_code):
        key, value = command_key(command), wire(command)
        await _put(producer, settings, key, value, signed_headers(settings, key, value))

    _refused_for(await _outcome(reader, forged.command_id), UNSIGNED)
    outcome = await _outcome(reader, wrong_code.command_id)
    assert (outcome.status, [e.field for e in outcome.errors]) == ("rejected", ["code"])
    assert outcome.errors[0].message == "no invitation has this code"
    outcome = await _outcome(reader, no_code.command_id)
    assert (outcome.status, [e.field for e in outcome.errors]) == ("rejected", ["code_hash"])
    for credential in (forged_credential, wrong_credential, no_credential):
        assert await reader.caller_for_credential(hash_secret(credential)) is None
    still = await reader.invitation_by_code_hash(hash_secret(code))
    assert still is not None and still.redemptions == 0


@pytest.mark.usefixtures("running")
async def test_a_previous_key_is_accepted_an_unknown_key_and_a_changed_record_are_not(
    settings: Settings,
    previous_key: str,
    producer: AIOKafkaProducer,
    reader: PostgresWriteModelReader,
) -> None:
    before = {reason: _unverified(reason) for reason in ("unknown_key", "bad_signature")}
    old = Settings(command_signing_key=previous_key)
    attacker = Settings(command_signing_key=new_signing_key())
    by_previous, by_attacker, changed = (submit_order() for _ in range(3))
    for command, signer in ((by_previous, old), (by_attacker, attacker)):
        key, value = command_key(command), wire(command)
        await _put(producer, settings, key, value, signed_headers(signer, key, value))
    # Signed by the API, then one field changed on the way: Jane's order made another's.
    key, value = command_key(changed), wire(changed)
    headers = signed_headers(settings, key, value)
    data = json.loads(value)
    data["payload"]["issued_by"] = "admin"
    await _put(producer, settings, key, json.dumps(data).encode(), headers)

    assert (await _outcome(reader, by_previous.command_id)).status == "accepted"
    _refused_for(await _outcome(reader, by_attacker.command_id), UNKNOWN_KEY)
    _refused_for(await _outcome(reader, changed.command_id), BAD_SIGNATURE)
    assert _unverified("unknown_key") - before["unknown_key"] == 1
    assert _unverified("bad_signature") - before["bad_signature"] == 1


@pytest.mark.usefixtures("running")
async def test_an_unsigned_copy_of_a_command_the_api_issued_cannot_settle_it_first(
    settings: Settings, producer: AIOKafkaProducer, reader: PostgresWriteModelReader
) -> None:
    genuine = submit_order()
    # The API records the issuer before it publishes; a reader of the topic copies the command
    # onto another partition (another key), unsigned, hoping it is read first.
    await reader.record_command_issuer(genuine.command_id, genuine.issued_by)
    copy_key = b"order-" + str(uuid.uuid4()).encode()
    await _put(producer, settings, copy_key, wire(genuine))
    follower = submit_order()  # behind the copy on its partition: the copy was read by then
    follower = follower.model_copy(update={"order_id": uuid.UUID(copy_key.decode()[6:])})
    key, value = copy_key, wire(follower)
    await _put(producer, settings, key, value, signed_headers(settings, key, value))
    assert (await _outcome(reader, follower.command_id)).status == "accepted"
    assert await reader.command_outcome(genuine.command_id) is None

    key, value = command_key(genuine), wire(genuine)
    await _put(producer, settings, key, value, signed_headers(settings, key, value))
    assert (await _outcome(reader, genuine.command_id)).status == "accepted"


@pytest.mark.usefixtures("running")
async def test_a_record_too_broken_to_name_a_command_is_logged_and_the_partition_moves_on(
    settings: Settings, producer: AIOKafkaProducer, reader: PostgresWriteModelReader
) -> None:
    after = submit_order()
    key, value = command_key(after), wire(after)
    await _put(producer, settings, key, b"\x00not a command")
    await _put(producer, settings, key, value, signed_headers(settings, key, value))
    assert (await _outcome(reader, after.command_id)).status == "accepted"


async def test_a_batch_keeps_its_order_around_an_unverified_record(
    settings: Settings, processor: CommandProcessor, reader: PostgresWriteModelReader
) -> None:
    first, forged, last = submit_order(), upsert_contact(uuid.uuid4()), submit_order()

    def record(command: object, signed: bool) -> CommandRecord:
        key, value = command_key(command), wire(command)  # type: ignore[arg-type]
        headers = signed_headers(settings, key, value) if signed else []
        return CommandRecord(value=value, key=key, headers=headers)

    handled = await processor.handle_records(
        [record(first, True), record(forged, False), record(last, True)]
    )
    assert handled == [Handled.ACCEPTED, Handled.UNVERIFIED, Handled.ACCEPTED]
    assert await reader.contact(forged.contact_id) is None


async def test_an_expired_invitation_is_refused_whatever_the_command_says_its_time_was(
    settings: Settings, demo: PostgresEventStore, reader: PostgresWriteModelReader
) -> None:
    now = datetime.now(UTC)
    clock = [now]
    processor = CommandProcessor(
        demo, verifier=settings.command_verifier(), clock=lambda: clock[0], max_backoff_s=0.2
    )
    code = new_secret()
    invitation = invite(JANE_CONTACT_ID, hash_secret(code), expires_at=now + timedelta(hours=1))
    assert await processor.handle(wire(invitation)) is Handled.ACCEPTED

    def redemption_said_at(occurred_at: datetime) -> tuple[uuid.UUID, bytes]:
        command = redeem(JANE_CONTACT_ID, hash_secret(code), hash_secret(new_secret()))
        sent = envelope(
            command,
            origin="portal",
            company="usmf",
            message_id=command.command_id,
            occurred_at=occurred_at,
        )
        return command.command_id, to_json_bytes(sent)

    clock[0] = now + timedelta(hours=2)  # the processor gets to it after the expiry
    late, value = redemption_said_at(now)  # ... but the sender says it redeemed in time
    assert await processor.handle(value) is Handled.REJECTED
    outcome = await reader.command_outcome(late)
    assert outcome is not None and outcome.errors[0].message == "the invitation has expired"

    clock[0] = now + timedelta(minutes=30)  # the same code, processed in time, says "late"
    in_time, value = redemption_said_at(now + timedelta(days=30))
    assert await processor.handle(value) is Handled.ACCEPTED
    outcome = await reader.command_outcome(in_time)
    assert outcome is not None and outcome.status == "accepted"
