"""The API's clock: `app.state.clock`, so that tests can move time instead of waiting for it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from fastapi import Request

__all__ = ["Clock", "now", "utc_now"]

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The time now, in UTC: the clock of a running API."""
    return datetime.now(UTC)


def now(request: Request) -> datetime:
    """The time now by the application's clock."""
    clock: Clock = getattr(request.app.state, "clock", utc_now)
    return clock()
