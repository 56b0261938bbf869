"""The bench's results: the issue's targets, the table on stdout and the JSON results file."""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

__all__ = ["TARGETS", "Results", "git_commit", "kafka_version"]

ROOT: Final = Path(__file__).resolve().parent.parent

TARGETS: Final[dict[str, dict[str, Any]]] = {
    # figure: (comparison, value, unit), from issue 7 ("on the 2-core machine, everything on it")
    "orders_per_s": {"at_least": 1000, "unit": "orders/s"},
    "p99_submit_to_scm_ms": {"at_most": 100, "unit": "ms", "at_rate_per_s": 200},
    "p99_submit_to_view_ms": {"at_most": 250, "unit": "ms", "at_rate_per_s": 200},
    "rss_mb": {"at_most": 200, "unit": "MB", "each": "process"},
    "rebuild_events_per_s": {"at_least": 10_000, "unit": "events/s"},
    "initial_sync_records_per_s": {"at_least": 2000, "unit": "records/s"},
}

# (scenario, figure key, label) in the order of the issue.
ROWS: Final = (
    ("1 baseline", "raw_msgs_per_s", "raw Kafka pass-through, msgs/s"),
    ("2 throughput", "orders_per_s", "orders/s end to end"),
    ("3 latency", "p50_submit_to_scm_ms", "submit -> SCM p50, ms"),
    ("3 latency", "p95_submit_to_scm_ms", "submit -> SCM p95, ms"),
    ("3 latency", "p99_submit_to_scm_ms", "submit -> SCM p99, ms"),
    ("3 latency", "p50_submit_to_view_ms", "submit -> view p50, ms"),
    ("3 latency", "p95_submit_to_view_ms", "submit -> view p95, ms"),
    ("3 latency", "p99_submit_to_view_ms", "submit -> view p99, ms"),
    ("5 rebuild", "rebuild_events_per_s", "events replayed/s"),
    ("6 initial sync", "initial_sync_records_per_s", "records/s"),
)


def met(figure: str, value: float | None) -> bool | None:
    """Whether `value` reaches the issue's target for `figure` (None: no target or no value)."""
    target = TARGETS.get(figure)
    if target is None or value is None:
        return None
    if "at_least" in target:
        return bool(value >= target["at_least"])
    return bool(value <= target["at_most"])


def _target_text(figure: str) -> str:
    target = TARGETS.get(figure)
    if target is None:
        return "-"
    if "at_least" in target:
        return f">= {target['at_least']:,}"
    return f"<= {target['at_most']:,}"


def git_commit() -> str | None:
    """The dualsync commit measured, with `+dirty` when the tree has uncommitted changes."""
    try:
        # Read-only: --no-optional-locks keeps `git status` from refreshing the index file.
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],  # noqa: S607 - git from PATH
            cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        status = subprocess.run(
            ["git", "--no-optional-locks", "status", "--porcelain", "--untracked-files=no"],  # noqa: S607
            cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return None
    return f"{commit}+dirty" if status.strip() else commit


def kafka_version() -> str:
    """The broker's release, from the command line of a local Kafka process; else `unknown`.

    Kafka's protocol does not tell a client the broker's release, so this looks for the
    `kafka-X.Y.Z` (jar directory) or `kafka_2.13-X.Y.Z` (jar) that `scripts/stack.sh` runs.
    """
    pattern = re.compile(r"kafka(?:_\d+\.\d+)?-(\d+\.\d+\.\d+)")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "kafka.Kafka" in cmdline and (found := pattern.search(cmdline)):
            return found[1]
    return os.environ.get("DUALSYNC_KAFKA_VERSION", "unknown")


@dataclass
class Results:
    """Every figure of one run, the parameters it ran with, and where it ran."""

    figures: dict[str, Any]
    parameters: dict[str, Any]
    details: dict[str, Any]

    def document(self) -> dict[str, Any]:
        """The results file's content."""
        rss = self.figures.get("rss_mb") or {}
        verdicts = {key: met(key, self.figures.get(key)) for key in TARGETS if key != "rss_mb"}
        verdicts["rss_mb"] = met("rss_mb", max(rss.values())) if rss else None
        return {
            "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
            "dualsync_commit": git_commit(),
            "kafka_version": kafka_version(),
            "python": platform.python_version(),
            "cores": os.cpu_count(),
            # Everything shares the machine: a busy one (load well above the cores) reads slow.
            "load_average_1m_at_end": round(os.getloadavg()[0], 2),
            **self.figures,
            "parameters": self.parameters,
            "targets": TARGETS,
            "met": verdicts,
            "details": self.details,
        }

    def write(self, path: Path) -> dict[str, Any]:
        """Write the results file; its content."""
        document = self.document()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=2, default=str) + "\n")
        return document

    def table(self) -> str:
        """The table printed at the end: scenario, figure, value, target, met?"""
        rows = [("scenario", "figure", "value", "target", "met?")]
        for scenario, key, label in ROWS:
            value = self.figures.get(key)
            rows.append((scenario, label, _value(value), _target_text(key), _verdict(key, value)))
        for name, peak in sorted((self.figures.get("rss_mb") or {}).items()):
            rows.append(
                (
                    "4 memory",
                    f"peak RSS {name}, MB",
                    _value(peak),
                    "<= 200",
                    _verdict("rss_mb", peak),
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
                 for row in rows]  # fmt: skip
        lines.insert(1, "  ".join("-" * width for width in widths))
        notes = self.details.get("notes") or []
        return "\n".join(lines + [f"note: {note}" for note in notes])


def _value(value: Any) -> str:
    if value is None:
        return "not run"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _verdict(key: str, value: Any) -> str:
    verdict = met(key, value)
    return "-" if verdict is None else ("yes" if verdict else "NO")
