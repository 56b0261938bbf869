"""Ops on the mapping workers over HTTP (SPEC §7, Administrator only): dead letters and maps.

Every action is logged with who did it: `admin-token` for the bootstrap credential,
`contact:<contact_id>` for an Administrator contact. The functions behind the routes are
sync_service.ops.actions, which the ops page and the CLI call as well.

Redrive needs the workers' handlers and a Kafka publisher: `actions_running` builds them once
in the app's lifespan (a producer of its own, portal_api.kafka_producer) and the routes reuse
them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, FastAPI, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.bounds import MULTI_LINE_PATTERN, Code, Timestamp
from contracts.errors import FieldError
from portal_api.auth import AdminCaller
from portal_api.kafka_producer import ApiProducer
from portal_api.openapi import (
    ADMIN_ONLY,
    NEEDS_STORE,
    WITH_BODY,
    WITH_PARAMETERS,
    problem_answers,
)
from portal_api.problems import Problem
from portal_api.schemas import CURSOR_PATTERN
from sync_service.kafka_access import client_options
from sync_service.mappings import MAPS
from sync_service.mappings.faults import is_transient
from sync_service.mappings.redrive import (
    DeadLetterFilter,
    DeadLetterNotFound,
    DeadLetterNotOpen,
    DeadLetterNotRedrivable,
    DeadLetterOps,
    RedriveResult,
    Status,
)
from sync_service.ops import actions
from sync_service.settings import Settings

__all__ = ["actions_running", "router"]

router = APIRouter(prefix="/ops", tags=["ops"], responses=NEEDS_STORE)

Reason = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=1000, pattern=MULTI_LINE_PATTERN
    ),
]
# Filters are compared with stored codes: never text that no column holds (NUL), nor a moment
# that PostgreSQL cannot compare (outside the years 1 to 9999 in UTC).
MapName = Annotated[Code, Path(description="a map's name, e.g. SalesOrderHeaders")]
# The filter names a map that exists (else 422, from the filter's own check): say which.
MapFilter = Annotated[Code, WithJsonSchema({"type": "string", "enum": sorted(MAPS)})]


@asynccontextmanager
async def actions_running(
    app: FastAPI, settings: Settings, engine: AsyncEngine
) -> AsyncIterator[None]:
    """`app.state.dead_letter_ops` (redrive and discard) and `app.state.engine` for the ops
    routes and page, with the Kafka producer a redrive publishes through."""
    from sync_service.mappings.workers import dead_letter_ops

    # Connects in the background: the API serves while Kafka is away, and a redrive then is 503.
    # The "ops" principal, not the API's: the command path may write commands only.
    producer = ApiProducer(
        settings.kafka_bootstrap,
        client_id="dualsync-ops-actions",
        security=client_options(settings, "ops"),
    )
    await producer.start()
    app.state.engine = engine
    app.state.dead_letter_ops = dead_letter_ops(engine, settings, producer.publish)
    try:
        yield
    finally:
        await producer.stop()


# --- bodies and answers ---------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DiscardBody(_Body):
    """Why the record is given up (required)."""

    reason: Reason


class PauseBody(_Body):
    """Ops' note on a pause (optional)."""

    reason: Reason | None = None


class RedriveAllBody(_Body):
    """Which open dead letters to redrive: the list's filters (all open ones when empty)."""

    map: MapFilter | None = None
    error_class: Code | None = None
    company: Code | None = None
    since: Timestamp | None = None
    until: Timestamp | None = None
    limit: int = Field(
        default=actions.MAX_REDRIVE_ALL, ge=1, le=actions.MAX_REDRIVE_ALL, strict=True
    )


class FieldAtFault(BaseModel):
    """A field the failure named."""

    field: str
    message: str


class DeadLetterSummary(BaseModel):
    """A dead letter in a list."""

    dead_letter_id: UUID
    status: str
    map: str | None
    consumer: str
    handler: str
    error_class: str
    error_message: str
    company: str | None
    record_key: str
    source_topic: str
    partition: int
    offset: int
    attempts: int
    first_failed_at: datetime
    last_failed_at: datetime
    parked: int
    """Records of the same key waiting behind it."""
    resolution: str | None
    resolved_at: datetime | None
    resolved_by: str | None


class OpsAction(BaseModel):
    """One entry of the ops log."""

    at: datetime
    actor: str
    action: str
    reason: str | None
    outcome: str | None


