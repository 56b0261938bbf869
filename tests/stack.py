"""Where the tests find a real Kafka and PostgreSQL.

In order: the `DUALSYNC_KAFKA_BOOTSTRAP` / `DUALSYNC_DATABASE_URL` environment variables (and
the principals' passwords, `DUALSYNC_KAFKA_PASSWORDS__<ROLE>`, as `scripts/stack.sh env` prints
them); else the project's own `scripts/stack.sh up` (Kafka from Maven Central jars, with
SASL/SCRAM and ACLs), and PostgreSQL from a testcontainers container when a Docker engine
answers, else from stack.sh too (Debian's packages).

Kafka never comes from testcontainers: its Kafka module (Confluent's image) cannot be given
SCRAM users and an authorizer without a Docker engine here to prove it, and a broker without
them would let every ACL test pass for the wrong reason.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sync_service.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
STACK_SCRIPT = ROOT / "scripts" / "stack.sh"


@dataclass(frozen=True)
class Stack:
    """Addresses of the broker and of a database that tests may create databases from."""

    kafka_bootstrap: str
    database_url: str
    provider: str


def _docker_reachable() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        client = docker.from_env(timeout=3)
        client.ping()
    except Exception:  # any failure means: no usable engine here
        return False
    return True


@contextlib.contextmanager
def _postgres_container() -> Iterator[str]:
    from testcontainers.postgres import PostgresContainer

    with PostgresContainer(
        "postgres:15", username="dualsync", password="dualsync", dbname="dualsync", driver="asyncpg"
    ) as pg:
        yield pg.get_connection_url()


def _use_stack_script_credentials(part: str) -> None:
    """`scripts/stack.sh up PART`, then its `env` into this process's environment (variables set
    already win): every Settings() of the session, and every child process, sees them."""
    subprocess.run([str(STACK_SCRIPT), "up", part], check=True)
    printed = subprocess.run(
        [str(STACK_SCRIPT), "env"], check=True, capture_output=True, text=True
    ).stdout
    for line in printed.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        if name.startswith("DUALSYNC_KAFKA_") and name != "DUALSYNC_KAFKA_BOOTSTRAP":
            os.environ.setdefault(name, value)


@contextlib.contextmanager
def provide_stack() -> Iterator[Stack]:
    """Yield a reachable stack for the whole test session, cleaning up what it started."""
    kafka = os.environ.get("DUALSYNC_KAFKA_BOOTSTRAP")
    database = os.environ.get("DUALSYNC_DATABASE_URL")
    if kafka and database:
        yield Stack(kafka, database, provider="environment")
        return
    if kafka is None:
        _use_stack_script_credentials("kafka")
    defaults = Settings()
    if database is None and _docker_reachable():
        container = contextlib.contextmanager(_postgres_container)()
        with container as tc_database:
            yield Stack(kafka or defaults.kafka_bootstrap, tc_database, "stack.sh+testcontainers")
        return
    if database is None:
        subprocess.run([str(STACK_SCRIPT), "up", "postgres"], check=True)
    yield Stack(
        kafka or defaults.kafka_bootstrap, database or defaults.database_url, "scripts/stack.sh"
    )
