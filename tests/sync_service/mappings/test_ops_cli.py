"""`dualsync maps` and `dualsync deadletters` against the stack."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

from sync_service.settings import Settings

pytestmark = pytest.mark.integration


def _run(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DUALSYNC_DATABASE_URL": settings.database_url,
        "DUALSYNC_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "DUALSYNC_TOPIC_PREFIX": settings.topic_prefix,
    }
    return subprocess.run(
        [sys.executable, "-m", "sync_service.cli", *args],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_maps_pause_and_resume_show_in_the_list(settings: Settings) -> None:
    paused = _run(settings, "maps", "pause", "ContactPersonsV2")
    assert paused.returncode == 0, paused.stderr
    assert "ContactPersonsV2       paused" in paused.stdout
    assert "CustomersV3            running" in paused.stdout
    resumed = _run(settings, "maps", "resume", "ContactPersonsV2")
    assert "ContactPersonsV2       running" in resumed.stdout


def test_deadletters_list_is_empty_and_an_unknown_id_is_refused(settings: Settings) -> None:
    listed = _run(settings, "deadletters", "list")
    assert (listed.returncode, listed.stdout) == (0, ""), listed.stderr
    missing = _run(settings, "deadletters", "redrive", str(uuid.uuid4()))
    assert missing.returncode == 1
    assert "no open dead letter" in missing.stdout
