"""Pause and resume a map: the state in PostgreSQL, read by every worker at most 0.5 s old.

How a paused map's records wait in Kafka: the subscriber does not acknowledge the record and
raises `MapPaused`, so FastStream seeks back to it and reads it again a moment later; nothing
after it on that partition is committed either, so on resume the records are caught up in
order. (cds.events.v1 carries several maps, so other maps' records behind a paused one on the
same partition wait too: the price of keeping Kafka's per-partition order.)
"""

from __future__ import annotations

import time
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from sync_service.mappings.tables import map_states

__all__ = ["MAX_STALENESS_S", "MapPaused", "MapSwitch", "set_paused", "states"]

MAX_STALENESS_S: Final = 0.5
"""How old a worker's view of the map states may be (SPEC: honoured within a second)."""


class MapPaused(Exception):
    """The record's map is paused: leave the record in Kafka and read it again later."""

    def __init__(self, name: str) -> None:
        super().__init__(f"map {name} is paused")
        self.name = name


async def set_paused(engine: AsyncEngine, name: str, paused: bool) -> None:
    """Pause or resume the map `name`."""
    statement = insert(map_states).values(name=name, paused=paused)
    async with engine.begin() as connection:
        await connection.execute(
            statement.on_conflict_do_update(
                index_elements=[map_states.c.name],
                set_={"paused": paused, "changed_at": func.now()},
            )
        )


async def states(engine: AsyncEngine, names: list[str]) -> dict[str, bool]:
    """Every map of `names` -> whether it is paused."""
    async with engine.connect() as connection:
        rows = await connection.execute(select(map_states.c.name, map_states.c.paused))
        paused = {row.name: row.paused for row in rows}
    return {name: paused.get(name, False) for name in names}


class MapSwitch:
    """A worker's cached view of which maps are paused, refreshed when older than 0.5 s."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._paused: frozenset[str] = frozenset()
        self._read_at = float("-inf")

    async def is_paused(self, name: str | None) -> bool:
        """Whether map `name` is paused now (None: the record belongs to no map)."""
        if name is None:
            return False
        if time.monotonic() - self._read_at > MAX_STALENESS_S:
            async with self._engine.connect() as connection:
                rows = await connection.execute(
                    select(map_states.c.name).where(map_states.c.paused.is_(True))
                )
                self._paused = frozenset(rows.scalars())
            self._read_at = time.monotonic()
        return name in self._paused
