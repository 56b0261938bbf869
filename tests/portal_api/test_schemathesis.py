"""schemathesis fuzzes the real API on the real stack, as three callers, with every check on.

The portal (API, command processor, projections, relay, demo data) is served over a socket by
uvicorn (tests/portal_api/live_server.py); schemathesis's own CLI reads its OpenAPI document
and runs every phase (coverage, fuzzing, stateful) with `--checks all`: server errors, status
codes, content types, headers and response schemas against the document, negative data
rejected, positive data accepted, missing required headers, unsupported methods and their
`Allow`, and the stateful checks on the links schemathesis infers between operations.
No operation is excluded. tests/portal_api/schemathesis.toml lists, with the rule behind
each, the operations whose business rules refuse some schema-valid requests with 422.

Bounded for the suite: a fixed seed and a few examples per operation (the coverage phase adds
its boundary cases), the three callers' runs at once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.portal_api.live_server import LivePortal, live_portal
from tests.stack import Stack

pytestmark = pytest.mark.integration

CONFIG = Path(__file__).with_name("schemathesis.toml")
MAX_EXAMPLES = int(os.environ.get("DUALSYNC_SCHEMATHESIS_EXAMPLES", "5"))
# Fixed, so that the suite is repeatable; set it to explore further.
SEED = os.environ.get("DUALSYNC_SCHEMATHESIS_SEED", "20261130")
# Only a guard against a hung run: the examples bound it (about a minute on two idle cores).
# Not --max-time, which makes schemathesis fuzz until the time is spent.
TIMEOUT_S = 900

CALLERS = ("administrator", "authorized_user", "anonymous")


@dataclass
class Run:
    """One schemathesis process, and where it writes its report."""

    process: subprocess.Popen[str]
    report: Path


@pytest.fixture(scope="module")
def live(stack: Stack, template_database: str) -> Iterator[LivePortal]:
    with live_portal(stack, template_database) as running:
        yield running


@pytest.fixture(scope="module")
def runs(live: LivePortal, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Run]]:
    """The three callers' runs, started together: the API serves them concurrently."""
    tokens = {"administrator": live.admin_token, "authorized_user": live.jane_token}
    started = {caller: _start(live, tokens.get(caller), tmp_path_factory.mktemp(caller))
               for caller in CALLERS}  # fmt: skip
    yield started
    for run in started.values():
        if run.process.poll() is None:
            run.process.kill()
            run.process.wait()


def _start(live: LivePortal, token: str | None, workdir: Path) -> Run:
    report = workdir / "report.json"
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG),
        "run", f"{live.base_url}/openapi.json",
        "--checks", "all",
        "--max-examples", str(MAX_EXAMPLES),
        "--seed", SEED,
        "--report", "json", "--report-json-path", str(report),
        "--request-timeout", "30",
    ]  # fmt: skip
    if token is not None:
        command += ["--header", f"Authorization: Bearer {token}"]
    # cwd: schemathesis keeps its example database where it runs, not in the repository.
    process = subprocess.Popen(
        command, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    return Run(process, report)


@pytest.mark.parametrize("caller", CALLERS)
def test_schemathesis_finds_no_failure(runs: dict[str, Run], caller: str) -> None:
    run = runs[caller]
    output, _ = run.process.communicate(timeout=TIMEOUT_S)
    report = json.loads(run.report.read_text())
    cases = report["test_cases"]
    print(f"schemathesis as {caller}: {cases['generated']} cases in {report['running_time']:.0f} s")
    assert run.process.returncode == 0, output
    assert report["complete"], output
    assert cases["with_failures"] == 0 and cases["errored"] == 0, output
    assert not report["errors"], output
    assert report["filtered"] == 0  # every operation was tested
    assert cases["generated"] >= 100, output
