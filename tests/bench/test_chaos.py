"""A small run of the crash test (`make chaos`) against the real stack: its verdict must be clean.

Real processes, real `kill -9`, a real PostgreSQL restart (on the run's private PostgreSQL; the
shared stack is never stopped). Small enough for about two minutes on two cores.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from tests.stack import ROOT, Stack

pytestmark = pytest.mark.integration

ORDERS, KILLS = 150, 4


@pytest.fixture(scope="module")
def chaos(stack: Stack) -> tuple[dict[str, Any], str]:
    """One small chaos run: its verdict (JSON) and its stderr (progress and the table)."""
    env = {
        **os.environ,
        "DUALSYNC_KAFKA_BOOTSTRAP": stack.kafka_bootstrap,
        "DUALSYNC_DATABASE_URL": stack.database_url,
    }
    argv = [
        sys.executable, "-m", "bench.chaos", "--json",
        "--orders", str(ORDERS), "--rate", "15", "--kills", str(KILLS),
        "--restart-postgres", "--drain-timeout", "120",
    ]  # fmt: skip
    run = subprocess.run(
        argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=480, check=False
    )
    assert run.stdout.strip(), f"no verdict; stderr:\n{run.stderr[-6000:]}"
    return json.loads(run.stdout), run.stderr


def test_the_faults_happened(chaos: tuple[dict[str, Any], str]) -> None:
    verdict, _ = chaos
    assert len(verdict["kills"]) == KILLS
    assert [outage["part"] for outage in verdict["outages"]] == ["postgres"]
    assert verdict["offered"] == ORDERS


def test_the_verdict_is_clean(chaos: tuple[dict[str, Any], str]) -> None:
    verdict, stderr = chaos
    assert verdict["clean"], f"{verdict['failures']}\n{stderr[-8000:]}"
    assert verdict["accepted"] == verdict["stored_once"] == verdict["scm_once"] == ORDERS
    assert verdict["visible"] == verdict["numbered"] == ORDERS
    assert verdict["lost"] == verdict["scm_duplicate_effects"] == 0
    assert verdict["views_equal_to_rebuild"]["equal"]
    assert verdict["answers"].get("500", 0) == verdict["improper_503"] == 0
    assert verdict["unexpected_exits"] == []
