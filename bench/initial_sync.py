"""Scenario 6, initial sync: `dualsync initial-sync` on a generated export of N rows.

Records per second = rows processed / wall time of the command. The counts come from its closing
table (the `total` row); if it runs past its time limit, from its progress lines (the latest
`done/total` of each file), so that a slow load still reports the rate it reached.
"""

from __future__ import annotations

import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from bench.gen_export import write_export
from bench.oneshot import run_oneshot
from bench.progress import say
from bench.services import DUALSYNC

__all__ = ["InitialSyncResult", "run_initial_sync"]

_PROGRESS: Final = re.compile(r"initial-sync: (\S+): (\d+)/(\d+)")
_TOTAL: Final = re.compile(r"^total\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$", re.MULTILINE)


@dataclass
class InitialSyncResult:
    """What the initial sync measured."""

    rows: int
    counts: dict[str, int]
    """Rows of each entity: customers, products, prices, orders."""
    processed: int
    loaded: int | None
    not_loaded: int | None
    elapsed_s: float
    timed_out: bool
    returncode: int | None
    peak_rss_mb: float
    load_rows_per_s: float | None = None
    """Between the first and the last progress line: without process start and reading."""
    hot_spots: dict[str, Any] = field(default_factory=dict)

    @property
    def records_per_s(self) -> float:
        """Rows processed per second of wall time."""
        return self.processed / self.elapsed_s if self.elapsed_s else 0.0

    def as_dict(self) -> dict[str, Any]:
        """Parameters and counts for the results file."""
        return {
            "rows": self.rows,
            **self.counts,
            "rows_processed": self.processed,
            "rows_loaded": self.loaded,
            "rows_not_loaded": self.not_loaded,
            "elapsed_s": round(self.elapsed_s, 3),
            "timed_out": self.timed_out,
            "returncode": self.returncode,
            "load_rows_per_s": self.load_rows_per_s,
        }


async def run_initial_sync(
    env: dict[str, str], rows: int, timeout_s: float, profile_to: Path | None = None
) -> InitialSyncResult:
    """Generate an export of `rows` rows and load it; the rate, so far if it timed out."""
    with tempfile.TemporaryDirectory(prefix="dualsync-bench-export-") as directory:
        counts = write_export(Path(directory), rows)
        split = ", ".join(f"{n} {entity}" for entity, n in counts.items())
        say(f"initial-sync: {rows} rows ({split}) in {directory}")
        done: dict[str, int] = {}
        latest = [time.monotonic()]
        first: list[float] = []
        last_said = [0.0]

        def on_line(line: str) -> None:
            if match := _PROGRESS.search(line):
                done[match[1]] = int(match[2])
                latest[0] = now = time.monotonic()
                first[:] = first or [sum(done.values()), now]
                if now - last_said[0] >= 5.0:
                    last_said[0] = now
                    say(f"initial-sync: {sum(done.values())}/{rows} rows ({line.strip()})")

        start = time.monotonic()
        argv = [DUALSYNC, "initial-sync", directory]
        run = await run_oneshot(argv, env, timeout_s, on_line, profile_to)
    load = None
    if first and latest[0] > first[1]:
        load = round((sum(done.values()) - first[0]) / (latest[0] - first[1]), 1)
    total = _TOTAL.search(run.stdout)
    if total and not run.timed_out:
        read, loaded, skipped, dead, parked = (int(n) for n in total.groups())
        return InitialSyncResult(
            rows, counts, read, loaded + skipped, dead + parked, run.elapsed_s, False,
            run.returncode, run.peak_rss_mb, load, run.hot_spots,
        )  # fmt: skip
    if not run.timed_out:
        tail = "\n".join(run.stderr_lines[-10:])
        raise RuntimeError(f"initial-sync failed ({run.returncode}):\n{tail}")
    processed = sum(done.values())
    elapsed = max(1e-9, latest[0] - start)
    return InitialSyncResult(
        rows, counts, processed, None, None, elapsed, True, run.returncode, run.peak_rss_mb, load,
        run.hot_spots,
    )  # fmt: skip
