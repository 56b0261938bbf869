"""Who did what to the mapping workers: an `ops_actions` row per redrive, discard, pause, resume.

Written in the same transaction as the change it describes, so the log never claims an action
that did not happen nor misses one that did. Actors are short texts: `admin-token` (the bootstrap
credential), `contact:<contact_id>`, `cli:<os user>`, `alert` (the automatic pause).
"""

from __future__ import annotations

from typing import Final, Literal

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from sync_service.mappings.tables import ops_actions

__all__ = ["ALERT_ACTOR", "UNKNOWN_ACTOR", "Action", "TargetKind", "record_action"]

Action = Literal["redrive", "discard", "pause", "resume"]
TargetKind = Literal["dead_letter", "map"]

ALERT_ACTOR: Final = "alert"
"""The actor of a pause the dead-letter threshold made."""
UNKNOWN_ACTOR: Final = "unknown"
"""The actor when a caller of the Python API did not say who it acts for."""


async def record_action(
    connection: AsyncConnection,
    *,
    actor: str,
    action: Action,
    target_kind: TargetKind,
    target: str,
    reason: str | None = None,
    outcome: str | None = None,
) -> None:
    """Log one ops action inside the caller's transaction."""
    await connection.execute(
        insert(ops_actions).values(
            actor=actor or UNKNOWN_ACTOR,
            action=action,
            target_kind=target_kind,
            target=target,
            reason=reason,
            outcome=outcome,
        )
    )
