"""When each map last applied a record: noted in the worker's memory, written once a second.

The lag view needs "time since the last record applied" per map. A write per record would put a
database round trip in the workers' hot path; instead the worker notes the time in memory and
writes the newest times at most once a second, so the figure is at most a second old.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Final, Literal

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from sync_service.logs import get_logger
from sync_service.ops.lag_tables import maps_applied

__all__ = ["FLUSH_EVERY_S", "AppliedClock", "Direction"]

Direction = Literal["outbound", "inbound"]
FLUSH_EVERY_S: Final = 1.0

log = get_logger(__name__)


class AppliedClock:
    """One worker's memory of when it last applied each map's records, flushed once a second."""

    def __init__(self, engine: AsyncEngine, direction: Direction) -> None:
        self._engine = engine
        self._direction = direction
        self._unwritten: dict[str, datetime] = {}
        self._flushed_at = float("-inf")

    async def applied(self, map_name: str | None) -> None:
        """Note that a record of `map_name` was applied now (None: a record of no map)."""
        if map_name is None:
            return
        self._unwritten[map_name] = datetime.now(UTC)
        if time.monotonic() - self._flushed_at >= FLUSH_EVERY_S:
            await self.flush()

    async def flush(self) -> None:
        """Write the noted times; a failure is logged, never raised (the record was applied)."""
        self._flushed_at = time.monotonic()
        unwritten, self._unwritten = self._unwritten, {}
        if not unwritten:
            return
        rows = [
            {"map": name, "direction": self._direction, "last_applied_at": at}
            for name, at in unwritten.items()
        ]
        statement = insert(maps_applied).values(rows)
        try:
            async with self._engine.begin() as connection:
                await connection.execute(
                    statement.on_conflict_do_update(
                        index_elements=[maps_applied.c.map, maps_applied.c.direction],
                        set_={
                            "last_applied_at": func.greatest(
                                maps_applied.c.last_applied_at, statement.excluded.last_applied_at
                            )
                        },
                    )
                )
        except Exception as error:  # lag figures must never stop the mapping
            log.warning("lag.applied_not_recorded", direction=self._direction, error=str(error))
            for name, at in unwritten.items():  # keep them for the next flush
                self._unwritten.setdefault(name, at)
