"""Running a one-off `dualsync` command (rebuild, initial sync) under a time limit.

Its stderr is read line by line as it comes, so that its progress lines can be passed on and
parsed for a rate so far; past the limit it gets SIGINT (the CLI stops cleanly on it), then
SIGKILL. Its peak RSS is sampled from /proc while it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.profiling import Profiler
from bench.services import MemoryWatch

__all__ = ["OneShot", "run_oneshot"]

GRACE_S = 10.0


@dataclass
class OneShot:
    """How a one-off command went."""

    returncode: int | None
    elapsed_s: float
    timed_out: bool
    peak_rss_mb: float
    stdout: str
    stderr_lines: list[str] = field(default_factory=list)
    hot_spots: dict[str, Any] = field(default_factory=dict)


async def run_oneshot(
    argv: Sequence[str],
    env: dict[str, str],
    timeout_s: float,
    on_line: Callable[[str], None] = lambda _line: None,
    profile_to: Path | None = None,
) -> OneShot:
    """Run `argv`; `on_line` sees each stderr line; stop it after `timeout_s`.

    With `profile_to`, py-spy samples it into that directory (see bench.profiling).
    """
    start = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        *argv,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    assert process.stdout is not None and process.stderr is not None
    lines: list[str] = []
    profiler = Profiler(profile_to) if profile_to else None
    if profiler is not None:
        profiler.start({"-".join(Path(arg).name for arg in argv[:2]): process.pid})

    async def read_stderr() -> None:
        assert process.stderr is not None
        async for raw in process.stderr:
            line = raw.decode(errors="replace").rstrip("\n")
            lines.append(line)
            on_line(line)

    timed_out = False
    hot: dict[str, Any] = {}
    with MemoryWatch(process.pid) as memory:
        reading = asyncio.gather(process.stdout.read(), read_stderr())
        try:
            try:
                out, _ = await asyncio.wait_for(asyncio.shield(reading), timeout_s)
            except TimeoutError:
                timed_out = True
                process.send_signal(signal.SIGINT)
                try:
                    out, _ = await asyncio.wait_for(asyncio.shield(reading), GRACE_S)
                except TimeoutError:
                    process.kill()
                    out, _ = await reading
            await process.wait()
        finally:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
            if profiler is not None:
                hot = await asyncio.to_thread(profiler.stop)
    return OneShot(
        returncode=process.returncode,
        elapsed_s=time.monotonic() - start,
        timed_out=timed_out,
        peak_rss_mb=memory.peak_mb,
        stdout=out.decode(errors="replace"),
        stderr_lines=lines,
        hot_spots=hot,
    )
