"""`dualsync deadletters` filters, show and redrive --all-matching, and `maps` with who paused,
against the stack (the CLI in a process of its own, the outbound worker in this one)."""

from __future__ import annotations

import getpass
import json

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.topics import CDS_EVENTS, DEADLETTER
from sync_service.eventstore.postgres import PostgresEventStore
from sync_service.mappings.outbound import OutboundWorker
from sync_service.mappings.tables import dead_letters, ops_actions
from sync_service.settings import Settings
from sync_service.streams import order_stream
from tests.sync_service.mappings.orders import order_event, portal_order, product_without_site
from tests.sync_service.mappings.test_ops_cli import _run
from tests.sync_service.mappings.test_outbound import _append
from tests.sync_service.mappings.wire import read, send

pytestmark = pytest.mark.integration


async def test_list_filters_show_and_redrive_all_matching_by_someone(
    settings: Settings, engine: AsyncEngine, demo: PostgresEventStore, outbound: OutboundWorker
) -> None:
    order = portal_order("P-9800")
    await send(settings, CDS_EVENTS, (order_stream(order.sales_order_id), order_event(order)))
    [letter] = await read(settings, DEADLETTER, lambda seen: len(seen) >= 1)
    letter_id = str(letter.env.message_id)

    listed = _run(settings, "deadletters", "list", "--json", "--map", "SalesOrderHeaders",
                  "--error-class", "UnknownReference", "--company", "USMF")  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    [item] = json.loads(listed.stdout)["items"]
    assert (item["dead_letter_id"], item["parked"]) == (letter_id, 0)
    for other in (["--map", "CustomersV3"], ["--since", "2099-01-01T00:00:00Z"]):
        empty = _run(settings, "deadletters", "list", "--json", *other)
        assert json.loads(empty.stdout)["items"] == [], other
    naive = _run(settings, "deadletters", "list", "--since", "2026-01-01T00:00:00")
    assert (naive.returncode, naive.stdout.strip()) == (
        2,
        "dualsync: since: give a time zone, e.g. Z",
    )
    shown = _run(settings, "deadletters", "show", letter_id)
    assert str(order.sales_order_id) in json.loads(shown.stdout)["original_value"]

    fixed = product_without_site("P-9800", default_site="3", default_warehouse="31")
    await _append(demo, "product-usmf-P-9800", fixed)
    redriven = _run(settings, "deadletters", "redrive", "--all-matching", "--map",
                    "SalesOrderHeaders", "--by", "night-shift")  # fmt: skip

    assert redriven.returncode == 0, redriven.stdout + redriven.stderr
    counts = json.loads(redriven.stdout)
    assert (counts["matched"], counts["redriven"]) == (1, 1)
    async with engine.connect() as connection:
        closed = (await connection.execute(select(dead_letters))).mappings().one()
        logged = (await connection.execute(select(ops_actions))).mappings().one()
    assert (closed["status"], closed["resolved_by"]) == ("redriven", "cli:night-shift")
    assert (logged["actor"], logged["action"], logged["target"]) == (
        "cli:night-shift", "redrive", letter_id,
    )  # fmt: skip
    neither = _run(settings, "deadletters", "redrive")
    assert neither.returncode == 2


def test_maps_list_says_who_paused_and_why(settings: Settings) -> None:
    paused = _run(settings, "maps", "pause", "CustomersV3", "--reason", "SCM maintenance")
    assert paused.returncode == 0, paused.stderr
    [line] = [line for line in paused.stdout.splitlines() if line.startswith("CustomersV3")]
    assert f"by cli:{getpass.getuser()} (ops) SCM maintenance" in line
    listed = _run(settings, "maps", "list", "--json")
    customers = {m["name"]: m for m in json.loads(listed.stdout)}["CustomersV3"]
    assert (customers["paused_reason"], customers["open_dead_letters"]) == ("ops", 0)
    resumed = _run(settings, "maps", "resume", "CustomersV3", "--by", "cli:day-shift")
    assert "CustomersV3            running" in resumed.stdout
