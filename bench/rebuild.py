"""Scenario 5, rebuild: `dualsync projections rebuild` over the events the earlier runs stored.

Events per second = events replayed / wall time of the command (process start included: that
is what an operator waits for). The count comes from the command's closing line; if it runs past
its time limit, from its last progress line (positions are dense, so the position reached is the
number of events replayed so far).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from sqlalchemy import func, select

from bench.oneshot import OneShot, run_oneshot
from bench.progress import say
from bench.services import DUALSYNC
from sync_service.db.engine import create_engine
from sync_service.db.schema import events
from sync_service.settings import Settings

__all__ = ["RebuildResult", "run_rebuild"]

_DONE: Final = re.compile(r"projections rebuilt: (\d+) events replayed")
_AT: Final = re.compile(r"projections rebuild: at position (\d+) of (\d+)")


@dataclass
class RebuildResult:
    """What the rebuild measured."""

    events_in_store: int
    replayed: int
    elapsed_s: float
    timed_out: bool
    returncode: int | None
    peak_rss_mb: float
    replay_events_per_s: float | None = None
    """Between the first and the last progress line: without process start and switch-over."""
    hot_spots: dict[str, Any] = field(default_factory=dict)

    @property
    def events_per_s(self) -> float:
        """Events replayed per second of wall time."""
        return self.replayed / self.elapsed_s if self.elapsed_s else 0.0

    def as_dict(self) -> dict[str, Any]:
        """Parameters and counts for the results file."""
        return {
            "events_in_store": self.events_in_store,
            "events_replayed": self.replayed,
            "elapsed_s": round(self.elapsed_s, 3),
            "timed_out": self.timed_out,
            "returncode": self.returncode,
            "replay_events_per_s": self.replay_events_per_s,
        }


async def _stored_events(settings: Settings) -> int:
    engine = create_engine(settings.database_url)
    try:
        async with engine.connect() as connection:
            return int(await connection.scalar(select(func.count()).select_from(events)) or 0)
    finally:
        await engine.dispose()


async def run_rebuild(
    settings: Settings, env: dict[str, str], timeout_s: float, profile_to: Path | None = None
) -> RebuildResult:
    """Run the rebuild command and turn its output into a rate."""
    stored = await _stored_events(settings)
    say(f"rebuild: replaying {stored} stored events with `dualsync projections rebuild`")
    reached = [0, time.monotonic()]
    first: list[float] = []
    last_said = [0.0]

    def on_line(line: str) -> None:
        if match := _AT.search(line):
            reached[:] = [int(match[1]), time.monotonic()]
            first[:] = first or reached
            if reached[1] - last_said[0] >= 2.0:
                last_said[0] = reached[1]
                say(f"rebuild: {line.split(': ', 1)[-1]}")

    start = time.monotonic()
    run: OneShot = await run_oneshot(
        [DUALSYNC, "projections", "rebuild"], env, timeout_s, on_line, profile_to
    )
    done = _DONE.search(run.stdout)
    if done and run.returncode == 0:
        replayed, elapsed = int(done[1]), run.elapsed_s
    else:
        replayed, elapsed = int(reached[0]), max(1e-9, reached[1] - start)
        if not run.timed_out:
            tail = "\n".join(run.stderr_lines[-10:])
            raise RuntimeError(f"projections rebuild failed ({run.returncode}):\n{tail}")
    replay = None
    if first and reached[1] > first[1]:
        replay = round((reached[0] - first[0]) / (reached[1] - first[1]), 1)
    return RebuildResult(
        stored, replayed, elapsed, run.timed_out, run.returncode, run.peak_rss_mb, replay,
        run.hot_spots,
    )  # fmt: skip