class DeadLetterDetail(DeadLetterSummary):
    """A whole dead letter: the original value, the fields at fault, and what ops did to it."""

    original_value: str
    errors: list[FieldAtFault]
    actions: list[OpsAction]


class DeadLetterList(BaseModel):
    """A page of dead letters, newest first; pass `next_cursor` as `cursor` for the next."""

    items: list[DeadLetterSummary]
    next_cursor: str | None


class RedriveAnswer(BaseModel):
    """What became of a redrive or discard."""

    dead_letter_id: UUID
    outcome: Literal["redriven", "still_failing", "discarded"]
    released: int
    """Parked records of its key applied after it."""
    error: str | None = None


class RedriveAllAnswer(BaseModel):
    """Counts per outcome of a redrive of all matching dead letters."""

    matched: int
    redriven: int
    still_failing: int
    not_open: int
    not_redrivable: int
    released: int
    stopped: str | None
    errors: dict[str, str]


class MapView(BaseModel):
    """A map's state and counters."""

    name: str
    direction: str
    paused: bool
    paused_by: str | None
    paused_reason: Literal["ops", "alert"] | None
    note: str | None
    changed_at: datetime | None
    changed_by: str | None
    resumed_at: datetime | None
    open_dead_letters: int
    dead_letters_in_window: int
    parked_records: int


class AlertSettings(BaseModel):
    """The automatic pause: this many dead letters of one map within window_s (0 = off)."""

    threshold: int
    window_s: float


class MapList(BaseModel):
    """Every map, and the alert threshold the counters compare with."""

    alert: AlertSettings
    maps: list[MapView]


# --- dead letters ---------------------------------------------------------------------------


def _ops(request: Request) -> DeadLetterOps:
    ops: DeadLetterOps = request.app.state.dead_letter_ops
    return ops


def _engine(request: Request) -> AsyncEngine:
    engine: AsyncEngine = request.app.state.engine
    return engine


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _invalid(errors: list[FieldError]) -> Problem:
    return Problem(422, "the request does not validate; see errors", errors=errors)


def _summary(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "map": row.get("map_name")}


@router.get(
    "/deadletters", response_model=DeadLetterList, responses={**ADMIN_ONLY, **WITH_PARAMETERS}
)
async def list_dead_letters(
    request: Request,
    caller: AdminCaller,
    status: Status = "open",
    map: MapFilter | None = None,
    error_class: Code | None = None,
    company: Code | None = None,
    since: Timestamp | None = None,
    until: Timestamp | None = None,
    limit: Annotated[int, Query(ge=1, le=actions.MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=500, pattern=CURSOR_PATTERN)] = None,
) -> Any:
    """Dead letters matching the filters, newest first (by first failure); `since` inclusive,
    `until` exclusive, both with a time zone."""
    filters = DeadLetterFilter(status, map, error_class, company, since, until)
    try:
        page = await actions.list_dead_letters(
            _engine(request), filters, limit=limit, cursor=cursor
        )
    except actions.FilterInvalid as invalid:
        raise _invalid(invalid.errors) from invalid
    return {"items": [_summary(row) for row in page.items], "next_cursor": page.next_cursor}


# `:uuid` in the paths: only an id routes to a dead letter, so that /ops/deadletters/redrive
# is never read as one (GET there is a 405 naming POST, not a 422 about a malformed id).
@router.get(
    "/deadletters/{dead_letter_id:uuid}",
    response_model=DeadLetterDetail,
    responses={**ADMIN_ONLY, **problem_answers(404), **WITH_PARAMETERS},
)
async def show_dead_letter(dead_letter_id: UUID, request: Request, caller: AdminCaller) -> Any:
    """The whole dead letter with its ops log."""
    row = await actions.get_dead_letter(_engine(request), dead_letter_id)
    if row is None:
        raise Problem(404, f"no dead letter {dead_letter_id}")
    return _summary(row)


def _answer(dead_letter_id: UUID, result: RedriveResult) -> RedriveAnswer:
    return RedriveAnswer(
        dead_letter_id=dead_letter_id,
        outcome=result.outcome,
        released=result.released,
        error=result.error,
    )


def _unavailable(error: Exception) -> Problem:
    return Problem(
        503,
        f"Kafka or PostgreSQL is unavailable ({type(error).__name__}); the dead letter stays "
        "open, retry later",
        headers={"Retry-After": "5"},
    )


