"""`--profile`: py-spy samples every service process during the throughput and latency runs.

The throughput run loads the workers (its commands go straight onto Kafka); the latency run is
the one that loads the API. Per phase and service, `bench/results/profiles/<run>/<phase>/
<service>.txt` holds the collapsed stacks (py-spy's
raw format: open it in https://speedscope.app or feed it to flamegraph.pl / inferno for a flame
graph) and `<service>.top.txt` the hottest functions: by own time (the leaf frame) and by time
inside (any frame on the stack), and the same restricted to dualsync's own code. Idle time is
not sampled, so shares are of the time the process was busy.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

__all__ = ["Profiler", "hot_spots"]

PY_SPY: Final = str(Path(sys.executable).parent / "py-spy")
RATE: Final = 100
OWN_CODE: Final = ("sync_service/", "portal_api/", "contracts/")
# Path components after which a file's path is worth showing: packages, the tree, the stdlib.
_ROOTS: Final = (
    "site-packages",
    Path(__file__).resolve().parent.parent.name,
    f"python{sys.version_info.major}.{sys.version_info.minor}",
)


# On every stack of an asyncio service, so they say nothing: the loop and the entry point.
_FRAMEWORK: Final = tuple(
    f"({path})"
    for path in (
        "asyncio/runners.py", "asyncio/base_events.py", "asyncio/events.py", "dualsync",
        "sync_service/cli.py", "sync_service/service_runner.py",
    )
)  # fmt: skip


def _function(frame: str) -> str:
    """`name (path/to/file.py:12)` -> `name (file.py)`, so lines of one function add up."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    parts = path.split("/")
    for marker in _ROOTS:
        if marker in parts:
            parts = parts[parts.index(marker) + 1 :]
            break
    return f"{name} ({'/'.join(parts[-3:])})"


def hot_spots(collapsed: str, top: int = 15) -> dict[str, list[tuple[str, float]]]:
    """The hottest functions of a collapsed-stacks profile, as (function, % of samples)."""
    own: Counter[str] = Counter()
    inside: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [_function(frame) for frame in stack.split(";")]
        own[frames[-1]] += count
        for frame in set(frames):
            if not frame.endswith(_FRAMEWORK):
                inside[frame] += count
    if not total:
        return {"own": [], "inside": [], "own_code_inside": []}

    def share(counter: Counter[str], keep: int = top) -> list[tuple[str, float]]:
        return [(name, round(100 * n / total, 1)) for name, n in counter.most_common(keep)]

    ours = Counter({k: v for k, v in inside.items() if any(m in k for m in OWN_CODE)})
    return {"own": share(own), "inside": share(inside), "own_code_inside": share(ours)}


@dataclass
class Profiler:
    """py-spy recorders attached to running processes."""

    out_dir: Path
    recorders: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @staticmethod
    def available() -> bool:
        """Whether py-spy is installed next to this Python."""
        return Path(PY_SPY).exists() or shutil.which("py-spy") is not None

    def start(self, pids: dict[str, int]) -> None:
        """Start sampling each process in `pids` (name -> pid)."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        executable = PY_SPY if Path(PY_SPY).exists() else "py-spy"
        for name, pid in pids.items():
            argv = [
                executable, "record", "--pid", str(pid), "--rate", str(RATE), "--nonblocking",
                "--format", "raw", "--output", str(self.out_dir / f"{name}.txt"),
            ]  # fmt: skip
            self.recorders[name] = subprocess.Popen(  # noqa: S603 - our own argv
                argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )

    def stop(self) -> dict[str, dict[str, list[tuple[str, float]]]]:
        """Stop sampling (py-spy writes its file on SIGINT); the hot spots of each process."""
        for recorder in self.recorders.values():
            recorder.send_signal(signal.SIGINT)
        found = {}
        for name, recorder in self.recorders.items():
            try:
                recorder.wait(timeout=30)
            except subprocess.TimeoutExpired:
                recorder.kill()
                recorder.wait()
            path = self.out_dir / f"{name}.txt"
            if not path.exists():
                continue
            spots = hot_spots(path.read_text())
            found[name] = spots
            lines = []
            for kind, title in (
                ("own", "own time (leaf frame)"),
                ("inside", "time inside (on the stack)"),
                ("own_code_inside", "dualsync code, time inside"),
            ):
                lines.append(f"# {name}: {title}, % of busy samples")
                lines += [f"{pct:6.1f}%  {function}" for function, pct in spots[kind]]
                lines.append("")
            (self.out_dir / f"{name}.top.txt").write_text("\n".join(lines))
        self.recorders.clear()
        return found
