"""The `dualsync` verbs that ask the running API (with DUALSYNC_ADMIN_TOKEN), as any
administrator's client would: what they change goes through the command bus like the rest."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from sync_service.settings import Settings

__all__ = ["api_base_url", "call_api", "problem_text"]


def api_base_url(settings: Settings) -> str:
    """The running API's address as seen from this machine."""
    host = settings.api_host
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - a listening address, not one we bind
        host = "127.0.0.1"
    return f"http://{host}:{settings.api_port}"


def call_api(
    base: str, method: str, path: str, token: str, body: dict[str, Any] | None = None
) -> tuple[int, Any]:
    """The status and JSON answer of one request; for an error, the problem's words instead."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 - our own API's http(s) URL
        base + path, data=data, method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, problem_text(error.read().decode("utf-8", "replace"))


def problem_text(text: str) -> str:
    """A problem-details body as one line: its detail and every field's message."""
    try:
        problem = json.loads(text)
        said = [problem.get("detail", "")]
        said += [e.get("message", "") for e in problem.get("errors") or []]
        return "; ".join(part for part in said if part) or text
    except (ValueError, AttributeError):
        return text
