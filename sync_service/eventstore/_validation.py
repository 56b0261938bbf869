"""Checks both adapters run before writing, so that they refuse the same inputs the same way."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from sync_service.eventstore.base import ORIGINS, InvalidEvent, NewEvent

__all__ = ["check_append", "check_read_all"]


def check_append(stream_id: str, expected_version: int, events: Sequence[NewEvent]) -> None:
    """Raise InvalidEvent unless the append's arguments can be stored as given."""
    if not stream_id:
        raise InvalidEvent("stream_id must not be empty")
    if expected_version < 0:
        raise InvalidEvent(f"expected_version must be 0 or more, not {expected_version}")
    seen: set[object] = set()
    for index, event in enumerate(events):
        where = f"events[{index}]"
        if event.event_id in seen:
            raise InvalidEvent(f"{where}: event id {event.event_id} appears twice in this append")
        seen.add(event.event_id)
        if event.origin not in ORIGINS:
            raise InvalidEvent(f"{where}.origin: {event.origin!r} is not one of {sorted(ORIGINS)}")
        if event.occurred_at.utcoffset() is None:
            raise InvalidEvent(f"{where}.occurred_at: must be timezone-aware")
        if not isinstance(event.payload, dict):
            raise InvalidEvent(f"{where}.payload: must be a dict, not {type(event.payload)}")
        _check_json_ready(event.payload, f"{where}.payload")


def check_read_all(after_position: int, limit: int) -> None:
    """Raise ValueError for a read_all window that makes no sense."""
    if after_position < 0:
        raise ValueError(f"after_position must be 0 or more, not {after_position}")
    if limit < 1:
        raise ValueError(f"limit must be 1 or more, not {limit}")


def _check_json_ready(value: Any, path: str) -> None:
    # Only what JSON holds natively and reads back equal: a Decimal, date or UUID would either
    # fail deep inside the driver or come back as a string, so it is refused here, by path.
    if value is None or isinstance(value, str | bool | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidEvent(f"{path}: {value} is not a JSON number")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidEvent(f"{path}: key {key!r} is not a string")
            _check_json_ready(item, f"{path}[{key!r}]")
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            _check_json_ready(item, f"{path}[{index}]")
        return
    raise InvalidEvent(
        f"{path}: {type(value).__name__} is not JSON-ready; "
        'pass payloads as pydantic model_dump(mode="json") gives them'
    )
