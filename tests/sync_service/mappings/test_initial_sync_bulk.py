"""`dualsync initial-sync` in chunks: one transaction per chunk, the inbound worker's outcomes."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.gen_export import write_export
from sync_service.db.schema import (
    contacts,
    customer_accounts,
    events,
    price_list_prices,
    processed_messages,
    products,
)
from sync_service.eventstore import ConcurrencyConflict
from sync_service.eventstore.postgres import PostgresEventStore
from sync_service.mappings import inbound_batch
from sync_service.mappings.inbound import erp_order_id
from sync_service.mappings.inbound_batch import InboundBatch
from sync_service.mappings.initial_sync import run_initial_sync
from sync_service.mappings.tables import dead_letters, parked_records
from sync_service.settings import Settings
from sync_service.streams import order_stream
from sync_service.writemodel.rebuild import rebuild_write_model

pytestmark = pytest.mark.integration

_WRITE_MODEL = (customer_accounts, products, price_list_prices, contacts)


def _summary(out: str) -> dict[str, list[int]]:
    return {
        line.split()[0]: [int(n) for n in line.split()[1:]]
        for line in out.splitlines()
        if line and not line.startswith("file") and line.split()[-1].isdigit()
    }


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as file:
        return list(csv.DictReader(file))


def _write_rows(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


async def _dump(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    async with engine.connect() as connection:
        return {
            table.name: [
                tuple(row)
                for row in await connection.execute(
                    select(table).order_by(*table.primary_key.columns)
                )
            ]
            for table in _WRITE_MODEL
        }


async def _count(engine: AsyncEngine, table: Any) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(table)) or 0)


@pytest.fixture
def no_row_by_row(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail if a chunk falls back to the record-by-record path: the bulk path is under test."""

    async def refuse(*_args: Any) -> Any:
        raise AssertionError("a chunk went record by record")

    monkeypatch.setattr(InboundBatch, "_one_by_one", refuse)


async def test_a_chunk_with_bad_rows_loads_the_others_and_dead_letters_them_with_reasons(
    settings: Settings, engine: AsyncEngine, pg_store: PostgresEventStore, topics: None,
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_row_by_row: None,
) -> None:  # fmt: skip
    counts = write_export(tmp_path, 100, seed=3)
    prices = _rows(tmp_path / "SalesPriceAgreements.csv")
    bad = dict(prices[4], Price="")  # line 6: no price
    prices[4] = bad
    prices.append(dict(bad, Price="1.00"))  # the same key later: parked behind the dead letter
    _write_rows(tmp_path / "SalesPriceAgreements.csv", prices)
    orders_path = tmp_path / "SalesOrderHeaders.jsonl"
    orders = [json.loads(line) for line in orders_path.read_text().splitlines()]
    orders[1]["OrderingCustomerAccountNumber"] = "NOBODY"  # line 2: an unknown customer
    # The first order again, confirmed: in the same chunk, a status change of that order.
    orders.append(dict(orders[0], SalesOrderProcessingStatus="Delivered", lines=[]))
    orders_path.write_text("".join(json.dumps(order) + "\n" for order in orders))

    assert await run_initial_sync(settings, [tmp_path], None, 2, 1000) == 1
    table = _summary(capsys.readouterr().out)
    total_prices, total_orders = counts["prices"] + 1, counts["orders"] + 1
    assert table["SalesPriceAgreements.csv"] == [total_prices, total_prices - 2, 0, 1, 1]
    assert table["SalesOrderHeaders.jsonl"] == [total_orders, total_orders - 1, 0, 1, 0]

    async with engine.connect() as connection:
        letters = (await connection.execute(
            select(dead_letters.c.source_topic, dead_letters.c.offset, dead_letters.c.errors)
            .order_by(dead_letters.c.source_topic)
        )).all()  # fmt: skip
        parked = (await connection.execute(select(parked_records.c.offset))).scalars().all()
    assert [(t.split(":")[1], o, errors[0]["field"]) for t, o, errors in letters] == [
        ("SalesOrderHeaders.jsonl", 2, "OrderingCustomerAccountNumber"),
        ("SalesPriceAgreements.csv", 6, "Price"),
    ]
    assert "unknown customer 'NOBODY'" in letters[0][2][0]["message"]
    assert list(parked) == [len(prices) + 1]  # the last CSV line
    assert await _count(engine, price_list_prices) == total_prices - 2

    first = order_stream(erp_order_id("usmf", orders[0]["SalesOrderNumber"]))
    stream = await pg_store.read_stream(first)
    assert [(e.version, e.event_type, e.origin) for e in stream] == [
        (1, "OrderSubmitted", "scm"), (2, "OrderSyncStatusChanged", "scm"),
    ]  # fmt: skip
    assert stream[1].payload["status"] == "shipped"


