"""The benchmark's smoke run against the real stack, so that `make bench` cannot rot.

Only the shape and sanity of the figures are checked, never their size: the targets are read off
the bench's own table, not asserted by tests on a machine that other work shares.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from bench.services import SERVICES
from tests.stack import ROOT, Stack

pytestmark = pytest.mark.integration

RATES = ("orders_per_s", "raw_msgs_per_s", "rebuild_events_per_s", "initial_sync_records_per_s")
LATENCIES = ("submit_to_scm_ms", "submit_to_view_ms")


@pytest.fixture(scope="module")
def smoke(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    """One smoke run of `python -m bench`: its results file and its stdout."""
    out = tmp_path_factory.mktemp("bench") / "results.json"
    env = {
        **os.environ,
        "DUALSYNC_KAFKA_BOOTSTRAP": stack.kafka_bootstrap,
        "DUALSYNC_DATABASE_URL": stack.database_url,
    }
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, f"stdout:\n{run.stdout}\nstderr:\n{run.stderr[-4000:]}"
    return json.loads(out.read_text()), run.stdout


def test_the_smoke_run_measures_every_rate(smoke: tuple[dict[str, Any], str]) -> None:
    results, _ = smoke
    for key in RATES:
        assert isinstance(results[key], int | float) and results[key] > 0, key
    assert results["cores"] == os.cpu_count()
    assert results["parameters"]["smoke"] is True
    assert results["targets"]["orders_per_s"] == {"at_least": 1000, "unit": "orders/s"}


def test_the_latency_percentiles_are_ordered(smoke: tuple[dict[str, Any], str]) -> None:
    results, _ = smoke
    for name in LATENCIES:
        p50, p95, p99 = (results[f"p{share}_{name}"] for share in (50, 95, 99))
        assert 0 < p50 <= p95 <= p99, (name, p50, p95, p99)
    latency = results["details"]["latency"]
    assert latency["accepted"] == latency["offered"] > 0
    assert latency["missing_on_scm"] == latency["missing_in_view"] == 0


def test_every_process_reports_its_peak_memory(smoke: tuple[dict[str, Any], str]) -> None:
    results, _ = smoke
    rss = results["rss_mb"]
    assert set(rss) == {*SERVICES, "projections-rebuild", "initial-sync"}
    assert all(mb > 0 for mb in rss.values()), rss


def test_the_run_is_labelled_with_what_was_measured(smoke: tuple[dict[str, Any], str]) -> None:
    results, _ = smoke
    assert results["dualsync_commit"]
    assert results["kafka_version"]
    assert results["timestamp"]
    details = results["details"]
    assert not details["throughput"]["timed_out"]
    assert details["initial_sync"]["rows_not_loaded"] == 0


def test_the_table_is_printed(smoke: tuple[dict[str, Any], str]) -> None:
    _, stdout = smoke
    header = stdout.splitlines()[0].split()
    assert header == ["scenario", "figure", "value", "target", "met?"]
    for label in ("orders/s end to end", "submit -> SCM p99", "peak RSS relay", "records/s"):
        assert label in stdout
