"""Whether the live order views are what a rebuild from the event store makes of them.

The live read-model tables are read whole; `dualsync projections rebuild` replays the store into
fresh tables and switches them in (docs/read-models.md); the tables are read again. After a
drain nothing else writes them, so the two readings must be equal row for row.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.oneshot import run_oneshot
from bench.services import DUALSYNC
from sync_service.projections.tables import LIVE

__all__ = ["RebuildComparison", "compare_with_rebuild"]

_EXAMPLES: Final = 5

Snapshot = dict[str, Counter[tuple[Any, ...]]]


@dataclass
class RebuildComparison:
    """Rows compared, rows that differ per table, a few of them, and how the rebuild went."""

    equal: bool = False
    rows: int = 0
    differences: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)
    rebuild_s: float = 0.0
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """For the verdict's JSON."""
        return {
            "equal": self.equal, "rows": self.rows, "differences": self.differences,
            "examples": self.examples, "rebuild_s": round(self.rebuild_s, 1), "error": self.error,
        }  # fmt: skip


def _hashable(value: Any) -> Any:
    # JSONB columns come back as lists and dicts.
    return json.dumps(value, sort_keys=True) if isinstance(value, list | dict) else value


async def _snapshot(engine: AsyncEngine) -> Snapshot:
    found: Snapshot = {}
    async with engine.connect() as connection:
        for table in LIVE.all():
            rows = await connection.execute(select(table))
            found[table.name] = Counter(tuple(_hashable(v) for v in row) for row in rows)
    return found


def _compare(live: Snapshot, rebuilt: Snapshot, result: RebuildComparison) -> None:
    for name, rows in live.items():
        only_live, only_rebuilt = rows - rebuilt[name], rebuilt[name] - rows
        result.rows += sum(rows.values())
        if only_live or only_rebuilt:
            result.differences[name] = sum(only_live.values()) + sum(only_rebuilt.values())
        for side, extra in (("live only", only_live), ("rebuild only", only_rebuilt)):
            for row in list(extra)[: _EXAMPLES - len(result.examples)]:
                result.examples.append(f"{name} {side}: {row}")
    result.equal = not result.differences


async def compare_with_rebuild(
    engine: AsyncEngine, env: dict[str, str], timeout_s: float
) -> RebuildComparison:
    """Read the views, rebuild them with `dualsync projections rebuild`, compare."""
    result = RebuildComparison()
    live = await _snapshot(engine)
    start = time.monotonic()
    run = await run_oneshot([DUALSYNC, "projections", "rebuild"], env, timeout_s)
    result.rebuild_s = time.monotonic() - start
    if run.returncode != 0 or run.timed_out:
        tail = "\n".join(run.stderr_lines[-10:])
        result.error = (
            f"projections rebuild ended with {run.returncode} (timed out: {run.timed_out}):\n{tail}"
        )
        return result
    _compare(live, await _snapshot(engine), result)
    return result
