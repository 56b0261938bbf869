"""The chaos run's processes: two replicas of every dualsync service, and one ERP simulator.

Each replica is `dualsync run <service>` in a process of its own (bench/services.py starts it,
with a log file per start). A supervisor brings a replica back about a second after it went
down, whether the run killed it (`kill -9`) or it exited on its own: the second kind is a
failure of the run and is kept with its exit status and the end of its log.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from bench.progress import say
from bench.services import DUALSYNC, ChildProcess, stop_all

__all__ = ["REPLICAS", "WORKERS", "Fleet", "Kill", "Replica", "UnexpectedExit"]

WORKERS: Final = ("command-processor", "relay", "projections", "outbound", "inbound")
REPLICAS: Final = 2
_TAIL_LINES: Final = 12
_SEARCHED_LINES: Final = 200
# A frame of our own code in a traceback: where a crash came from, past the library frames.
_OWN_FRAME: Final = re.compile(
    r'File "[^"]*/((?:sync_service|portal_api|contracts)/[^"]+)", line (\d+)'
)
_SUPERVISE_EVERY_S: Final = 0.1


@dataclass(frozen=True, slots=True)
class Kill:
    """One `kill -9` the run did: when (seconds into the run), which replica, which process."""

    at_s: float
    replica: str
    pid: int


@dataclass(frozen=True, slots=True)
class UnexpectedExit:
    """A replica that exited without being killed: a failure of the service, not of the run."""

    at_s: float
    replica: str
    pid: int
    status: int
    log: str
    tail: str
    where: str | None = None
    """The innermost frame of dualsync's own code in the log's last traceback, if any."""

    @property
    def last_line(self) -> str:
        """The log's last line: for a CLI error, the whole message."""
        return (self.tail.splitlines() or ["(empty log)"])[-1]

    def as_dict(self) -> dict[str, Any]:
        """For the verdict's JSON."""
        return {
            "at_s": round(self.at_s, 1), "replica": self.replica, "pid": self.pid,
            "status": self.status, "log": self.log, "where": self.where, "tail": self.tail,
        }  # fmt: skip


def _innermost_own_frame(child: ChildProcess) -> str | None:
    frames = _OWN_FRAME.findall(child.tail(_SEARCHED_LINES))
    return f"{frames[-1][0]}:{frames[-1][1]}" if frames else None


@dataclass
class Replica:
    """One replica: how it is started, and its current process (a new one after each restart)."""

    name: str
    argv: tuple[str, ...]
    env: dict[str, str]
    killable: bool = True
    child: ChildProcess | None = None
    starts: int = 0
    down_since: float | None = None
    """Monotonic time it went down (killed or exited), until the supervisor restarts it."""

    def start(self, log_dir: Path) -> None:
        """Start (or restart) the process, with a log file of this start's own."""
        if self.child is not None:
            self.child.log.close()
        self.starts += 1
        log = self.name if self.starts == 1 else f"{self.name}.{self.starts}"
        self.child = ChildProcess.start(log, self.argv, self.env, log_dir)
        self.down_since = None

    @property
    def up(self) -> bool:
        """Running, as far as the supervisor knows."""
        return self.child is not None and self.down_since is None


@dataclass
class Fleet:
    """Every replica of one chaos run, their kills and their unexpected exits."""

    replicas: dict[str, Replica]
    log_dir: Path
    restart_after_s: float
    started: float = field(default_factory=time.monotonic)
    kills: list[Kill] = field(default_factory=list)
    exits: list[UnexpectedExit] = field(default_factory=list)
    _killed: set[int] = field(default_factory=set)

    @classmethod
    def plan(
        cls,
        env: dict[str, str],
        api_ports: Sequence[int],
        erp_sim_args: Sequence[str],
        log_dir: Path,
        restart_after_s: float,
    ) -> Fleet:
        """Two replicas of every worker, one API per port in `api_ports`, one ERP simulator."""
        replicas: list[Replica] = [
            Replica(f"api-{n}", (DUALSYNC, "run", "api"), {**env, "DUALSYNC_API_PORT": str(port)})
            for n, port in enumerate(api_ports, start=1)
        ]
        replicas += [
            Replica(f"{service}-{n}", (DUALSYNC, "run", service), env)
            for service in WORKERS
            for n in range(1, REPLICAS + 1)
        ]
        # The simulator plays the ERP, not a dualsync service: it is not among the kill targets.
        replicas.append(
            Replica("erp-sim", (DUALSYNC, "erp-sim", *erp_sim_args), env, killable=False)
        )
        return cls({replica.name: replica for replica in replicas}, log_dir, restart_after_s)

    def now(self) -> float:
        """Seconds since the fleet was planned."""
        return time.monotonic() - self.started

    def start(self) -> None:
        """Start every replica."""
        for replica in self.replicas.values():
            replica.start(self.log_dir)

    def killable_up(self) -> list[str]:
        """The names of the kill targets that are running now."""
        return [r.name for r in self.replicas.values() if r.killable and r.up]

    def kill(self, name: str) -> Kill | None:
        """`kill -9` the replica `name`; None when it had already exited on its own."""
        replica = self.replicas[name]
        child = replica.child
        if child is None or not replica.up or child.process.poll() is not None:
            return None  # the supervisor reports an exit of its own
        self._killed.add(child.pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(child.pid, signal.SIGKILL)
        child.process.wait()
        replica.down_since = time.monotonic()
        kill = Kill(self.now(), name, child.pid)
        self.kills.append(kill)
        return kill

    def _check(self, replica: Replica) -> None:
        child = replica.child
        if child is None:
            return
        if replica.down_since is not None:
            if time.monotonic() - replica.down_since >= self.restart_after_s:
                replica.start(self.log_dir)
            return
        status = child.process.poll()
        if status is None or child.pid in self._killed:
            return
        replica.down_since = time.monotonic()
        child.log.flush()
        exit_ = UnexpectedExit(
            self.now(), replica.name, child.pid, status, str(child.log_path),
            child.tail(_TAIL_LINES), _innermost_own_frame(child),
        )  # fmt: skip
        self.exits.append(exit_)
        say(f"chaos: {replica.name} (pid {child.pid}) exited by itself, status {status}: "
            f"{exit_.last_line}" + (f" (in {exit_.where})" if exit_.where else ""))  # fmt: skip

    def check(self) -> None:
        """One round of supervision: record exits that were not kills, restart what is due."""
        for replica in self.replicas.values():
            self._check(replica)

    async def supervise(self) -> None:
        """Supervise until cancelled."""
        while True:
            self.check()
            await asyncio.sleep(_SUPERVISE_EVERY_S)

    def stop(self) -> None:
        """SIGTERM every replica (SIGKILL after the grace period) and close the logs.

        Exits from here on are the run's own doing: they are not checked any more.
        """
        children = [r.child for r in self.replicas.values() if r.child is not None]
        stop_all([child.process for child in children])
        for child in children:
            child.log.close()

    def kill_all(self) -> None:
        """Last resort on the way out: SIGKILL whatever is still running."""
        for replica in self.replicas.values():
            child = replica.child
            if child is not None and child.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGKILL)
                child.process.wait()
