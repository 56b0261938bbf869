"""The command processor through the real Kafka and PostgreSQL: decide, append, record, once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from aiokafka import AIOKafkaProducer  # type: ignore[import-untyped]
from faststream.kafka import KafkaBroker

from contracts.cds import SalesOrder
from contracts.topics import PORTAL_COMMANDS
from sync_service.command_processor import (
    CommandProcessor,
    Handled,
    command_key,
    subscribe_command_processor,
)
from sync_service.demo_data import JANE_CONTACT_ID
from sync_service.eventstore import StoredEvent
from sync_service.eventstore.postgres import PostgresEventStore
from sync_service.kafka_access import broker_security
from sync_service.settings import Settings
from sync_service.topics import ensure_topics
from sync_service.writemodel import CommandOutcome
from sync_service.writemodel.postgres import PostgresWriteModelReader
from tests.command_signing import signed_headers
from tests.sync_service.factories import submit_order, upsert_contact, wire

pytestmark = pytest.mark.integration


@pytest.fixture
async def running(settings: Settings, processor: CommandProcessor) -> AsyncIterator[None]:
    """A processor consuming the test's commands topic, in this process."""
    await ensure_topics(settings, [PORTAL_COMMANDS])
    broker = KafkaBroker(
        settings.kafka_bootstrap, security=broker_security(settings, "command-processor")
    )
    subscribe_command_processor(broker, settings, processor)
    await broker.start()
    yield
    await broker.stop()


async def _publish(
    producer: AIOKafkaProducer, settings: Settings, key: bytes, value: bytes
) -> None:
    headers = signed_headers(settings, key, value)  # as the API signs it
    await producer.send_and_wait(settings.topic(PORTAL_COMMANDS), value, key=key, headers=headers)


async def _outcome(reader: PostgresWriteModelReader, command_id: uuid.UUID) -> CommandOutcome:
    for _ in range(600):  # 30 s
        if (outcome := await reader.command_outcome(command_id)) is not None:
            return outcome
        await asyncio.sleep(0.05)
    raise AssertionError(f"no outcome for command {command_id} within 30 s")


def _only(events: list[StoredEvent], event_type: str) -> StoredEvent:
    matching = [event for event in events if event.event_type == event_type]
    assert len(matching) == 1, [event.event_type for event in events]
    return matching[0]


@pytest.mark.usefixtures("running")
async def test_a_published_order_is_stored_with_every_field_filled_and_accepted(
    settings: Settings,
    producer: AIOKafkaProducer,
    reader: PostgresWriteModelReader,
    demo: PostgresEventStore,
) -> None:
    command = submit_order()
    await _publish(producer, settings, command_key(command), wire(command))

    outcome = await _outcome(reader, command.command_id)

    assert (outcome.status, outcome.errors) == ("accepted", [])
    assert outcome.stream_id == f"order-{command.order_id}"
    stored = _only(await demo.read_stream(f"order-{command.order_id}"), "OrderSubmitted")
    assert (stored.origin, stored.company) == ("portal", "usmf")
    assert stored.causation_id == command.command_id  # the command's message id
    assert stored.correlation_id == command.command_id  # a new user action starts here
    order = SalesOrder.model_validate(stored.payload["order"])
    assert stored.payload["submitted_by"] == str(JANE_CONTACT_ID)
    assert (order.company, order.customer_account, order.invoice_account) == (
        "usmf",
        "US-001",
        "US-001",
    )
    assert (order.name, order.delivery_address_description) == (
        "sales order",
        "delivery address description",
    )
    assert (order.currency, order.price_list, order.language, order.ship_to_country) == (
        "USD",
        "PL-US-001",
        "en-us",
        "US",
    )
    assert order.contact_person_id == str(JANE_CONTACT_ID)
    assert [
        (line.sequence_number, line.price_per_unit, line.extended_amount) for line in order.lines
    ] == [
        (1, Decimal("9.00"), Decimal("27.00")),
        (2, Decimal("100.00"), Decimal("200.00")),
    ]
    assert {(line.ship_to_country, line.delivery_address_description) for line in order.lines} == {
        ("US", "delivery address description")
    }
    assert await demo.is_processed("dualsync-command-processor", str(command.command_id))


