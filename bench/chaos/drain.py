"""The chaos run's drain: wait, for a bounded time, until nothing is left in flight anywhere.

Drained means, in two samples in a row (the groups are sampled one after the other, so one
sample can miss a record that moves between two of them): every consumer group's committed
offsets at the end of its partitions (dualsync's own groups as `dualsync lag` sees them, plus
the dead-letter index and the ERP simulator), the relay's checkpoint at the event store's end,
and the ERP simulator done with every order it numbered (its last status answered).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.progress import say
from contracts.topics import DEADLETTER, SCM_SALESORDERS
from sync_service.erp_sim.lifecycle import StatusDelays
from sync_service.erp_sim.order_book import SCHEMA as ERP_SCHEMA
from sync_service.erp_sim.simulator import CONSUMER_GROUP as ERP_GROUP
from sync_service.ops.deadletter_index import INDEX_GROUP
from sync_service.ops.lag import WATCHED, LagSampler, Watched
from sync_service.settings import Settings

__all__ = ["Drain", "drain"]

WATCHED_BY_CHAOS: Final = (
    *WATCHED,
    Watched(INDEX_GROUP, DEADLETTER),
    Watched(ERP_GROUP, SCM_SALESORDERS),
)
_SAMPLE_EVERY_S: Final = 1.0
_CLEAN_IN_A_ROW: Final = 2
_REPORT_EVERY_S: Final = 15.0


@dataclass
class Drain:
    """How the drain went, and what was still in flight at its last sample."""

    drained: bool = False
    waited_s: float = 0.0
    behind: dict[str, Any] = field(default_factory=dict)
    """What the last sample found still in flight (empty once drained)."""

    def as_dict(self) -> dict[str, Any]:
        """For the verdict's JSON."""
        return {"drained": self.drained, "waited_s": round(self.waited_s, 1), "behind": self.behind}


async def _erp_unfinished(engine: AsyncEngine, delays: StatusDelays) -> int:
    unfinished = delays.unfinished_statuses()
    async with engine.connect() as connection:
        try:
            found = await connection.scalar(
                text(
                    f"SELECT count(*) FROM {ERP_SCHEMA}.sales_orders "  # noqa: S608 - constants
                    "WHERE status IS NULL OR status = ANY(:unfinished)"
                ),
                {"unfinished": unfinished},
            )
        except ProgrammingError:  # the simulator has not created its tables yet
            return 0
    return int(found or 0)


async def _behind(sampler: LagSampler, engine: AsyncEngine, delays: StatusDelays) -> dict[str, Any]:
    report = await sampler.sample()
    behind: dict[str, Any] = {
        f"{row.group} {row.topic}[{row.partition}]": row.lag
        for row in report.partitions
        if row.lag > 0
    }
    if report.relay.lag > 0:
        behind["relay (events not yet published)"] = report.relay.lag
    if erp := await _erp_unfinished(engine, delays):
        behind["ERP simulator (orders with statuses still to answer)"] = erp
    return behind


async def drain(
    settings: Settings, engine: AsyncEngine, delays: StatusDelays, timeout_s: float
) -> Drain:
    """Sample until drained or `timeout_s` has passed."""
    result = Drain()
    start = time.monotonic()
    # An observer of every group, the ERP's too: the operator's principal, not the API's.
    sampler = LagSampler(settings, engine, watched=WATCHED_BY_CHAOS, role="operator")
    clean = 0
    next_report = start + _REPORT_EVERY_S
    try:
        while True:
            try:
                result.behind = await _behind(sampler, engine, delays)
            except Exception as exc:  # Kafka or PostgreSQL still coming back: sample again
                result.behind = {"sample failed": f"{type(exc).__name__}: {exc}"}
            clean = clean + 1 if not result.behind else 0
            result.waited_s = time.monotonic() - start
            if clean >= _CLEAN_IN_A_ROW:
                result.drained = True
                return result
            if result.waited_s >= timeout_s:
                return result
            if result.behind and time.monotonic() >= next_report:
                next_report = time.monotonic() + _REPORT_EVERY_S
                say(f"chaos: draining, {result.waited_s:.0f}s: still behind: {result.behind}")
            await asyncio.sleep(_SAMPLE_EVERY_S)
    finally:
        await sampler.close()
