"""The `dualsync` command line: verbs that work without the network, and against the stack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sync_service.cli import main


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sync_service.cli", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_contracts_export_writes_schemas_and_asyncapi(tmp_path: Path) -> None:
    assert main(["contracts", "export", "--out", str(tmp_path)]) == 0
    asyncapi = json.loads((tmp_path / "asyncapi.json").read_text())
    assert asyncapi["asyncapi"].startswith("3.")
    assert (tmp_path / "schemas" / "SubmitOrder.v1.json").is_file()


def test_unknown_verb_is_a_usage_error() -> None:
    result = _run("frobnicate")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


@pytest.mark.integration
def test_migrate_reports_the_head_revision(stack: object, database_url: str) -> None:
    from sync_service.db.migrate import head_revision

    result = _run("migrate", env={"DUALSYNC_DATABASE_URL": database_url})
    assert result.returncode == 0, result.stderr
    assert f"database schema at revision {head_revision()}" in result.stdout


@pytest.mark.parametrize("service", ["api", "command-processor", "all"])
def test_a_service_that_signs_or_verifies_commands_refuses_to_start_without_a_key(
    service: str,
) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DUALSYNC_COMMAND_")}
    result = subprocess.run(
        [sys.executable, "-m", "sync_service.cli", "run", service],
        env=environment, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "dualsync: error: DUALSYNC_COMMAND_SIGNING_KEY is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_weak_signing_key_is_refused_by_name_without_showing_it() -> None:
    weak = "dualsync-dev-signing-key"
    result = _run("run", "command-processor", env={"DUALSYNC_COMMAND_SIGNING_KEY": weak})
    assert result.returncode == 2
    assert "dualsync: error: DUALSYNC_COMMAND_SIGNING_KEY:" in result.stderr
    assert "at least 43 characters" in result.stderr
    assert weak not in result.stderr and "Traceback" not in result.stderr