@pytest.mark.usefixtures("running")
async def test_a_refused_order_is_rejected_naming_every_field(
    settings: Settings,
    producer: AIOKafkaProducer,
    reader: PostgresWriteModelReader,
    demo: PostgresEventStore,
) -> None:
    command = submit_order(
        company="usmf",
        lines=[
            {"product_number": "P-1003", "quantity": "1", "unit": "box"},
            {"product_number": "NOPE", "quantity": "1", "unit": "ea"},
        ],
    )
    await _publish(producer, settings, command_key(command), wire(command))

    outcome = await _outcome(reader, command.command_id)

    fields = ["company", "lines[0].unit", "lines[1].product_number"]
    assert outcome.status == "rejected"
    assert [error.field for error in outcome.errors] == fields
    events = await demo.read_stream(f"order-{command.order_id}")
    assert [event.event_type for event in events] == ["CommandRejected"]
    assert [error["field"] for error in events[0].payload["errors"]] == fields
    assert events[0].payload["command_id"] == str(command.command_id)


@pytest.mark.usefixtures("running")
async def test_a_command_delivered_twice_makes_one_order(
    settings: Settings,
    producer: AIOKafkaProducer,
    reader: PostgresWriteModelReader,
    demo: PostgresEventStore,
) -> None:
    command = submit_order()
    for _ in range(2):
        await _publish(producer, settings, command_key(command), wire(command))
    # A later command on the same key: once it is done, both copies have been handled.
    after = submit_order(order_id=command.order_id)
    await _publish(producer, settings, command_key(after), wire(after))

    await _outcome(reader, after.command_id)

    events = await demo.read_stream(f"order-{command.order_id}")
    assert [event.event_type for event in events] == ["OrderSubmitted", "CommandRejected"]
    assert (await reader.command_outcome(command.command_id)).status == "accepted"  # type: ignore[union-attr]
    assert [e.field for e in (await _outcome(reader, after.command_id)).errors] == ["order_id"]


@pytest.mark.usefixtures("running")
async def test_a_malformed_record_is_recorded_and_does_not_block_the_partition(
    settings: Settings,
    producer: AIOKafkaProducer,
    reader: PostgresWriteModelReader,
) -> None:
    command = submit_order()
    key = command_key(command)
    broken_id = uuid.uuid4()
    await _publish(producer, settings, key, b"not json at all")
    await _publish(producer, settings, key, b'{"type": "Nonsense", "payload": {}}')
    invalid = wire(submit_order(command_id=broken_id)).replace(b'"P-1000"', b"42")
    await _publish(producer, settings, key, invalid)
    await _publish(producer, settings, key, wire(command))

    assert (await _outcome(reader, command.command_id)).status == "accepted"
    broken = await _outcome(reader, broken_id)
    assert broken.status == "rejected"
    assert broken.errors and broken.errors[0].field.startswith("payload.lines.0.product_number")


async def test_concurrent_commands_on_one_contact_are_all_applied(
    processor: CommandProcessor, demo: PostgresEventStore, reader: PostgresWriteModelReader
) -> None:
    # As two processor instances would after a rebalance: both decide on version 1, one wins
    # the append, the others reload and decide again. Nothing is lost.
    contact_id = JANE_CONTACT_ID
    commands = [upsert_contact(contact_id, firstname=f"Jane {n}") for n in range(8)]

    results = await asyncio.gather(*(processor.handle(wire(c)) for c in commands))

    assert results == [Handled.ACCEPTED] * len(commands)
    assert processor.conflicts_retried >= 1
    events = await demo.read_stream(f"contact-{contact_id}")
    assert len(events) == 1 + len(commands)  # the demo data's upsert, then every command
    contact = await reader.contact(contact_id)
    assert contact is not None
    assert contact.first_name == events[-1].payload["contact"]["firstname"]
    for command in commands:
        assert (await reader.command_outcome(command.command_id)).status == "accepted"  # type: ignore[union-attr]


