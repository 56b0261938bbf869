"""The write model is derived state: a rebuild from the event store gives back the live rows."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from sync_service.command_processor import CommandProcessor, Handled
from sync_service.demo_data import JANE_CONTACT_ID, SAM_CONTACT_ID
from sync_service.domain.credentials import hash_secret, new_secret
from sync_service.writemodel.rebuild import DERIVED_TABLES, rebuild_write_model
from tests.sync_service.factories import invite, redeem, submit_order, upsert_contact, wire

pytestmark = pytest.mark.integration


async def _snapshot(engine: AsyncEngine) -> dict[str, list[dict[str, Any]]]:
    tables: dict[str, list[dict[str, Any]]] = {}
    async with engine.connect() as connection:
        for table in DERIVED_TABLES:
            query = select(table).order_by(*table.primary_key.columns)
            tables[table.name] = [dict(row) for row in (await connection.execute(query)).mappings()]
    return tables


async def test_rebuilt_write_model_equals_the_live_one(
    processor: CommandProcessor, engine: AsyncEngine
) -> None:
    code = hash_secret(new_secret())
    commands = [
        upsert_contact(JANE_CONTACT_ID, firstname="Jane R.", email="JANE.R@x.example"),
        invite(SAM_CONTACT_ID, code, kind="group", max_redemptions=3),
        redeem(SAM_CONTACT_ID, code, hash_secret(new_secret())),
        redeem(SAM_CONTACT_ID, code, hash_secret(new_secret())),
        submit_order(),
        submit_order(lines=[]),  # rejected
    ]
    for command in commands:
        assert await processor.handle(wire(command)) in (Handled.ACCEPTED, Handled.REJECTED)
    live = await _snapshot(engine)
    assert len(live["command_outcomes"]) == len(commands)
    assert live["invitations"][0]["redemptions"] == 2
    assert len(live["credentials"]) == 2

    replayed = await rebuild_write_model(engine)

    assert replayed > len(commands)
    assert await _snapshot(engine) == live


async def test_a_rebuild_restores_dropped_rows(
    processor: CommandProcessor, engine: AsyncEngine
) -> None:
    before = await _snapshot(engine)
    async with engine.begin() as connection:
        for table in DERIVED_TABLES:
            await connection.execute(table.delete())
    assert all(rows == [] for rows in (await _snapshot(engine)).values())

    await rebuild_write_model(engine)

    assert await _snapshot(engine) == before
    assert len(before["contacts"]) == 5 and len(before["products"]) == 6
