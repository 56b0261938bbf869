"""What ops do to the mapping workers, as plain functions: the HTTP routes, the ops page and the
CLI all call these, so a redrive or a pause means the same thing (and is logged the same way,
with who did it) whichever door it came through.

Dead letters are listed newest first (by first failure, then id) with an opaque cursor for the
next page; `redrive_matching` works oldest first, so that a key's records go out in order.
"""

from __future__ import annotations

import getpass
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Final
from uuid import UUID

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.errors import FieldError
from sync_service.domain.roles import Caller
from sync_service.mappings import MAPS
from sync_service.mappings.alerts import window_start
from sync_service.mappings.faults import is_transient
from sync_service.mappings.inbound import INBOUND_MAPS
from sync_service.mappings.outbound import ROUTES
from sync_service.mappings.pausing import set_paused
from sync_service.mappings.redrive import (
    Cursor,
    DeadLetterFilter,
    DeadLetterNotOpen,
    DeadLetterNotRedrivable,
    DeadLetterOps,
    RedriveResult,
    select_dead_letters,
)
from sync_service.mappings.tables import dead_letters, map_states, ops_actions, parked_records
from sync_service.settings import Settings

__all__ = [
    "MAX_PAGE",
    "MAX_REDRIVE_ALL",
    "DeadLetterFilter",
    "DeadLetterPage",
    "FilterInvalid",
    "MapOverview",
    "RedriveAll",
    "UnknownMap",
    "actor_of",
    "cli_actor",
    "direction_of",
    "discard_dead_letter",
    "get_dead_letter",
    "list_dead_letters",
    "map_overview",
    "one_map",
    "pause_map",
    "redrive_dead_letter",
    "redrive_matching",
    "resume_map",
]

MAX_PAGE: Final = 500
MAX_REDRIVE_ALL: Final = 10_000
"""At most this many dead letters in one redrive-all-matching (one request stays bounded)."""

_OUTBOUND: Final = frozenset(route.entity.name for route in ROUTES.values())
_INBOUND: Final = frozenset(INBOUND_MAPS.values())


class FilterInvalid(ValueError):
    """A dead-letter filter, page size or cursor that cannot be used; `errors` names the fields."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


class UnknownMap(LookupError):
    """No map has this name."""


def actor_of(caller: Caller) -> str:
    """Who an HTTP caller is in the ops log: `admin-token` or `contact:<contact_id>`."""
    if caller.contact_id is not None:
        return f"contact:{caller.contact_id}"
    return "admin-token" if caller.is_bootstrap_admin else "anonymous"


def cli_actor(by: str | None = None) -> str:
    """Who a CLI user is in the ops log: `cli:<--by>`, by default `cli:<OS user>`."""
    if by:
        return by if by.startswith("cli:") else f"cli:{by}"
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name for this uid (a bare container)
        return "cli:unknown"


def direction_of(name: str) -> str:
    """`both`, `outbound` (CDS to SCM) or `inbound` (SCM to CDS): where a map's records go."""
    if name in _OUTBOUND and name in _INBOUND:
        return "both"
    return "outbound" if name in _OUTBOUND else "inbound"


def _check(filters: DeadLetterFilter) -> None:
    problems = filters.problems()
    if problems:
        raise FilterInvalid(problems)


# --- dead letters ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeadLetterPage:
    """One page of dead letters (newest first) and the cursor of the next, None at the end."""

    items: list[dict[str, Any]]
    next_cursor: str | None


async def list_dead_letters(
    engine: AsyncEngine,
    filters: DeadLetterFilter | None = None,
    *,
    limit: int = 50,
    cursor: str | None = None,
) -> DeadLetterPage:
    """A page of the dead letters matching `filters` (open ones by default), newest first.

    Each item is the `dead_letters` row (without the original value) plus `parked`, how many
    records of its key wait behind it. Raises FilterInvalid naming the field at fault.
    """
    filters = filters or DeadLetterFilter()
    problems = filters.problems()
    if not 1 <= limit <= MAX_PAGE:
        problems.append(FieldError(field="limit", message=f"from 1 to {MAX_PAGE}"))
    after = None
    if cursor:
        try:
            after = Cursor.decode(cursor)
        except ValueError:
            problems.append(FieldError(field="cursor", message="not a cursor of this list"))
    if problems:
        raise FilterInvalid(problems)
    query = select_dead_letters(filters, newest_first=True, limit=limit + 1, after=after)
    async with engine.connect() as connection:
        rows = [dict(row) for row in (await connection.execute(query)).mappings()]
    more = len(rows) > limit
    rows = rows[:limit]
    for row in rows:
        del row["original_value"]
    last = rows[-1] if more else None
    next_cursor = Cursor(last["first_failed_at"], last["dead_letter_id"]).encode() if last else None
    return DeadLetterPage(rows, next_cursor)


