"""Reaching Kafka and PostgreSQL: one-off commands fail fast naming the address; services wait,
and give up the same way only when DUALSYNC_START_WAIT_S bounds the wait."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys

import pytest

from sync_service.connectivity import DependencyUnavailable, check_database, check_kafka
from sync_service.kafka_access import client_options
from sync_service.settings import Settings


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_unreachable_kafka_names_the_address() -> None:
    address = f"127.0.0.1:{_closed_port()}"
    with pytest.raises(DependencyUnavailable, match=f"cannot reach Kafka at {address}"):
        await check_kafka(address, timeout_s=1.5)


async def test_unreachable_database_names_the_address_without_password() -> None:
    url = f"postgresql+asyncpg://dualsync:s3cret@127.0.0.1:{_closed_port()}/dualsync"
    with pytest.raises(DependencyUnavailable) as raised:
        await check_database(url, timeout_s=1.5)
    assert "cannot reach PostgreSQL at postgresql+asyncpg://dualsync:***@127.0.0.1" in str(
        raised.value
    )
    assert "s3cret" not in str(raised.value)


@pytest.mark.integration
async def test_reachable_stack_passes(kafka_bootstrap: str, database_url: str) -> None:
    settings = Settings(kafka_bootstrap=kafka_bootstrap)
    await check_kafka(kafka_bootstrap, timeout_s=10, security=client_options(settings, "api"))
    await check_database(database_url, timeout_s=10)


@pytest.mark.parametrize(
    "verb",
    [["check"], ["topics", "create"], ["run", "all"], ["erp-sim"]],
)
def test_cli_without_kafka_exits_with_a_message_not_a_traceback(verb: list[str]) -> None:
    address = f"127.0.0.1:{_closed_port()}"
    env = {
        **os.environ,
        "DUALSYNC_KAFKA_BOOTSTRAP": address,
        "DUALSYNC_CONNECT_TIMEOUT_S": "2",  # one-off verbs
        "DUALSYNC_START_WAIT_S": "2",  # services wait, bounded here
        "DUALSYNC_LOG_FORMAT": "console",
    }
    result = _dualsync(verb, env)
    assert result.returncode == 2, result.stderr
    assert f"cannot reach Kafka at {address}" in result.stderr
    assert "Traceback" not in result.stderr


def _dualsync(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # The services' own secrets, so that what is missing is only the dependency under test.
    secrets_set = {
        "DUALSYNC_COMMAND_SIGNING_KEY": secrets.token_urlsafe(32),
        "DUALSYNC_ADMIN_TOKEN": secrets.token_urlsafe(32),
    }
    # The timeout guards against a hang: the command itself gives up after 2 s.
    return subprocess.run(
        [sys.executable, "-m", "sync_service.cli", *args],
        env={**secrets_set, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.integration
def test_a_service_without_postgresql_gives_up_when_told(kafka_bootstrap: str) -> None:
    url = f"postgresql+asyncpg://dualsync:s3cret@127.0.0.1:{_closed_port()}/dualsync"
    env = {
        **os.environ,
        "DUALSYNC_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "DUALSYNC_DATABASE_URL": url,
        "DUALSYNC_START_WAIT_S": "2",
        "DUALSYNC_LOG_FORMAT": "json",
    }
    result = _dualsync(["run", "command-processor"], env)
    assert result.returncode == 2, result.stderr
    shown = url.replace("s3cret", "***")
    assert f"dualsync: error: cannot reach PostgreSQL at {shown} (tried for" in result.stderr
    assert '"event": "dependencies.waiting"' in result.stderr  # it waited, and said so
    assert "s3cret" not in result.stderr
    assert "Traceback" not in result.stderr
