"""Where the tests find a real Kafka and PostgreSQL.

In order: the `DUALSYNC_KAFKA_BOOTSTRAP` / `DUALSYNC_DATABASE_URL` environment variables; else
containers started with testcontainers when a Docker engine answers; else the project's own
`scripts/stack.sh up` (Kafka from Maven Central jars, PostgreSQL from Debian's packages).
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
def _containers(need_kafka: bool, need_postgres: bool) -> Iterator[tuple[str | None, str | None]]:
    from testcontainers.community.kafka import KafkaContainer
    from testcontainers.postgres import PostgresContainer

    with contextlib.ExitStack() as stack:
        kafka = postgres = None
        if need_kafka:
            # Confluent's image is the one testcontainers knows how to advertise; 7.9 = Kafka 3.9.
            container = stack.enter_context(
                KafkaContainer("confluentinc/cp-kafka:7.9.0").with_kraft()
            )
            kafka = container.get_bootstrap_server()
        if need_postgres:
            pg = stack.enter_context(
                PostgresContainer(
                    "postgres:15",
                    username="dualsync",
                    password="dualsync",
                    dbname="dualsync",
                    driver="asyncpg",
                )
            )
            postgres = pg.get_connection_url()
        yield kafka, postgres


@contextlib.contextmanager
def provide_stack() -> Iterator[Stack]:
    """Yield a reachable stack for the whole test session, cleaning up what it started."""
    defaults = Settings()
    kafka = os.environ.get("DUALSYNC_KAFKA_BOOTSTRAP")
    database = os.environ.get("DUALSYNC_DATABASE_URL")
    if kafka and database:
        yield Stack(kafka, database, provider="environment")
        return
    if _docker_reachable():
        with _containers(kafka is None, database is None) as (tc_kafka, tc_database):
            yield Stack(kafka or tc_kafka or "", database or tc_database or "", "testcontainers")
        return
    subprocess.run([str(STACK_SCRIPT), "up"], check=True)
    yield Stack(
        kafka or defaults.kafka_bootstrap, database or defaults.database_url, "scripts/stack.sh"
    )