async def get_dead_letter(engine: AsyncEngine, dead_letter_id: UUID) -> dict[str, Any] | None:
    """The whole dead letter (original value, fields at fault, attempts, failures, resolution,
    who) with `parked` and `actions`, the ops log of it (oldest first); None if there is none."""
    query = select_dead_letters(DeadLetterFilter(status="all")).where(
        dead_letters.c.dead_letter_id == dead_letter_id
    )
    history = (
        select(ops_actions)
        .where(
            ops_actions.c.target_kind == "dead_letter",
            ops_actions.c.target == str(dead_letter_id),
        )
        .order_by(ops_actions.c.action_id)
    )
    async with engine.connect() as connection:
        row = (await connection.execute(query)).mappings().first()
        if row is None:
            return None
        actions = [dict(r) for r in (await connection.execute(history)).mappings()]
    return {**dict(row), "actions": actions}


async def redrive_dead_letter(
    ops: DeadLetterOps, dead_letter_id: UUID, actor: str
) -> RedriveResult:
    """Redrive one dead letter as `actor` (DeadLetterNotFound / DeadLetterNotOpen /
    DeadLetterNotRedrivable when it cannot be)."""
    return await ops.redrive(dead_letter_id, actor=actor)


async def discard_dead_letter(
    ops: DeadLetterOps, dead_letter_id: UUID, actor: str, reason: str
) -> RedriveResult:
    """Discard one dead letter as `actor`; `reason` is required (FilterInvalid when blank)."""
    if not reason or not reason.strip():
        raise FilterInvalid([FieldError(field="reason", message="say why it is discarded")])
    return await ops.discard(dead_letter_id, reason.strip(), actor=actor)


@dataclass
class RedriveAll:
    """What a redrive of every matching dead letter came to, counted per outcome."""

    matched: int = 0
    redriven: int = 0
    still_failing: int = 0
    not_open: int = 0
    """Closed meanwhile (by a parked record's release, or by someone else)."""
    not_redrivable: int = 0
    released: int = 0
    """Parked records applied after the redriven ones."""
    stopped: str | None = None
    """Why it stopped early: Kafka or PostgreSQL unavailable (the rest stay open)."""
    errors: dict[str, str] = field(default_factory=dict)
    """Dead letter id -> its error, for those still failing."""

    def as_dict(self) -> dict[str, Any]:
        """The counts as JSON."""
        return asdict(self)


async def redrive_matching(
    engine: AsyncEngine,
    ops: DeadLetterOps,
    filters: DeadLetterFilter,
    actor: str,
    *,
    limit: int = MAX_REDRIVE_ALL,
) -> RedriveAll:
    """Redrive every open dead letter matching `filters`, oldest first, as `actor`."""
    filters = DeadLetterFilter(**{**_fields(filters), "status": "open"})
    _check(filters)
    if not 1 <= limit <= MAX_REDRIVE_ALL:
        raise FilterInvalid([FieldError(field="limit", message=f"from 1 to {MAX_REDRIVE_ALL}")])
    query = select_dead_letters(filters, limit=limit).with_only_columns(
        dead_letters.c.dead_letter_id
    )
    async with engine.connect() as connection:
        ids = list((await connection.execute(query)).scalars())
    result = RedriveAll(matched=len(ids))
    for dead_letter_id in ids:
        try:
            one = await ops.redrive(dead_letter_id, actor=actor)
        except DeadLetterNotOpen:
            result.not_open += 1
            continue
        except DeadLetterNotRedrivable:
            result.not_redrivable += 1
            continue
        except Exception as error:
            if not is_transient(error):
                raise
            result.stopped = f"{type(error).__name__}: {error}"
            break
        result.released += one.released
        if one.outcome == "redriven":
            result.redriven += 1
        else:
            result.still_failing += 1
            result.errors[str(dead_letter_id)] = one.error or ""
    return result


