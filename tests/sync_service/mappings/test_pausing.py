"""Pause and resume a map: records wait in Kafka while paused and catch up in order."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.scm import SalesOrderHeader
from contracts.topics import CDS_EVENTS, SCM_SALESORDERS
from sync_service.mappings.outbound import OutboundWorker
from sync_service.mappings.pausing import set_paused, states
from sync_service.settings import Settings
from sync_service.streams import order_stream
from tests.sync_service.mappings.orders import order_event, portal_order
from tests.sync_service.mappings.wire import read, send

pytestmark = pytest.mark.integration


async def test_pause_holds_records_and_resume_catches_them_up_in_order(
    settings: Settings, engine: AsyncEngine, outbound: OutboundWorker
) -> None:
    await set_paused(engine, "SalesOrderHeaders", True)
    await asyncio.sleep(1.0)  # every worker honours it within a second
    order = portal_order()
    key = order_stream(order.sales_order_id)
    versions = [order.model_copy(update={"requisition_number": f"R{n}"}) for n in (1, 2, 3)]
    await send(settings, CDS_EVENTS, *((key, order_event(v)) for v in versions))

    assert await read(settings, SCM_SALESORDERS, lambda seen: True, settle_s=3) == []
    assert (await states(engine, ["SalesOrderHeaders", "CustomersV3"])) == {
        "SalesOrderHeaders": True,
        "CustomersV3": False,
    }

    await set_paused(engine, "SalesOrderHeaders", False)
    sent = await read(settings, SCM_SALESORDERS, lambda seen: len(seen) >= 3, settle_s=1)
    headers = [r.env.payload for r in sent if isinstance(r.env.payload, SalesOrderHeader)]
    assert [h.CustomerRequisitionNumber for h in headers] == ["R1", "R2", "R3"]
