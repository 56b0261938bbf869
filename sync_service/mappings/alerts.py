"""The dead-letter alert: a map whose dead letters pass a threshold within a window is paused.

As dual-write does when a map keeps failing: carrying on would only pile up more dead letters
(and park more keys) for a cause ops must fix first, e.g. reference data missing on one side.
Checked after each dead letter with one COUNT over the (map_name, first_failed_at) index; the
success path never queries. The window starts no earlier than the map's last resume, so a map
that ops resumed is not paused again at once by the dead letters that paused it.
`DUALSYNC_ALERT_DEADLETTERS` = 0 or `DUALSYNC_ALERT_WINDOW_S` = 0 turns the alert off.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.elements import ColumnElement

from sync_service.logs import get_logger
from sync_service.mappings.pausing import pause_for_alert
from sync_service.mappings.tables import dead_letters, map_states
from sync_service.metrics import MAP_AUTO_PAUSES
from sync_service.settings import Settings

__all__ = ["DeadLetterAlert", "window_start"]

log = get_logger(__name__)


def window_start(window_s: float) -> ColumnElement[object]:
    """When the alert window of a map begins: `window_s` ago, or its last resume if later."""
    resumed = (
        select(map_states.c.resumed_at)
        .where(map_states.c.name == dead_letters.c.map_name)
        .scalar_subquery()
    )
    ago = func.now() - timedelta(seconds=window_s)
    return func.greatest(ago, func.coalesce(resumed, ago))


class DeadLetterAlert:
    """Counts a map's recent dead letters after each new one and pauses the map past the limit."""

    def __init__(self, engine: AsyncEngine, settings: Settings) -> None:
        self._engine = engine
        self.threshold = settings.alert_deadletters
        self.window_s = settings.alert_window_s

    @property
    def enabled(self) -> bool:
        """Whether the alert is on (both the threshold and the window are set)."""
        return self.threshold > 0 and self.window_s > 0

    async def check(self, map_name: str | None) -> bool:
        """Pause `map_name` if its dead letters in the window reached the threshold; whether it did.

        Never raises: the dead letter is already stored and published, and a failed check must
        not make the worker handle the record again. The next dead letter checks again.
        """
        if map_name is None or not self.enabled:
            return False
        try:
            async with self._engine.connect() as connection:
                count = await connection.scalar(
                    select(func.count())
                    .select_from(dead_letters)
                    .where(
                        dead_letters.c.map_name == map_name,
                        dead_letters.c.first_failed_at > window_start(self.window_s),
                    )
                )
            if (count or 0) < self.threshold:
                return False
            if not await pause_for_alert(
                self._engine, map_name, count=count or 0, window_s=self.window_s
            ):
                return False  # paused already, by ops or an earlier alert
        except Exception:
            log.exception("map_alert_check_failed", map=map_name)
            return False
        MAP_AUTO_PAUSES.labels(map_name).inc()
        log.warning(
            "map_auto_paused", map=map_name, count=count, window_s=self.window_s,
            threshold=self.threshold,
        )  # fmt: skip
        return True
