"""Pause and resume a map: the state in PostgreSQL, read by every worker at most 0.5 s old.

How a paused map's records wait in Kafka: the subscriber does not acknowledge the record and
raises `MapPaused`, so FastStream seeks back to it and reads it again a moment later; nothing
after it on that partition is committed either, so on resume the records are caught up in
order. (cds.events.v1 carries several maps, so other maps' records behind a paused one on the
same partition wait too: the price of keeping Kafka's per-partition order.)

A map is paused by ops (`paused_reason` `ops`) or by the dead-letter alert (`alert`, see
sync_service.mappings.alerts); either way only a resume lets it run again, and the resume's time
starts the alert's window afresh so the same dead letters do not pause it again at once.
"""

from __future__ import annotations

import time
from typing import Final, Literal

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from sync_service.mappings.audit import ALERT_ACTOR, UNKNOWN_ACTOR, record_action
from sync_service.mappings.tables import map_states
from sync_service.metrics import MAP_PAUSED

__all__ = [
    "MAX_STALENESS_S",
    "MapPaused",
    "MapSwitch",
    "PausedReason",
    "pause_for_alert",
    "set_paused",
    "states",
]

MAX_STALENESS_S: Final = 0.5
"""How old a worker's view of the map states may be (SPEC: honoured within a second)."""

PausedReason = Literal["ops", "alert"]


class MapPaused(Exception):
    """The record's map is paused: leave the record in Kafka and read it again later."""

    def __init__(self, name: str) -> None:
        super().__init__(f"map {name} is paused")
        self.name = name


async def set_paused(
    engine: AsyncEngine,
    name: str,
    paused: bool,
    *,
    actor: str = UNKNOWN_ACTOR,
    reason: str | None = None,
) -> bool:
    """Pause or resume the map `name` as `actor` (logged in `ops_actions`); whether it changed.

    `reason` is ops' note on a pause. Pausing a paused map keeps it paused but makes ops its
    owner (an alert's pause that ops confirm is theirs now); resuming clears who and why.
    """
    if paused:
        values = {
            "paused": True, "paused_by": actor, "paused_reason": "ops", "note": reason,
            "changed_by": actor,
        }  # fmt: skip
    else:
        values = {
            "paused": False, "paused_by": None, "paused_reason": None, "note": None,
            "changed_by": actor, "resumed_at": func.now(),
        }  # fmt: skip
    async with engine.begin() as connection:
        was = await connection.scalar(
            select(map_states.c.paused).where(map_states.c.name == name).with_for_update()
        )
        await connection.execute(
            insert(map_states)
            .values(name=name, **values)
            .on_conflict_do_update(
                index_elements=[map_states.c.name], set_={**values, "changed_at": func.now()}
            )
        )
        changed = bool(was) != paused
        await record_action(
            connection,
            actor=actor,
            action="pause" if paused else "resume",
            target_kind="map",
            target=name,
            reason=reason,
            outcome=("paused" if paused else "resumed") if changed else "unchanged",
        )
    MAP_PAUSED.labels(name).set(1 if paused else 0)
    return changed


async def pause_for_alert(engine: AsyncEngine, name: str, *, count: int, window_s: float) -> bool:
    """Pause `name` because of its dead letters, unless it is paused already; whether it did."""
    note = f"{count} dead letters within {window_s:g} s"
    values = {
        "paused": True, "paused_by": ALERT_ACTOR, "paused_reason": "alert", "note": note,
        "changed_by": ALERT_ACTOR,
    }  # fmt: skip
    async with engine.begin() as connection:
        paused = await connection.scalar(
            insert(map_states)
            .values(name=name, **values)
            .on_conflict_do_update(
                index_elements=[map_states.c.name],
                set_={**values, "changed_at": func.now()},
                where=map_states.c.paused.is_(False),  # an ops pause stays theirs
            )
            .returning(map_states.c.name)
        )
        if paused is None:
            return False
        await record_action(
            connection,
            actor=ALERT_ACTOR,
            action="pause",
            target_kind="map",
            target=name,
            reason=note,
            outcome="paused",
        )
    MAP_PAUSED.labels(name).set(1)
    return True


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
                paused = frozenset(rows.scalars())
            # The worker's process exports the gauge too (its /metrics when run on its own).
            for changed in paused ^ self._paused:
                MAP_PAUSED.labels(changed).set(1 if changed in paused else 0)
            self._paused = paused
            self._read_at = time.monotonic()
        return name in self._paused
