"""The bootstrap administrator token's strength: what is refused at the API's start, and why."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest

from sync_service.domain.admin_token import (
    WeakAdminToken,
    admin_token_weakness,
    refuse_weak_admin_token,
)


@pytest.mark.parametrize(
    ("token", "why"),
    [
        ("admin", "it is a well-known value"),
        ("change-me-admin-token", "it is a well-known value"),
        ("dualsync-dev-admin", "it is a well-known value"),
        ("Xk3-short-but-random-9Qz", "it is shorter than 32 characters"),
        ("change-me-admin-token-change-me-please-x", "it contains a well-known placeholder"),
        ("my-dualsync-dev-admin-token-of-sufficient-size", "it contains a well-known placeholder"),
        ("a" * 48, "it is too predictable (low entropy)"),
        ("abcdefgh" * 5, "it is too predictable (low entropy)"),
        ("ab" * 20 + "abcabc", "it is too predictable (low entropy)"),
    ],
)
def test_weak_tokens_are_named_with_the_reason(token: str, why: str) -> None:
    assert admin_token_weakness(token) == why
    with pytest.raises(WeakAdminToken) as refused:
        refuse_weak_admin_token(token, allow_weak=False)
    assert str(refused.value).startswith(f"DUALSYNC_ADMIN_TOKEN is refused: {why}; ")


def test_random_tokens_of_128_bits_or_more_pass() -> None:
    # The ways people make tokens: Python's secrets, `openssl rand -hex 16`, `make run`'s.
    makers = (lambda: secrets.token_urlsafe(24), lambda: secrets.token_hex(16))
    weak = [t for make in makers for t in (make() for _ in range(2000)) if admin_token_weakness(t)]
    assert weak == []


def test_the_development_setting_and_no_token_at_all_are_let_through() -> None:
    refuse_weak_admin_token("admin", allow_weak=True)
    refuse_weak_admin_token(None, allow_weak=False)


@pytest.mark.parametrize("service", ["api", "all"])
def test_run_refuses_a_weak_token_before_any_service_starts(service: str) -> None:
    env = {**os.environ, "DUALSYNC_ADMIN_TOKEN": "dualsync-dev-admin"}
    env.pop("DUALSYNC_ALLOW_WEAK_ADMIN_TOKEN", None)
    run = subprocess.run(
        [sys.executable, "-m", "sync_service.cli", "run", service],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 1
    assert "DUALSYNC_ADMIN_TOKEN is refused: it is a well-known value" in run.stderr
    assert "DUALSYNC_ALLOW_WEAK_ADMIN_TOKEN=true" in run.stderr
