"""Commands that can never be applied get a `rejected` outcome, and the partition moves on.

Against the real Kafka and PostgreSQL. Some commands are refused by the contracts (decode) and
some only by the database; either way the outcome is `rejected` and what follows is applied.
Database faults that no contract can foresee are made real by triggers in the test's database.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.topics import PORTAL_COMMANDS
from sync_service.command_processor import (
    CONSUMER_GROUP,
    CommandProcessor,
    Handled,
    command_key,
    subscribe_command_processor,
)
from sync_service.demo_data import JANE_CONTACT_ID, SAM_CONTACT_ID
from sync_service.eventstore.postgres import PostgresEventStore
from sync_service.settings import Settings
from sync_service.topics import ensure_topics
from sync_service.writemodel import CommandOutcome
from sync_service.writemodel.postgres import PostgresWriteModelReader
from tests.command_signing import signed_headers
from tests.kafka_roles import role_broker
from tests.sync_service.factories import hostile_wire, submit_order, upsert_contact, wire
from tests.sync_service.test_command_processor import _outcome, _publish

pytestmark = pytest.mark.integration

POISON_ATTEMPTS = 3
NUL_ADDRESS = {"street": "A\x00B", "city": "Redmond", "postal_code": "98052"}


@pytest.fixture
def poison_processor(demo: PostgresEventStore, settings: Settings) -> CommandProcessor:
    return CommandProcessor(
        demo,
        verifier=settings.command_verifier(),
        max_backoff_s=0.05,
        poison_attempts=POISON_ATTEMPTS,
    )


@pytest.fixture
async def consuming(settings: Settings, poison_processor: CommandProcessor) -> AsyncIterator[None]:
    await ensure_topics(settings, [PORTAL_COMMANDS])
    broker = role_broker(settings, "command-processor")
    subscribe_command_processor(broker, settings, poison_processor)
    await broker.start()
    yield
    await broker.stop()


def _clean(outcome: CommandOutcome) -> None:
    """The outcome names fields and reasons, never the poison itself (nor any control char)."""
    texts = [outcome.command_type, *(f"{e.field}{e.message}" for e in outcome.errors)]
    assert all(text.isprintable() for text in texts), texts


async def _orders_submitted(store: PostgresEventStore, order_id: uuid.UUID) -> int:
    events = await store.read_stream(f"order-{order_id}")
    return sum(event.event_type == "OrderSubmitted" for event in events)


@pytest.mark.usefixtures("consuming")
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"delivery_address": NUL_ADDRESS}, "delivery_address.street"),
        ({"requisition_number": "REQ\x00-1"}, "requisition_number"),
    ],
)
async def test_an_order_with_a_nul_is_rejected_and_the_orders_after_it_are_applied(
    settings: Settings,
    producer: AIOKafkaProducer,
    reader: PostgresWriteModelReader,
    demo: PostgresEventStore,
    changes: dict[str, Any],
    field: str,
) -> None:
    poison = submit_order()
    key = command_key(poison)
    later = [submit_order() for _ in range(3)]
    started = time.monotonic()
    await _publish(producer, settings, key, hostile_wire(poison, **changes))
    for command in later:  # the same key: the same partition, behind the poison
        await _publish(producer, settings, key, wire(command))

    refused = await _outcome(reader, poison.command_id)
    took = time.monotonic() - started

    assert refused.status == "rejected"
    # The database (`delivery_address.street`) or the contract (`payload.delivery_...`) names it.
    assert any(error.field.endswith(field) for error in refused.errors), refused.errors
    _clean(refused)
    assert took < 15, f"the rejection took {took:.1f} s"
    for command in later:
        assert (await _outcome(reader, command.command_id)).status == "accepted"
        assert await _orders_submitted(demo, command.order_id) == 1
    assert await _orders_submitted(demo, poison.order_id) == 0


@pytest.mark.usefixtures("consuming")
async def test_a_contact_with_a_nul_firstname_is_rejected_and_the_next_change_applies(
    settings: Settings,
    producer: AIOKafkaProducer,
    reader: PostgresWriteModelReader,
) -> None:
    poison = upsert_contact(SAM_CONTACT_ID)
    fixed = upsert_contact(SAM_CONTACT_ID, firstname="Samuel")
    await _publish(
        producer, settings, command_key(poison), hostile_wire(poison, firstname="Sa\x00m")
    )
    await _publish(producer, settings, command_key(fixed), wire(fixed))

    refused = await _outcome(reader, poison.command_id)
    assert refused.status == "rejected"
    assert any(error.field.endswith("firstname") for error in refused.errors), refused.errors
    _clean(refused)
    assert (await _outcome(reader, fixed.command_id)).status == "accepted"
    contact = await reader.contact(SAM_CONTACT_ID)
    assert contact is not None and contact.first_name == "Samuel"


@pytest.mark.usefixtures("consuming")
async def test_a_malformed_command_whose_type_holds_a_nul_is_recorded_not_retried(
    settings: Settings, producer: AIOKafkaProducer, reader: PostgresWriteModelReader
) -> None:
    broken = submit_order()
    raw = wire(broken).replace(b'"type":"SubmitOrder"', b'"type":"Submit\\u0000Order"')
    assert raw != wire(broken)
    after = submit_order()
    await _publish(producer, settings, command_key(broken), raw)
    await _publish(producer, settings, command_key(broken), wire(after))

    refused = await _outcome(reader, broken.command_id)
    assert refused.status == "rejected" and refused.command_type == "Submit\\x00Order"
    assert (await _outcome(reader, after.command_id)).status == "accepted"


def _settled(fault: str) -> float:
    """dualsync_poison_records_total of the command processor's rejections of this fault."""
    labels = {"consumer": CONSUMER_GROUP, "settlement": "rejected", "fault": fault}
    return REGISTRY.get_sample_value("dualsync_poison_records_total", labels) or 0.0


