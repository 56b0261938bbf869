"""Rebuilding the read models while orders keep arriving ends with the views a replay gives."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from sync_service.db.engine import create_engine
from sync_service.db.schema import events
from sync_service.demo_data import JANE_CONTACT_ID, SAM_CONTACT_ID
from sync_service.projections.rebuild import rebuild_projections
from sync_service.projections.tables import LIVE
from tests.portal_api.conftest import ADMIN, Portal
from tests.portal_api.views_helpers import (
    change_status,
    credential,
    erp_order,
    eventually,
    order_ids,
    submit,
)

pytestmark = pytest.mark.integration


async def _dump(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every read-model table, in key order."""
    async with engine.connect() as connection:
        return {
            table.name: [
                tuple(row)
                for row in await connection.execute(
                    select(table).order_by(*table.primary_key.columns)
                )
            ]
            for table in LIVE.all()
        }


async def _caught_up(engine: AsyncEngine) -> bool:
    """Whether every stream of the store is applied up to its newest version."""
    async with engine.connect() as connection:
        stored = dict(
            list(
                await connection.execute(
                    select(events.c.stream_id, func.max(events.c.version)).group_by(
                        events.c.stream_id
                    )
                )
            )
        )
        applied = dict(list(await connection.execute(select(LIVE.versions))))
    return stored == applied


async def test_a_rebuild_while_orders_arrive_equals_the_live_views(portal: Portal) -> None:
    engine = create_engine(portal.settings.database_url)
    try:
        jane = await credential(portal, JANE_CONTACT_ID)
        sam = await credential(portal, SAM_CONTACT_ID)
        first = await submit(portal, jane)
        expected = {first, await erp_order(portal, customer="US-002", contact_person=None)}
        await change_status(portal, first, "synced", number="SO-1")
        await eventually(lambda: order_ids(portal, ADMIN), lambda ids: ids == expected)
        await eventually(lambda: _caught_up(engine), bool)
        before = await _dump(engine)

        quiet = await rebuild_projections(engine, batch_size=7)
        assert quiet.caught_up_at_switch == 0
        assert await _dump(engine) == before

        async def keep_ordering() -> set[str]:
            placed = set()
            for n in range(12):
                order_id = await submit(portal, jane if n % 2 else sam)
                placed.add(order_id)
                if n % 3 == 0:
                    await change_status(portal, order_id, "confirmed", number=f"SO-{n}")
                await asyncio.sleep(0.02)
            return placed

        async def between_replay_and_switch() -> None:
            # Applied live, to the old tables, after the replay read past them: the
            # switch-over must carry them into the new tables.
            late = await submit(portal, jane)
            await change_status(portal, first, "shipped")
            await eventually(lambda: order_ids(portal, ADMIN), lambda ids: late in ids)
            await eventually(lambda: _caught_up(engine), bool)
            expected.add(late)

        seen: list[tuple[int, int]] = []
        arriving = asyncio.create_task(keep_ordering())
        await asyncio.sleep(0.1)
        report = await rebuild_projections(
            engine,
            batch_size=3,
            progress=lambda *at: seen.append(at),
            before_switch=between_replay_and_switch,
        )
        expected |= await arriving
        assert seen, "the rebuild reports its progress"
        assert report.caught_up_at_switch >= 2

        await eventually(lambda: order_ids(portal, ADMIN), lambda ids: ids == expected)
        await eventually(lambda: _caught_up(engine), bool)
        listed = (await portal.client.get("/orders", params={"limit": 200}, headers=ADMIN)).json()
        ids = [item["order_id"] for item in listed["items"]]
        assert sorted(ids) == sorted(expected)  # nothing missing, nothing doubled
        assert await order_ids(portal, ADMIN) == expected
        live = await _dump(engine)

        await rebuild_projections(engine)  # with nothing arriving: the replay's own result
        assert await _dump(engine) == live
    finally:
        await engine.dispose()


async def test_the_cli_rebuilds_and_shows_progress(portal: Portal) -> None:
    # A subprocess of its own, awaited, so the in-process worker keeps running meanwhile.
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sync_service.cli",
        "projections",
        "rebuild",
        env={**os.environ, "DUALSYNC_DATABASE_URL": portal.settings.database_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, err.decode()
    assert "projections rebuild: at position" in err.decode()
    assert "projections rebuilt:" in out.decode()