async def test_handling_the_same_command_again_changes_nothing(
    processor: CommandProcessor, demo: PostgresEventStore
) -> None:
    command = submit_order()
    raw = wire(command)
    results = await asyncio.gather(*(processor.handle(raw) for _ in range(4)))

    assert sorted(result.value for result in results) == ["accepted"] + ["duplicate"] * 3
    assert len(await demo.read_stream(f"order-{command.order_id}")) == 1


async def test_a_batch_handles_each_command_on_its_own_merits(
    processor: CommandProcessor, demo: PostgresEventStore, reader: PostgresWriteModelReader
) -> None:
    handled_before = submit_order()
    assert await processor.handle(wire(handled_before)) is Handled.ACCEPTED
    first = submit_order()
    same_order_again = submit_order(order_id=first.order_id)  # decided after `first`, in-batch
    refused = submit_order(lines=[{"product_number": "NOPE", "quantity": "1", "unit": "ea"}])
    broken_id = uuid.uuid4()
    invalid = wire(submit_order(command_id=broken_id)).replace(b'"P-1000"', b"42")
    renamed = upsert_contact(JANE_CONTACT_ID, firstname="Janet")
    head = await demo.head_position()

    results = await processor.handle_batch(
        [
            wire(first),
            wire(first),  # the same command twice in one batch
            wire(handled_before),  # a redelivery of a command handled earlier
            b"not json at all",
            invalid,
            wire(same_order_again),
            wire(refused),
            wire(renamed),
        ]
    )

    assert results == [
        Handled.ACCEPTED,
        Handled.DUPLICATE,
        Handled.DUPLICATE,
        Handled.MALFORMED,
        Handled.MALFORMED,
        Handled.REJECTED,
        Handled.REJECTED,
        Handled.ACCEPTED,
    ]
    stream = await demo.read_stream(f"order-{first.order_id}")
    assert [event.event_type for event in stream] == ["OrderSubmitted", "CommandRejected"]
    assert [e.field for e in (await _outcome(reader, same_order_again.command_id)).errors] == [
        "order_id"
    ]
    assert (await _outcome(reader, broken_id)).status == "rejected"
    assert (await _outcome(reader, refused.command_id)).status == "rejected"
    assert len(await demo.read_stream(f"order-{handled_before.order_id}")) == 1
    contact = await reader.contact(JANE_CONTACT_ID)
    assert contact is not None and contact.first_name == "Janet"
    # One append for the batch, in the commands' order, at gap-free positions.
    appended = await demo.read_all(after_position=head)
    assert [event.position for event in appended] == list(range(head + 1, head + 5))
    assert [event.causation_id for event in appended] == [
        first.command_id,
        same_order_again.command_id,
        refused.command_id,
        renamed.command_id,
    ]
    for command in (first, same_order_again, refused, renamed):
        assert await demo.is_processed("dualsync-command-processor", str(command.command_id))


async def test_batches_that_collide_on_a_stream_fall_back_and_lose_nothing(
    processor: CommandProcessor, demo: PostgresEventStore, reader: PostgresWriteModelReader
) -> None:
    # As two processor instances would after a rebalance: both batches decide on the same
    # contact version; one append wins, the other batch is redone one command at a time.
    batches = [
        [upsert_contact(JANE_CONTACT_ID, firstname=f"Jane {b}-{n}") for n in range(3)]
        + [submit_order()]
        for b in range(3)
    ]

    results = await asyncio.gather(
        *(processor.handle_batch([wire(c) for c in batch]) for batch in batches)
    )

    assert results == [[Handled.ACCEPTED] * 4] * 3
    assert processor.batches_redone >= 1
    contact_events = await demo.read_stream(f"contact-{JANE_CONTACT_ID}")
    assert len(contact_events) == 1 + 9  # the demo data's upsert, then every command
    every = await demo.read_all(limit=10_000)
    assert [event.position for event in every] == list(range(1, len(every) + 1))
    for batch in batches:
        for command in batch:
            assert (await _outcome(reader, command.command_id)).status == "accepted"
