"""`dualsync run <service>` as a real OS process in a test: its JSON log, a stop by signal."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.services import DUALSYNC, ChildProcess
from sync_service.kafka_access import environment as kafka_environment
from sync_service.settings import Settings


def free_port() -> int:
    """A local port nobody listens on: bound, then released."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@dataclass
class ServiceProcess:
    """One `dualsync` process started by a test, logging JSON lines to a file of its own."""

    child: ChildProcess

    @classmethod
    def start(
        cls, args: Sequence[str], settings: Settings, log_dir: Path, **env: str
    ) -> ServiceProcess:
        """Start `dualsync ARGS` on `settings`' Kafka, database and topic prefix."""
        environment = {
            **os.environ,
            "DUALSYNC_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "DUALSYNC_DATABASE_URL": settings.database_url,
            "DUALSYNC_TOPIC_PREFIX": settings.topic_prefix,
            **kafka_environment(settings),
            "DUALSYNC_LOG_FORMAT": "json",
            "DUALSYNC_LOG_LEVEL": "INFO",
            **_signing_keys(settings),
            **env,
        }
        name = "-".join(args) + f"-{time.monotonic_ns()}"
        return cls(ChildProcess.start(name, [DUALSYNC, *args], environment, log_dir))

    @property
    def alive(self) -> bool:
        """Whether the process is still running."""
        return self.child.process.poll() is None

    def events(self) -> list[dict[str, Any]]:
        """Every JSON log line written so far (other lines, e.g. a traceback, are left out)."""
        found = []
        for line in self.child.log_path.read_text(errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict):
                found.append(entry)
        return found

    def logged(self, event: str, where: Callable[[dict[str, Any]], bool] = bool) -> int:
        """How many lines of `event` (matching `where`) the process has logged."""
        return sum(1 for e in self.events() if e.get("event") == event and where(e))

    async def wait_logged(
        self,
        event: str,
        count: int = 1,
        *,
        where: Callable[[dict[str, Any]], bool] = bool,
        timeout_s: float = 60.0,
    ) -> None:
        """Until the process has logged `event` `count` times; fail if it exits first."""
        async with asyncio.timeout(timeout_s):
            while self.logged(event, where) < count:
                assert self.alive, f"exited with {self.child.process.returncode}:\n{self.tail()}"
                await asyncio.sleep(0.1)

    async def stop(self, sig: signal.Signals = signal.SIGTERM) -> tuple[int, float]:
        """Send `sig` and wait for the exit (SIGKILL after 30 s); its status and how long."""
        started = time.monotonic()
        self.child.process.send_signal(sig)
        try:
            status = await asyncio.to_thread(self.child.process.wait, 30)
        except Exception:
            self.child.process.kill()
            status = await asyncio.to_thread(self.child.process.wait)
        finally:
            self.child.log.close()
        return status, time.monotonic() - started

    def kill(self) -> None:
        """SIGKILL, for a test's clean-up after a failure."""
        if self.alive:
            self.child.process.kill()
            self.child.process.wait()
        self.child.log.close()

    def tail(self, lines: int = 30) -> str:
        """The end of the process's log, to explain a failure."""
        return self.child.tail(lines)


def _signing_keys(settings: Settings) -> dict[str, str]:
    """The command signing keys of `settings`, as a service process reads them."""
    keys = {
        "DUALSYNC_COMMAND_SIGNING_KEY": settings.command_signing_key,
        "DUALSYNC_COMMAND_SIGNING_PREVIOUS_KEYS": settings.command_signing_previous_keys,
    }
    return {name: key.get_secret_value() for name, key in keys.items() if key is not None}
