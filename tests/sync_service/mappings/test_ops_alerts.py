"""The dead-letter alert: past the threshold within the window, the worker pauses the map itself.

Settings here pause at 2 dead letters of one map within 5 minutes (the default is 10).
"""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.topics import CDS_EVENTS, DEADLETTER
from sync_service.mappings.alerts import DeadLetterAlert
from sync_service.mappings.outbound import OutboundWorker
from sync_service.mappings.tables import dead_letters, ops_actions
from sync_service.ops import actions
from sync_service.settings import Settings
from sync_service.streams import order_stream
from tests.sync_service.mappings.orders import order_event, portal_order
from tests.sync_service.mappings.wire import read, send

pytestmark = pytest.mark.integration

MAP = "SalesOrderHeaders"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"alert_deadletters": 2, "alert_window_s": 300.0})


async def _send_bad_order(settings: Settings, number: str) -> None:
    order = portal_order(number)
    await send(settings, CDS_EVENTS, (order_stream(order.sales_order_id), order_event(order)))


async def _overview(engine: AsyncEngine, settings: Settings) -> actions.MapOverview:
    return await actions.one_map(engine, settings, MAP)


async def _until_paused(engine: AsyncEngine, settings: Settings) -> actions.MapOverview:
    async with asyncio.timeout(30):
        while True:
            state = await _overview(engine, settings)
            if state.paused:
                return state
            await asyncio.sleep(0.1)


def _auto_pauses() -> float:
    return REGISTRY.get_sample_value("dualsync_map_auto_pauses_total", {"map": MAP}) or 0.0


async def test_the_threshold_pauses_the_map_as_the_alert_and_a_resume_starts_afresh(
    settings: Settings, engine: AsyncEngine, outbound: OutboundWorker
) -> None:
    before = _auto_pauses()
    await _send_bad_order(settings, "P-9401")
    await read(settings, DEADLETTER, lambda seen: len(seen) >= 1)
    assert not (await _overview(engine, settings)).paused  # one is below the threshold

    await _send_bad_order(settings, "P-9402")
    state = await _until_paused(engine, settings)

    assert (state.paused_by, state.paused_reason, state.dead_letters_in_window) == (
        "alert", "alert", 2,
    )  # fmt: skip
    assert state.note == "2 dead letters within 300 s"
    assert _auto_pauses() == before + 1
    assert REGISTRY.get_sample_value("dualsync_map_paused", {"map": MAP}) == 1.0
    async with engine.connect() as connection:
        logged = (await connection.execute(select(ops_actions))).mappings().all()
    assert [(a["actor"], a["action"], a["target"], a["outcome"]) for a in logged] == [
        ("alert", "pause", MAP, "paused")
    ]
    # Paused (every worker honours it within a second): a third bad order waits in Kafka
    # instead of becoming a dead letter.
    await asyncio.sleep(1.0)
    await _send_bad_order(settings, "P-9403")
    assert len(await read(settings, DEADLETTER, lambda seen: True, settle_s=2)) == 2

    await actions.resume_map(engine, MAP, "cli:ops")
    resumed = await _overview(engine, settings)
    assert (resumed.paused, resumed.paused_by, resumed.dead_letters_in_window) == (False, None, 0)
    assert REGISTRY.get_sample_value("dualsync_map_paused", {"map": MAP}) == 0.0
    # The waiting order now fails once: one dead letter since the resume, below the threshold.
    await read(settings, DEADLETTER, lambda seen: len(seen) >= 3)
    await asyncio.sleep(1.0)  # a wrong re-pause would be written right after the dead letter
    after = await _overview(engine, settings)
    assert (after.paused, after.dead_letters_in_window, after.open_dead_letters) == (False, 1, 3)
    assert _auto_pauses() == before + 1


async def test_an_ops_pause_is_not_taken_over_by_the_alert(
    settings: Settings, engine: AsyncEngine, outbound: OutboundWorker
) -> None:
    for number in ("P-9501", "P-9502"):
        await _send_bad_order(settings, number)
    await read(settings, DEADLETTER, lambda seen: len(seen) >= 2)
    await _until_paused(engine, settings)
    await actions.pause_map(engine, MAP, "cli:ops", "looking into it")

    state = await _overview(engine, settings)

    assert (state.paused_by, state.paused_reason, state.note) == (
        "cli:ops", "ops", "looking into it",
    )  # fmt: skip
    async with engine.connect() as connection:
        rows = (await connection.execute(select(dead_letters.c.map_name))).scalars().all()
    assert rows == [MAP, MAP]


async def test_zero_turns_the_alert_off(settings: Settings, engine: AsyncEngine) -> None:
    off = settings.model_copy(update={"alert_deadletters": 0})
    assert not DeadLetterAlert(engine, off).enabled
    assert not DeadLetterAlert(engine, settings.model_copy(update={"alert_window_s": 0})).enabled
    assert not await DeadLetterAlert(engine, off).check(MAP)
