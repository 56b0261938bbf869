"""A Kafka and a PostgreSQL of one run's own, on free ports, that the run may stop and start.

Outage tests and `make chaos` stop and restart them under running services; the shared stack
that every other test uses is never touched. Both come from `scripts/stack.sh` (its private
PostgreSQL mode and its port settings), so there is one way to start the stack, not two.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

__all__ = ["Part", "PrivateStack", "private_stack"]

ROOT: Final = Path(__file__).resolve().parent.parent
STACK_SCRIPT: Final = ROOT / "scripts" / "stack.sh"

Part = Literal["kafka", "postgres"]


@dataclass(frozen=True)
class PrivateStack:
    """Where a private stack lives and listens; `stop`/`start` take one part down and up."""

    directory: Path
    kafka_port: int
    controller_port: int
    pg_port: int

    @property
    def kafka_bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def database_url(self) -> str:
        return f"postgresql+asyncpg://dualsync:dualsync@127.0.0.1:{self.pg_port}/dualsync"

    @property
    def credentials_file(self) -> Path:
        """Its Kafka passwords: in its own directory (not the cache that shared stacks use), so
        that a stack made for one run leaves nothing behind."""
        return self.directory / "kafka" / "credentials.env"

    def kafka_passwords(self) -> dict[str, str]:
        """Each role's Kafka password on this stack (role keys as in Settings.kafka_passwords),
        from the credentials file scripts/stack.sh generated for it."""
        marker = "DUALSYNC_KAFKA_PASSWORDS__"
        lines = self.credentials_file.read_text().splitlines()
        return {
            name.removeprefix(marker).lower(): value
            for name, _, value in (line.partition("=") for line in lines)
            if name.startswith(marker)
        }

    def environment(self) -> dict[str, str]:
        """The variables that point scripts/stack.sh at this stack."""
        return {
            **os.environ,
            "DUALSYNC_STACK_DIR": str(self.directory),
            "DUALSYNC_KAFKA_PORT": str(self.kafka_port),
            "DUALSYNC_KAFKA_CONTROLLER_PORT": str(self.controller_port),
            "DUALSYNC_PG_PORT": str(self.pg_port),
            "DUALSYNC_PG_MODE": "private",
            "DUALSYNC_KAFKA_CREDENTIALS": str(self.credentials_file),
        }

    def run(self, verb: Literal["up", "down"], part: Part | None = None) -> None:
        """`scripts/stack.sh VERB [PART]` for this stack; raise with its output if it fails."""
        command = [str(STACK_SCRIPT), verb, *([part] if part else [])]
        done = subprocess.run(  # noqa: S603 - our own script, fixed arguments
            command, env=self.environment(), capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")

    async def stop(self, part: Part) -> None:
        """Take `part` down (Kafka: SIGTERM to the broker; PostgreSQL: a fast shutdown)."""
        await asyncio.to_thread(self.run, "down", part)

    async def start(self, part: Part) -> None:
        """Bring `part` back on the same port and data; return once it answers."""
        await asyncio.to_thread(self.run, "up", part)


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@contextlib.contextmanager
def private_stack(parts: tuple[Part, ...] = ("kafka", "postgres")) -> Iterator[PrivateStack]:
    """Start `parts` of a private stack in a temporary directory; stop and remove it after."""
    directory = Path(tempfile.mkdtemp(prefix="dualsync-private-"))
    kafka_port, controller_port, pg_port = _free_ports(3)
    stack = PrivateStack(directory, kafka_port, controller_port, pg_port)
    try:
        for part in parts:
            stack.run("up", part)
        yield stack
    finally:
        with contextlib.suppress(RuntimeError):
            stack.run("down")
        shutil.rmtree(directory, ignore_errors=True)
