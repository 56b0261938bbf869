"""Poison records on the mapping workers' topics become dead letters; nothing stalls a partition.

Records are put on Kafka as raw bytes (the hostile value spliced into valid JSON), so neither the
models nor the API hide anything: whichever layer refuses a value (the contracts, PostgreSQL),
the record ends as a dead letter, or is applied when nothing refuses it; a later record of its
key is parked behind a dead letter, and a record of another key right after it arrives.
Database faults no contract can foresee are made real by triggers in the test's database.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.envelope import envelope, to_json_bytes
from contracts.scm import SalesOrderHeader
from contracts.topics import CDS_EVENTS, SCM_INBOUND, SCM_SALESORDERS
from sync_service.eventstore.postgres import PostgresEventStore
from sync_service.mappings.inbound import INBOUND_GROUP, InboundWorker, erp_order_id
from sync_service.mappings.outbound import OUTBOUND_GROUP, OutboundWorker
from sync_service.mappings.tables import dead_letters, parked_records
from sync_service.settings import Settings
from sync_service.streams import order_stream
from tests.kafka_offsets import until_consumed
from tests.sync_service.mappings.orders import order_event, portal_order
from tests.sync_service.mappings.test_inbound import erp_header
from tests.sync_service.mappings.wire import read, send, send_raw

pytestmark = pytest.mark.integration

MARKER = "POISON-MARKER"
DEEP = 100_000


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Two unexpected failures make poison; no automatic pause when dead letters pile up here.
    return settings.model_copy(update={"poison_attempts": 2, "alert_deadletters": 0})


def erp_order(number: str, **changes: Any) -> bytes:
    """An ERP-created order of customer Y, as the ERP puts it on scm.inbound.v1."""
    header = erp_header(SalesOrderNumber=number, **changes)
    lines = [line.model_copy(update={"SalesOrderNumber": number}) for line in header.lines]
    return to_json_bytes(
        envelope(header.model_copy(update={"lines": lines}), origin="scm", company="usmf")
    )


def spliced(value: bytes, marker: str, replacement: bytes) -> bytes:
    """`value` with the JSON string `marker` replaced by raw JSON: no model sees the result."""
    quoted = f'"{marker}"'.encode()
    assert quoted in value, marker
    return value.replace(quoted, replacement)


POISONS: dict[str, bytes] = {
    "nul": b'"phone\\u0000order"',
    "deep": b"[" * DEEP + b"]" * DEEP,
    "tiny_quantity": b'"1E-20000"',
    "huge_text": b'"' + b"x" * 100_000 + b'"',
}


def poison_order(kind: str, number: str) -> bytes:
    if kind == "tiny_quantity":  # the line's quantity, not the header's name
        value = erp_order(number, SalesOrderName="sales order")
        return value.replace(
            b'"OrderedSalesQuantity":"5"', b'"OrderedSalesQuantity":' + POISONS[kind]
        )
    return spliced(erp_order(number, SalesOrderName=MARKER), MARKER, POISONS[kind])


async def _letters(engine: AsyncEngine, consumer: str) -> dict[str, dict[str, Any]]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(dead_letters).where(dead_letters.c.consumer == consumer)
        )
        return {row.record_key: dict(row._mapping) for row in rows}


async def _parked_keys(engine: AsyncEngine, consumer: str) -> list[str]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(parked_records.c.record_key)
            .where(parked_records.c.consumer == consumer)
            .order_by(parked_records.c.parked_id)
        )
        return list(rows.scalars())


async def _kinds(store: PostgresEventStore, number: str) -> list[str]:
    events = await store.read_stream(order_stream(erp_order_id("usmf", number)))
    return [event.event_type for event in events]


async def test_poison_on_scm_inbound_is_dead_lettered_its_key_parked_and_the_next_key_applied(
    settings: Settings, engine: AsyncEngine, demo: PostgresEventStore, inbound: InboundWorker
) -> None:
    records: list[tuple[str, bytes]] = []
    for index, kind in enumerate(POISONS):
        number, other = f"usmf-91{index}", f"usmf-92{index}"
        records += [
            (f"usmf/{number}", poison_order(kind, number)),
            # Same key: parked behind a dead letter (or a status change if nothing refused it).
            (f"usmf/{number}", erp_order(number, SalesOrderProcessingStatus="Delivered")),
            (f"usmf/{other}", erp_order(other)),
        ]
    await send_raw(settings, SCM_INBOUND, *records)
    await until_consumed(settings, SCM_INBOUND, INBOUND_GROUP)

    letters = await _letters(engine, INBOUND_GROUP)
    parked = await _parked_keys(engine, INBOUND_GROUP)
    for index, kind in enumerate(POISONS):
        number, key = f"usmf-91{index}", f"usmf/usmf-91{index}"
        assert await _kinds(demo, f"usmf-92{index}") == ["OrderSubmitted"], kind
        if kind in ("nul", "deep"):  # no layer can take these
            assert key in letters, (kind, letters.keys())
        if key in letters:
            assert (letters[key]["status"], letters[key]["attempts"]) == ("open", 1), kind
            assert key in parked and await _kinds(demo, number) == [], kind
        else:  # nothing refused it: applied, and the record behind it too
            assert await _kinds(demo, number) == ["OrderSubmitted", "OrderSyncStatusChanged"]
    # The NUL is kept as its JSON escape: the dead letter holds the record as a reader sees it.
    assert "phone\\u0000order" in letters["usmf/usmf-910"]["original_value"]
    assert letters["usmf/usmf-911"]["error_class"] in ("RecursionError", "InvalidMessage")


async def _trigger(engine: AsyncEngine, table: str, condition: str, sqlstate: str) -> None:
    """Refuse rows of `table` that meet `condition` with `sqlstate`; count each refusal in a
    sequence (a rollback does not undo nextval)."""
    async with engine.begin() as connection:
        await connection.execute(text("CREATE SEQUENCE refusals"))
        await connection.execute(
            text(
                f"""
                CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF {condition} THEN
                        PERFORM nextval('refusals');
                        RAISE EXCEPTION 'refused by the test' USING ERRCODE = '{sqlstate}';
                    END IF;
                    RETURN NEW;
                END $$
                """
            )
        )
        await connection.execute(
            text(
                f"CREATE TRIGGER refuse BEFORE INSERT ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION refuse()"
            )
        )


async def _refusals(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        found = await connection.scalar(
            text("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM refusals")
        )
    return int(found or 0)


@pytest.mark.parametrize(
    ("sqlstate", "attempts"),
    [("22023", 1), ("P0001", 2)],  # a data exception; an unclassified error, settled at the bound
)
async def test_a_database_fault_no_contract_foresees_dead_letters_an_inbound_record(
    settings: Settings,
    engine: AsyncEngine,
    demo: PostgresEventStore,
    inbound: InboundWorker,
    sqlstate: str,
    attempts: int,
) -> None:
    await _trigger(engine, "events", f"NEW.payload::text LIKE '%{MARKER}%'", sqlstate)
    await send_raw(
        settings,
        SCM_INBOUND,
        ("usmf/usmf-931", erp_order("usmf-931", SalesOrderName=MARKER)),
        ("usmf/usmf-931", erp_order("usmf-931", SalesOrderProcessingStatus="Delivered")),
        ("usmf/usmf-932", erp_order("usmf-932")),
    )
    await until_consumed(settings, SCM_INBOUND, INBOUND_GROUP)

    letter = (await _letters(engine, INBOUND_GROUP))["usmf/usmf-931"]
    assert (letter["attempts"], await _refusals(engine)) == (attempts, attempts)
    assert f"SQLSTATE {sqlstate}" in letter["error_message"]
    assert await _parked_keys(engine, INBOUND_GROUP) == ["usmf/usmf-931"]
    assert await _kinds(demo, "usmf-931") == []
    assert await _kinds(demo, "usmf-932") == ["OrderSubmitted"]


async def test_a_database_fault_dead_letters_an_outbound_record_and_the_batch_goes_on(
    settings: Settings,
    engine: AsyncEngine,
    demo: PostgresEventStore,
    outbound: OutboundWorker,
) -> None:
    poison, other = portal_order(), portal_order()
    event = order_event(poison)
    update = order_event(poison.model_copy(update={"requisition_number": "REQ-2"}))
    # Recording the poison event as processed fails: after it was published, as it happens.
    await _trigger(
        engine,
        "processed_messages",
        f"NEW.consumer = '{OUTBOUND_GROUP}' AND NEW.message_id = '{event.message_id}'",
        "22023",
    )
    key, other_key = order_stream(poison.sales_order_id), order_stream(other.sales_order_id)
    await send(settings, CDS_EVENTS, (key, event), (key, update), (other_key, order_event(other)))
    await until_consumed(settings, CDS_EVENTS, OUTBOUND_GROUP)

    letter = (await _letters(engine, OUTBOUND_GROUP))[key]
    assert (letter["offset"], letter["error_class"]) == (0, "DBAPIError")
    assert await _parked_keys(engine, OUTBOUND_GROUP) == [key]
    sent = await read(
        settings,
        SCM_SALESORDERS,
        lambda seen: any(r.key == f"usmf/{other.sales_order_id}" for r in seen),
    )
    headers = [r.env.payload for r in sent if isinstance(r.env.payload, SalesOrderHeader)]
    # The poison was published before recording it failed (at least once, the same message id
    # each time); on its key nothing overtook it.
    mine = [
        h.CustomerRequisitionNumber for h in headers if h.CDSSalesOrderId == poison.sales_order_id
    ]
    assert mine[0] is None, mine
    assert other.sales_order_id in {h.CDSSalesOrderId for h in headers}
