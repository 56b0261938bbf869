"""scripts/local_secrets.sh: `make run`'s secrets, made once per checkout and reused."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

from sync_service.domain.admin_token import admin_token_weakness

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "local_secrets.sh"
NAMES = ("DUALSYNC_ADMIN_TOKEN", "DUALSYNC_COMMAND_SIGNING_KEY")


def _exported(file: Path, **env: str) -> dict[str, str]:
    """What `eval "$(scripts/local_secrets.sh)"` sets, read back by the same shell."""
    clean = {k: v for k, v in os.environ.items() if k not in NAMES}
    shell = f'eval "$({SCRIPT})"; for n in {" ".join(NAMES)}; do echo "$n=${{!n}}"; done'
    run = subprocess.run(
        ["bash", "-c", shell],
        env={**clean, "DUALSYNC_SECRETS_FILE": str(file), **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return dict(line.split("=", 1) for line in run.stdout.splitlines())


def test_the_secrets_are_made_once_private_and_strong(tmp_path: Path) -> None:
    file = tmp_path / ".dualsync" / "secrets.env"

    first = _exported(file)
    second = _exported(file)

    assert first == second  # reused, not made again
    assert set(first) == set(NAMES)
    assert admin_token_weakness(first["DUALSYNC_ADMIN_TOKEN"]) is None
    assert len(first["DUALSYNC_COMMAND_SIGNING_KEY"]) == 43  # 32 bytes, URL-safe base64
    assert first["DUALSYNC_ADMIN_TOKEN"] != first["DUALSYNC_COMMAND_SIGNING_KEY"]
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert f"DUALSYNC_ADMIN_TOKEN={first['DUALSYNC_ADMIN_TOKEN']}\n" in file.read_text()


def test_another_checkout_gets_other_secrets(tmp_path: Path) -> None:
    one = _exported(tmp_path / "one" / "secrets.env")
    other = _exported(tmp_path / "other" / "secrets.env")

    assert one["DUALSYNC_ADMIN_TOKEN"] != other["DUALSYNC_ADMIN_TOKEN"]


def test_a_variable_already_set_wins_and_the_file_keeps_its_own(tmp_path: Path) -> None:
    file = tmp_path / "secrets.env"
    made = _exported(file)
    mine = "set-by-the-caller-" + "k" * 20

    chosen = _exported(file, DUALSYNC_ADMIN_TOKEN=mine)

    assert chosen["DUALSYNC_ADMIN_TOKEN"] == mine
    assert chosen["DUALSYNC_COMMAND_SIGNING_KEY"] == made["DUALSYNC_COMMAND_SIGNING_KEY"]
    assert _exported(file) == made


def test_a_secret_missing_from_an_older_file_is_added(tmp_path: Path) -> None:
    file = tmp_path / "secrets.env"
    file.write_text("DUALSYNC_ADMIN_TOKEN=an-older-token-kept-as-it-was-0123456789\n")

    exported = _exported(file)

    assert exported["DUALSYNC_ADMIN_TOKEN"] == "an-older-token-kept-as-it-was-0123456789"
    assert len(exported["DUALSYNC_COMMAND_SIGNING_KEY"]) == 43
    assert _exported(file) == exported


def test_the_secrets_file_is_outside_git_and_out_of_images() -> None:
    root = SCRIPT.parents[1]
    assert ".dualsync/" in (root / ".gitignore").read_text().splitlines()
    assert ".dualsync" in (root / ".dockerignore").read_text().splitlines()
    assert "scripts/local_secrets.sh" in (root / "Makefile").read_text()
