"""`dualsync initial-sync` on the real PostgreSQL and Kafka: an SCM export via the inbound maps."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.deadletter import DeadLetter
from contracts.scm import CustomerV3, ReleasedProduct, SalesOrderHeader, SalesPriceAgreement
from contracts.topics import DEADLETTER
from sync_service.cli import main
from sync_service.db.schema import price_list_prices, products
from sync_service.erp_sim.demo import MAY_ORDER_NUMBER, demo_messages
from sync_service.eventstore.postgres import PostgresEventStore
from sync_service.mappings.inbound import erp_order_id
from sync_service.mappings.initial_sync import run_initial_sync
from sync_service.mappings.tables import dead_letters
from sync_service.settings import Settings
from sync_service.streams import account_stream, order_stream, price_stream, product_stream
from tests.sync_service.mappings.wire import read

pytestmark = pytest.mark.integration


def _payloads(kind: type[Any]) -> list[dict[str, Any]]:
    return [
        env.payload.model_dump(mode="json", exclude_none=True)
        for _key, env in demo_messages()
        if isinstance(env.payload, kind)
    ]


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    columns = list(dict.fromkeys(name for row in rows for name in row))
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, columns)
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {k: json.dumps(v) if isinstance(v, list) else v for k, v in row.items()}
            )
    return path


def _write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def _export(directory: Path) -> Path:
    """The demo's ERP data as an export: customers CSV, products JSONL, prices CSV, May's order."""
    _write_csv(directory / "CustomersV3.csv", _payloads(CustomerV3))
    _write_jsonl(directory / "ReleasedProducts.jsonl", _payloads(ReleasedProduct))
    prices = [
        {k: v for k, v in p.items() if k != "dataAreaId"} for p in _payloads(SalesPriceAgreement)
    ]
    _write_csv(directory / "SalesPriceAgreements.csv", prices)  # company from --company
    _write_jsonl(directory / "SalesOrderHeaders.jsonl", _payloads(SalesOrderHeader))
    return directory


async def _sync(settings: Settings, *paths: Path, company: str | None = "usmf") -> int:
    return await run_initial_sync(settings, list(paths), company)


def _summary(out: str) -> dict[str, list[int]]:
    return {
        line.split()[0]: [int(n) for n in line.split()[1:]]
        for line in out.splitlines()
        if line and not line.startswith("file") and line.split()[-1].isdigit()
    }


async def test_an_export_loads_with_origin_scm_into_the_event_store_and_write_model(
    settings: Settings, engine: AsyncEngine, pg_store: PostgresEventStore, topics: None,
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    assert await _sync(settings, _export(tmp_path)) == 0
    out, err = capsys.readouterr()
    table = _summary(out)
    # columns: read, loaded, skipped, dead-lettered, parked
    assert table["CustomersV3.csv"] == [2, 2, 0, 0, 0]
    assert table["ReleasedProducts.jsonl"] == [6, 6, 0, 0, 0]
    assert table["SalesPriceAgreements.csv"] == [18, 18, 0, 0, 0]
    assert table["SalesOrderHeaders.jsonl"] == [1, 1, 0, 0, 0]
    assert "SalesPriceAgreements.csv: 18/18 (100%)" in err

    streams = [
        account_stream("usmf", "US-002"), product_stream("usmf", "P-1001"),
        price_stream("usmf", "PL-US-001", "P-1004", "box"),
        order_stream(erp_order_id("usmf", MAY_ORDER_NUMBER)),
    ]  # fmt: skip
    found = [await pg_store.read_stream(stream) for stream in streams]
    assert [[(e.event_type, e.origin) for e in events] for events in found] == [
        [("CustomerAccountUpserted", "scm")], [("ProductUpserted", "scm")],
        [("PriceListPriceUpserted", "scm")], [("OrderSubmitted", "scm")],
    ]  # fmt: skip
    assert len(found[3][0].payload["order"]["lines"]) == 2
    async with engine.connect() as connection:
        assert await connection.scalar(select(func.count()).select_from(products)) == 6
        price = await connection.scalar(
            select(price_list_prices.c.amount).where(
                price_list_prices.c.price_list == "PL-US-001",
                price_list_prices.c.product_number == "P-1004", price_list_prices.c.unit == "box",
            )
        )  # fmt: skip
    assert str(price) == "1380.00"


async def test_a_re_run_loads_nothing_twice(
    settings: Settings, pg_store: PostgresEventStore, topics: None, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    export = _export(tmp_path)
    assert await _sync(settings, export) == 0
    head = len(await pg_store.read_all(limit=10_000))
    capsys.readouterr()

    assert await _sync(settings, export) == 0
    table = _summary(capsys.readouterr().out)
    assert table["total"] == [27, 0, 27, 0, 0]
    assert len(await pg_store.read_all(limit=10_000)) == head


async def test_a_row_without_a_required_field_is_dead_lettered_and_the_rest_load(
    settings: Settings, engine: AsyncEngine, topics: None, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    rows = _payloads(SalesPriceAgreement)
    del rows[3]["Price"]  # line 5 of the CSV (header + 4th row)
    _write_csv(tmp_path / "SalesPriceAgreements.csv", rows)
    _write_jsonl(tmp_path / "ReleasedProducts.jsonl", _payloads(ReleasedProduct))

    assert await _sync(settings, tmp_path) == 1
    out, err = capsys.readouterr()
    assert _summary(out)["SalesPriceAgreements.csv"] == [18, 17, 0, 1, 0]
    assert "1 rows not loaded" in err

    [letter] = await read(settings, DEADLETTER, lambda seen: len(seen) >= 1, settle_s=0.5)
    payload = letter.env.payload
    assert isinstance(payload, DeadLetter)
    assert (payload.source_topic, payload.partition, payload.offset) == (
        "initial-sync:SalesPriceAgreements.csv", 0, 5,
    )  # fmt: skip
    assert "Price" in [e.field for e in payload.errors]
    async with engine.connect() as connection:
        assert await connection.scalar(select(func.count()).select_from(price_list_prices)) == 17

    # A re-run does not dead-letter the same row again: it is still the one open dead letter.
    assert await _sync(settings, tmp_path) == 1
    assert _summary(capsys.readouterr().out)["SalesPriceAgreements.csv"] == [18, 0, 17, 1, 0]
    async with engine.connect() as connection:
        assert await connection.scalar(select(func.count()).select_from(dead_letters)) == 1


async def test_unparseable_rows_are_dead_lettered_not_a_crash(
    settings: Settings, engine: AsyncEngine, topics: None, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    products_rows: list[Any] = _payloads(ReleasedProduct)[:2]
    _write_jsonl(tmp_path / "ReleasedProducts.jsonl", [products_rows[0], "{not json", "[1, 2]"])
    prices = _payloads(SalesPriceAgreement)[:2]
    prices[1]["Price"] = "twelve"
    _write_csv(tmp_path / "SalesPriceAgreements.csv", prices)
    with (tmp_path / "SalesPriceAgreements.csv").open("a") as file:
        file.write("usmf,only-two-cells\n")

    assert await _sync(settings, tmp_path) == 1
    table = _summary(capsys.readouterr().out)
    assert table["ReleasedProducts.jsonl"] == [3, 1, 0, 2, 0]
    assert table["SalesPriceAgreements.csv"] == [3, 1, 0, 2, 0]
    async with engine.connect() as connection:
        rows = (await connection.execute(
            select(dead_letters.c.source_topic, dead_letters.c.offset, dead_letters.c.errors)
            .order_by(dead_letters.c.source_topic, dead_letters.c.offset)
        )).all()  # fmt: skip
    assert [(topic.split(":")[1], offset) for topic, offset, _ in rows] == [
        ("ReleasedProducts.jsonl", 2), ("ReleasedProducts.jsonl", 3),
        ("SalesPriceAgreements.csv", 3), ("SalesPriceAgreements.csv", 4),
    ]  # fmt: skip
    assert rows[2][2][0]["field"] == "payload.Price"
    assert "2 cells, the header has" in rows[3][2][0]["message"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing", "no such file or directory"),
        ("Customers.csv", "not an SCM export file name"),
        ("SalesOrderHeaders.csv", "must be JSON lines"),
    ],
)
def test_unreadable_input_exits_2_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, message: str
) -> None:
    path = tmp_path / name
    if name != "missing":
        path.write_text("a,b\n1,2\n")
    assert main(["initial-sync", str(path)]) == 2
    assert message in capsys.readouterr().err


def test_rows_are_streamed_and_counted_as_read(tmp_path: Path) -> None:
    """The count that progress starts from is the rows the loader will read, one at a time."""
    from sync_service.mappings.scm_export import count_rows, read_rows

    customers = tmp_path / "CustomersV3.csv"
    # A quoted cell over two lines, a blank line and a row of the wrong width: three rows.
    customers.write_text(
        'CustomerAccount,OrganizationName\nC1,"Two\nlines"\n\nC2\nC3,Three\n', encoding="utf-8"
    )
    products = _write_jsonl(tmp_path / "ReleasedProducts.jsonl", [{"a": 1}, "", "not json", "[]"])
    for path, expected in ((customers, 3), (products, 3)):
        rows = read_rows(path)
        assert not isinstance(rows, list)  # a generator: the file is never held whole
        assert count_rows(path) == len(list(rows)) == expected