@router.post(
    "/deadletters/redrive", response_model=RedriveAllAnswer, responses={**ADMIN_ONLY, **WITH_BODY}
)
async def redrive_all(
    request: Request, caller: AdminCaller, body: RedriveAllBody | None = None
) -> Any:
    """Redrive every open dead letter matching the filters (oldest first); counts per outcome."""
    body = body or RedriveAllBody()
    filters = DeadLetterFilter(
        "open", body.map, body.error_class, body.company, body.since, body.until
    )
    try:
        result = await actions.redrive_matching(
            _engine(request), _ops(request), filters, actions.actor_of(caller), limit=body.limit
        )
    except actions.FilterInvalid as invalid:
        raise _invalid(invalid.errors) from invalid
    return result.as_dict()


@contextmanager
def _as_problems(dead_letter_id: UUID) -> Iterator[None]:
    """One dead letter's action: unknown is 404, not open (or not ours to redrive) 409, Kafka or
    PostgreSQL away 503; anything else is a bug and stays one."""
    try:
        yield
    except DeadLetterNotFound as missing:
        raise Problem(404, f"no dead letter {dead_letter_id}") from missing
    except (DeadLetterNotOpen, DeadLetterNotRedrivable) as closed:
        raise Problem(409, str(closed)) from closed
    except Exception as error:
        if is_transient(error):
            raise _unavailable(error) from error
        raise


@router.post(
    "/deadletters/{dead_letter_id:uuid}/redrive",
    response_model=RedriveAnswer,
    responses={**ADMIN_ONLY, **problem_answers(404, 409), **WITH_PARAMETERS},
)
async def redrive(dead_letter_id: UUID, request: Request, caller: AdminCaller) -> Any:
    """Re-validate the record against current data and apply it; on success its key's parked
    records follow. `still_failing` (200) says why it still cannot be applied."""
    with _as_problems(dead_letter_id):
        result = await actions.redrive_dead_letter(
            _ops(request), dead_letter_id, actions.actor_of(caller)
        )
    return _answer(dead_letter_id, result)


@router.post(
    "/deadletters/{dead_letter_id:uuid}/discard",
    response_model=RedriveAnswer,
    responses={**ADMIN_ONLY, **problem_answers(404, 409), **WITH_BODY},
)
async def discard(
    dead_letter_id: UUID, body: DiscardBody, request: Request, caller: AdminCaller
) -> Any:
    """Give the record up, with the reason; its key's parked records are released."""
    with _as_problems(dead_letter_id):
        result = await actions.discard_dead_letter(
            _ops(request), dead_letter_id, actions.actor_of(caller), body.reason
        )
    return _answer(dead_letter_id, result)


# --- maps -----------------------------------------------------------------------------------


@router.get("/maps", response_model=MapList, responses=ADMIN_ONLY)
async def maps(request: Request, caller: AdminCaller) -> Any:
    """Every map: paused or running, by whom and why, and its dead-letter and parked counts."""
    settings = _settings(request)
    overview = await actions.map_overview(_engine(request), settings)
    return {
        "alert": {"threshold": settings.alert_deadletters, "window_s": settings.alert_window_s},
        "maps": [m.as_dict() for m in overview],
    }


@router.post(
    "/maps/{name}/pause",
    response_model=MapView,
    responses={**ADMIN_ONLY, **problem_answers(404), **WITH_BODY},
)
async def pause(
    name: MapName, request: Request, caller: AdminCaller, body: PauseBody | None = None
) -> Any:
    """Pause the map (honoured by every worker within a second); its records wait in Kafka."""
    try:
        await actions.pause_map(
            _engine(request), name, actions.actor_of(caller), body.reason if body else None
        )
    except actions.UnknownMap as unknown:
        raise Problem(404, str(unknown)) from unknown
    return (await actions.one_map(_engine(request), _settings(request), name)).as_dict()


@router.post(
    "/maps/{name}/resume",
    response_model=MapView,
    responses={**ADMIN_ONLY, **problem_answers(404), **WITH_PARAMETERS},
)
async def resume(name: MapName, request: Request, caller: AdminCaller) -> Any:
    """Resume the map, whoever paused it (ops or the alert); its waiting records catch up."""
    try:
        await actions.resume_map(_engine(request), name, actions.actor_of(caller))
    except actions.UnknownMap as unknown:
        raise Problem(404, str(unknown)) from unknown
    return (await actions.one_map(_engine(request), _settings(request), name)).as_dict()