async def test_a_re_run_changes_nothing_and_the_write_model_is_what_the_events_give(
    settings: Settings, engine: AsyncEngine, topics: None, tmp_path: Path,
    capsys: pytest.CaptureFixture[str], no_row_by_row: None,
) -> None:  # fmt: skip
    counts = write_export(tmp_path, 300, seed=5)
    person = {"dataAreaId": "usmf", "PrimaryEmailAddress": "jane@example.com"}
    _write_rows(
        tmp_path / "ContactPersonsV2.csv",
        [
            {**person, "ContactPersonId": "CP-1", "AssociatedContactNumber": "C-000001",
             "FirstName": "Jane", "LastName": "Doe"},
            {**person, "ContactPersonId": "CP-2", "AssociatedContactNumber": "C-000002",
             "FirstName": "Sam", "LastName": "Roe"},
            # CP-1 again, changed, in the same chunk: the second upsert wins.
            {**person, "ContactPersonId": "CP-1", "AssociatedContactNumber": "C-000001",
             "FirstName": "Jane", "LastName": "Smith"},
        ],
    )  # fmt: skip
    rows = sum(counts.values()) + 3
    assert await run_initial_sync(settings, [tmp_path], None, 3, 50) == 0
    assert _summary(capsys.readouterr().out)["total"] == [rows, rows, 0, 0, 0]
    loaded = await _dump(engine)
    stored = await _count(engine, events)
    processed = await _count(engine, processed_messages)
    assert stored == processed == rows
    assert len(loaded["contacts"]) == 2
    lastname = [c.name for c in contacts.columns].index("lastname")
    assert {row[lastname] for row in loaded["contacts"]} == {"Smith", "Roe"}

    assert await run_initial_sync(settings, [tmp_path], None, 2, 1000) == 0
    assert _summary(capsys.readouterr().out)["total"] == [rows, 0, rows, 0, 0]
    assert (await _count(engine, events), await _count(engine, processed_messages)) == (
        stored, processed,
    )  # fmt: skip
    assert await _dump(engine) == loaded

    # The write model written in bulk is the one the events give, applied one by one.
    assert await rebuild_write_model(engine) == stored
    assert await _dump(engine) == loaded


async def test_a_chunk_that_meets_a_conflict_goes_record_by_record(
    settings: Settings, engine: AsyncEngine, topics: None, tmp_path: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    counts = write_export(tmp_path, 60, seed=9)
    real = inbound_batch.append_streams
    conflicts = []

    async def conflict_once(*args: Any, **kwargs: Any) -> int:
        if not conflicts:  # another writer got to a stream first, this once
            conflicts.append(True)
            raise ConcurrencyConflict("account-usmf-C-000001", 0, 1)
        return await real(*args, **kwargs)

    monkeypatch.setattr(inbound_batch, "append_streams", conflict_once)
    rows = sum(counts.values())
    assert await run_initial_sync(settings, [tmp_path], None, 1, 1000) == 0
    assert conflicts
    assert _summary(capsys.readouterr().out)["total"] == [rows, rows, 0, 0, 0]
    assert await _count(engine, events) == rows
    assert await _count(engine, customer_accounts) == counts["customers"]
