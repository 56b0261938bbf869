"""What the ops page reads and does: sync_service.ops.actions, over the API's lifespan objects.

The same functions serve the JSON ops routes and the CLI, so an action taken on the page is
logged the same way, with the signed-in Administrator as its actor. Each action answers a flash
message (its outcome, for the person who clicked) rather than raising for a dead letter that is
no longer open: two ops people on the same list is normal.
"""

from __future__ import annotations

from typing import Any, Final
from uuid import UUID

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncEngine

from portal_api.ops_page.render import Flash
from sync_service.domain.roles import Caller
from sync_service.mappings.faults import is_transient
from sync_service.mappings.redrive import (
    DeadLetterNotFound,
    DeadLetterNotOpen,
    DeadLetterNotRedrivable,
    DeadLetterOps,
)
from sync_service.ops.actions import (
    FilterInvalid,
    UnknownMap,
    actor_of,
    discard_dead_letter,
    list_dead_letters,
    map_overview,
    pause_map,
    redrive_dead_letter,
    resume_map,
)
from sync_service.settings import Settings
from sync_service.writemodel.base import WriteModelReader

__all__ = ["PAGE_SIZE", "discard", "maps", "open_dead_letters", "pause_or_resume", "redrive", "who"]

PAGE_SIZE: Final = 200
"""Open dead letters shown at once (newest first); more is a case for the filters of the API."""


def _engine(request: Request) -> AsyncEngine:
    engine: AsyncEngine = request.app.state.engine
    return engine


def _ops(request: Request) -> DeadLetterOps:
    ops: DeadLetterOps = request.app.state.dead_letter_ops
    return ops


def _unavailable(dead_letter_id: UUID, error: Exception) -> str:
    return (
        f"Kafka or PostgreSQL is unavailable ({type(error).__name__}): dead letter "
        f"{dead_letter_id} stays open; try again in a moment."
    )


async def who(request: Request, caller: Caller) -> str:
    """The signed-in Administrator, as the page header names them."""
    if caller.contact_id is None:
        return "the bootstrap administrator (DUALSYNC_ADMIN_TOKEN)"
    reader: WriteModelReader = request.app.state.reader
    contact = await reader.contact(caller.contact_id)
    if contact is None:
        return actor_of(caller)
    return f"{contact.first_name} {contact.last_name} <{contact.email}>"


async def open_dead_letters(request: Request) -> tuple[list[dict[str, Any]], bool]:
    """Open dead letters, newest first, and whether there are more than the page shows."""
    page = await list_dead_letters(_engine(request), limit=PAGE_SIZE)
    return page.items, page.next_cursor is not None


async def redrive(request: Request, caller: Caller, dead_letter_id: UUID) -> Flash:
    """Redrive one dead letter as the caller; the flash says whether it went through."""
    try:
        result = await redrive_dead_letter(_ops(request), dead_letter_id, actor_of(caller))
    except (DeadLetterNotFound, DeadLetterNotOpen):
        return ("error", f"Dead letter {dead_letter_id} is no longer open: nothing done.")
    except DeadLetterNotRedrivable as error:
        return ("error", f"Dead letter {dead_letter_id} cannot be redriven here: {error}")
    except Exception as error:
        if not is_transient(error):
            raise
        return ("error", _unavailable(dead_letter_id, error))
    if result.outcome == "still_failing":
        return ("error", f"Dead letter {dead_letter_id} still fails: {result.error}")
    return ("ok", f"Redriven {dead_letter_id}; {result.released} held records released after it.")


async def discard(request: Request, caller: Caller, dead_letter_id: UUID, reason: str) -> Flash:
    """Discard one dead letter as the caller, with a reason."""
    try:
        result = await discard_dead_letter(_ops(request), dead_letter_id, actor_of(caller), reason)
    except FilterInvalid:
        return ("error", "Discarding needs a reason: nothing was discarded.")
    except (DeadLetterNotFound, DeadLetterNotOpen):
        return ("error", f"Dead letter {dead_letter_id} is no longer open: nothing done.")
    except DeadLetterNotRedrivable as error:
        return ("error", f"Dead letter {dead_letter_id} cannot be discarded here: {error}")
    except Exception as error:
        if not is_transient(error):
            raise
        return ("error", _unavailable(dead_letter_id, error))
    return ("ok", f"Discarded {dead_letter_id}; {result.released} held records released after it.")


async def maps(request: Request) -> list[dict[str, Any]]:
    """Every map with its state: paused or not, by whom, why, since when."""
    settings: Settings = request.app.state.settings
    return [overview.as_dict() for overview in await map_overview(_engine(request), settings)]


async def pause_or_resume(
    request: Request, caller: Caller, name: str, pause: bool, note: str | None = None
) -> Flash:
    """Pause (with ops' note) or resume the map `name` as the caller."""
    try:
        if pause:
            changed = await pause_map(_engine(request), name, actor_of(caller), note)
        else:
            changed = await resume_map(_engine(request), name, actor_of(caller))
    except UnknownMap:
        return ("error", f"There is no map {name!r}.")
    if not changed:
        return ("ok", f"{name} was already {'paused' if pause else 'running'}.")
    return ("ok", f"{name} {'paused' if pause else 'resumed'}.")