async def _refuse_marker(engine: AsyncEngine, sqlstate: str) -> None:
    """A trigger on the write model's contacts: a contact named MARKER is refused with
    `sqlstate`; each refusal draws from a sequence, which a rollback does not undo."""
    async with engine.begin() as connection:
        await connection.execute(text("CREATE SEQUENCE marker_refusals"))
        await connection.execute(
            text(
                f"""
                CREATE FUNCTION refuse_marker() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.firstname = 'MARKER' THEN
                        PERFORM nextval('marker_refusals');
                        RAISE EXCEPTION 'refused by the test' USING ERRCODE = '{sqlstate}';
                    END IF;
                    RETURN NEW;
                END $$
                """
            )
        )
        await connection.execute(
            text(
                "CREATE TRIGGER refuse_marker BEFORE INSERT OR UPDATE ON contacts "
                "FOR EACH ROW EXECUTE FUNCTION refuse_marker()"
            )
        )


async def _refusals(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int(
            await connection.scalar(
                text("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM marker_refusals")
            )
            or 0
        )


async def test_a_deterministic_database_error_rejects_at_the_first_attempt(
    engine: AsyncEngine,
    poison_processor: CommandProcessor,
    reader: PostgresWriteModelReader,
) -> None:
    await _refuse_marker(engine, "22023")  # invalid_parameter_value: a data exception
    poison = upsert_contact(JANE_CONTACT_ID, firstname="MARKER")
    after = upsert_contact(JANE_CONTACT_ID, firstname="Janet")
    settled = _settled("deterministic")

    assert await poison_processor.handle(wire(poison)) is Handled.REJECTED
    assert await poison_processor.handle(wire(after)) is Handled.ACCEPTED
    assert _settled("deterministic") == settled + 1

    refused = await _outcome(reader, poison.command_id)
    [error] = refused.errors
    assert error.field == "$" and "SQLSTATE 22023" in error.message
    assert await _refusals(engine) == 1
    contact = await reader.contact(JANE_CONTACT_ID)
    assert contact is not None and contact.first_name == "Janet"


async def test_an_unexpected_failure_that_repeats_is_rejected_after_the_bound(
    engine: AsyncEngine,
    poison_processor: CommandProcessor,
    reader: PostgresWriteModelReader,
    demo: PostgresEventStore,
) -> None:
    await _refuse_marker(engine, "P0001")  # raise_exception: neither transient nor data
    poison = upsert_contact(JANE_CONTACT_ID, firstname="MARKER")
    settled = _settled("unexpected")

    assert await poison_processor.handle(wire(poison)) is Handled.REJECTED
    assert _settled("unexpected") == settled + 1

    assert await _refusals(engine) == POISON_ATTEMPTS
    refused = await _outcome(reader, poison.command_id)
    assert "refused by the test" in refused.errors[0].message
    # Settled like a domain refusal: a CommandRejected on the contact's stream, processed once.
    events = await demo.read_stream(f"contact-{JANE_CONTACT_ID}")
    assert events[-1].event_type == "CommandRejected"
    assert await demo.is_processed("dualsync-command-processor", str(poison.command_id))
    assert await poison_processor.handle(wire(poison)) is Handled.DUPLICATE


async def test_a_quantity_past_every_bound_is_rejected_at_once_never_looped(
    poison_processor: CommandProcessor, reader: PostgresWriteModelReader
) -> None:
    # 1E+999999 once overflowed Python's decimal context in the order's rules (decimal.Overflow,
    # an unexpected fault, retried until the bound); the contract now refuses it at decode.
    poison = submit_order()
    huge = [{"product_number": "P-1000", "quantity": "1E+999999", "unit": "box"}]

    assert await poison_processor.handle(hostile_wire(poison, lines=huge)) is Handled.MALFORMED

    refused = await _outcome(reader, poison.command_id)
    assert refused.status == "rejected"
    assert any(error.field.endswith("lines.0.quantity") for error in refused.errors), refused
    _clean(refused)


async def test_a_poison_command_in_a_batch_of_500_costs_a_few_rounds_and_the_rest_apply_once(
    poison_processor: CommandProcessor,
    reader: PostgresWriteModelReader,
    demo: PostgresEventStore,
) -> None:
    commands = [submit_order() for _ in range(499)]
    poison = submit_order()
    commands.insert(317, poison)
    raws = [wire(command) for command in commands]
    raws[317] = hostile_wire(poison, delivery_address=NUL_ADDRESS)
    started = time.monotonic()

    results = await poison_processor.handle_batch(raws)

    took = time.monotonic() - started
    expected = [Handled.ACCEPTED] * 500
    expected[317] = results[317]
    assert results == expected and results[317] in (Handled.REJECTED, Handled.MALFORMED)
    # Halves down to under 16: the batches of 500, 250, 125, 63, 31 and 15 fail, no more.
    assert poison_processor.batches_redone <= 6, poison_processor.batches_redone
    assert (await _outcome(reader, poison.command_id)).status == "rejected"
    counts = await asyncio.gather(*(_orders_submitted(demo, c.order_id) for c in commands))
    assert counts == [1] * 317 + [0] + [1] * 182
    assert took < 120, f"{took:.1f} s"


@pytest.mark.usefixtures("consuming")
async def test_records_the_framework_could_not_decode_do_not_stall_the_partition(
    settings: Settings, producer: AIOKafkaProducer, reader: PostgresWriteModelReader
) -> None:
    after = submit_order()
    key = command_key(after)
    topic = settings.topic(PORTAL_COMMANDS)
    json_header = [("content-type", b"application/json")]

    # Not the JSON its header says; nested beyond the parser's stack; a header not UTF-8.
    # Each signed, as the API would: what is tested is the processor's reading, not the signature.
    def signed(value: bytes, headers: list[tuple[str, bytes]]) -> dict[str, Any]:
        return {"key": key, "headers": [*headers, *signed_headers(settings, key, value)]}

    deep = b"[" * 100_000 + b"]" * 100_000
    await producer.send_and_wait(topic, b"{not json", **signed(b"{not json", json_header))
    await producer.send_and_wait(topic, deep, **signed(deep, []))
    value = wire(submit_order())
    await producer.send_and_wait(topic, value, **signed(value, [("x", b"\xff")]))
    last = wire(after)
    await producer.send_and_wait(topic, last, **signed(last, json_header))

    assert (await _outcome(reader, after.command_id)).status == "accepted"
