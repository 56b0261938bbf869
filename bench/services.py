"""The dualsync services as separate OS processes, as `dualsync run <service>` starts them.

Each child gets the sandbox's environment and a log file of its own, and starts a session of its
own, so that a Ctrl-C in the terminal reaches the bench only and the bench stops the children in
order (SIGTERM, then SIGKILL after a grace period). Memory is read from /proc: VmHWM is the peak
resident set size of the process's whole life, VmRSS the current one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Final

import httpx

__all__ = [
    "DUALSYNC",
    "SERVICES",
    "ChildProcess",
    "MemoryWatch",
    "Services",
    "memory_mb",
    "stop_all",
    "stop_process",
]

ROOT: Final = Path(__file__).resolve().parent.parent
DUALSYNC: Final = str(Path(sys.executable).parent / "dualsync")
SERVICES: Final = ("api", "command-processor", "relay", "projections", "outbound")
"""What `dualsync run all` runs except inbound: nothing in the bench sends on scm.inbound.v1."""
GRACE_S: Final = 10.0


def memory_mb(pid: int) -> tuple[float, float] | None:
    """(peak, current) resident set size of `pid` in MB, from /proc; None once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    values = {}
    for line in status.splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            values[name] = int(rest.split()[0]) / 1024  # kB -> MB
    if "VmHWM" not in values:
        return None  # a zombie has no memory left to report
    return values["VmHWM"], values.get("VmRSS", 0.0)


def stop_process(process: subprocess.Popen[bytes], grace_s: float = GRACE_S) -> None:
    """SIGTERM, and SIGKILL if the process is still there after `grace_s`."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def stop_all(processes: Sequence[subprocess.Popen[bytes]], grace_s: float = GRACE_S) -> None:
    """SIGTERM every process at once, then SIGKILL those still there after `grace_s`."""
    running = [process for process in processes if process.poll() is None]
    for process in running:
        process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for process in running:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class ChildProcess:
    """One child: its name, the process and where its output goes."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]

    @classmethod
    def start(
        cls, name: str, argv: Sequence[str], env: dict[str, str], log_dir: Path
    ) -> ChildProcess:
        """Start `argv` with its output in `log_dir/<name>.log`, in a session of its own."""
        log_path = log_dir / f"{name}.log"
        log = log_path.open("wb")
        process = subprocess.Popen(  # noqa: S603 - argv is ours, not user input
            list(argv),
            env=env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return cls(name, process, log_path, log)

    @property
    def pid(self) -> int:
        """The process id."""
        return self.process.pid

    def tail(self, lines: int = 15) -> str:
        """The last lines of the child's output, to explain a failure."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the child (SIGTERM, then SIGKILL) and close its log."""
        try:
            stop_process(self.process)
        finally:
            self.log.close()


@dataclass
class MemoryWatch:
    """Samples a short-lived child's peak RSS while it runs (it is gone when it ends)."""

    pid: int
    peak_mb: float = 0.0
    _task: asyncio.Task[None] | None = field(default=None, repr=False)

    async def _sample(self) -> None:
        while (memory := memory_mb(self.pid)) is not None:
            self.peak_mb = max(self.peak_mb, memory[0])
            await asyncio.sleep(0.2)

    def __enter__(self) -> MemoryWatch:
        self._task = asyncio.get_running_loop().create_task(self._sample())
        return self

    def __exit__(self, *_: object) -> None:
        if self._task is not None:
            self._task.cancel()


@dataclass
class Services:
    """The dualsync service processes of one bench run, possibly in several generations.

    A new generation (fresh topics after a backlog) replaces the processes; the peak memory of
    the ones stopped is kept, so that `memory()` reports the peak of each service over the run.
    """

    env: dict[str, str]
    log_dir: Path
    children: dict[str, ChildProcess] = field(default_factory=dict)
    retired: list[ChildProcess] = field(default_factory=list)
    peaks: dict[str, tuple[float, float]] = field(default_factory=dict)
    generation: int = 0

    def start(self, env: dict[str, str] | None = None, names: Sequence[str] = SERVICES) -> None:
        """Start each service as `dualsync run <name>` (with `env`, if given, from now on)."""
        self.env = env or self.env
        self.generation += 1
        for name in names:
            log = name if self.generation == 1 else f"{name}.{self.generation}"
            self.children[name] = ChildProcess.start(
                log, [DUALSYNC, "run", name], self.env, self.log_dir
            )

    def check_alive(self) -> None:
        """Raise, with the end of its log, if a service has exited."""
        for child in self.children.values():
            if child.process.poll() is not None:
                raise RuntimeError(
                    f"service {child.name} exited with status {child.process.returncode}; "
                    f"its log ({child.log_path}) ends:\n{child.tail()}"
                )

    async def wait_api_ready(self, api_url: str, timeout_s: float = 60.0) -> None:
        """Until GET /readyz answers 200 (Kafka and PostgreSQL reachable from the API)."""
        deadline = time.monotonic() + timeout_s
        async with httpx.AsyncClient(base_url=api_url, timeout=2.0) as client:
            while True:
                self.check_alive()
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the API at {api_url} was not ready in {timeout_s:g}s")
                await asyncio.sleep(0.2)

    def _sample(self) -> None:
        for name, child in self.children.items():
            memory = memory_mb(child.pid)
            if memory is not None:
                before = self.peaks.get(name, (0.0, 0.0))
                self.peaks[name] = (max(before[0], memory[0]), memory[1])

    def memory(self) -> dict[str, tuple[float, float]]:
        """(peak over the run, latest) RSS in MB of every service."""
        self._sample()
        return dict(self.peaks)

    def pids(self) -> dict[str, int]:
        """The process id of each running service."""
        return {name: child.pid for name, child in self.children.items()}

    def stop(self, grace_s: float = GRACE_S) -> None:
        """SIGTERM every service at once, then SIGKILL those still there after `grace_s`.

        Their memory is read first; they leave `children` before they are stopped, so that a
        watchdog does not take the stop for a crash.
        """
        self._sample()
        stopping, self.children = list(self.children.values()), {}
        self.retired += stopping
        stop_all([child.process for child in stopping], grace_s)
        for child in stopping:
            child.log.close()

    def kill(self) -> None:
        """Last resort on the way out: SIGKILL whatever is still running."""
        for child in [*self.children.values(), *self.retired]:
            if child.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGKILL)
                child.process.wait()