def _fields(filters: DeadLetterFilter) -> dict[str, Any]:
    return {name: getattr(filters, name) for name in DeadLetterFilter.__dataclass_fields__}


# --- maps -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MapOverview:
    """A map's state (paused, by whom, why) and its counters."""

    name: str
    direction: str
    paused: bool
    paused_by: str | None
    paused_reason: str | None
    """`ops` or `alert` while paused."""
    note: str | None
    """Ops' reason for the pause, or the alert's count and window."""
    changed_at: datetime | None
    changed_by: str | None
    resumed_at: datetime | None
    open_dead_letters: int
    dead_letters_in_window: int
    """Dead letters since the alert window began (or since the last resume, if later)."""
    parked_records: int

    def as_dict(self) -> dict[str, Any]:
        """The state as a dict (times as datetimes)."""
        return asdict(self)


def _known(name: str) -> None:
    if name not in MAPS:
        raise UnknownMap(f"no map {name!r}; maps: {', '.join(sorted(MAPS))}")


async def map_overview(engine: AsyncEngine, settings: Settings) -> list[MapOverview]:
    """Every map (by name) with its state and counters; three grouped queries."""
    window_s = settings.alert_window_s if settings.alert_deadletters > 0 else 0.0
    letters = (
        select(
            dead_letters.c.map_name,
            func.count().filter(dead_letters.c.status == "open").label("open"),
            func.count()
            .filter(dead_letters.c.first_failed_at > window_start(window_s))
            .label("in_window"),
        )
        .where(dead_letters.c.map_name.is_not(None))
        .group_by(dead_letters.c.map_name)
    )
    parked = (
        select(dead_letters.c.map_name, func.count().label("parked"))
        .select_from(
            parked_records.join(
                dead_letters,
                and_(
                    dead_letters.c.consumer == parked_records.c.consumer,
                    dead_letters.c.record_key == parked_records.c.record_key,
                    dead_letters.c.status == "open",
                ),
            )
        )
        .group_by(dead_letters.c.map_name)
    )
    async with engine.connect() as connection:
        states = {r.name: r for r in await connection.execute(select(map_states))}
        counts = {r.map_name: r for r in await connection.execute(letters)}
        held = {r.map_name: r.parked for r in await connection.execute(parked)}
    return [_overview(name, states.get(name), counts.get(name), held) for name in sorted(MAPS)]


def _overview(name: str, state: Any, count: Any, held: Mapping[str, int]) -> MapOverview:
    paused = bool(state and state.paused)
    return MapOverview(
        name=name,
        direction=direction_of(name),
        paused=paused,
        paused_by=state.paused_by if paused else None,
        paused_reason=state.paused_reason if paused else None,
        note=state.note if paused else None,
        changed_at=state.changed_at if state else None,
        changed_by=state.changed_by if state else None,
        resumed_at=state.resumed_at if state else None,
        open_dead_letters=count.open if count else 0,
        dead_letters_in_window=count.in_window if count else 0,
        parked_records=held.get(name, 0),
    )


async def one_map(engine: AsyncEngine, settings: Settings, name: str) -> MapOverview:
    """One map's overview (UnknownMap if there is no such map)."""
    _known(name)
    return next(m for m in await map_overview(engine, settings) if m.name == name)


async def pause_map(engine: AsyncEngine, name: str, actor: str, reason: str | None = None) -> bool:
    """Pause map `name` as `actor` (ops); whether it was running. UnknownMap for a bad name."""
    _known(name)
    return await set_paused(engine, name, True, actor=actor, reason=reason or None)


async def resume_map(engine: AsyncEngine, name: str, actor: str) -> bool:
    """Resume map `name` as `actor`, whoever paused it; whether it was paused."""
    _known(name)
    return await set_paused(engine, name, False, actor=actor)
