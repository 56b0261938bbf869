"""Ops on dead letters: list, redrive (re-validate against current data), discard.

A redrive runs the dead letter's original record through its worker again. When it succeeds,
or when the dead letter is discarded, the records parked behind it (same consumer and key) are
released in arrival order; if one of them fails for good it becomes a new dead letter and the
rest stay parked behind that one, so a key's records are never applied out of order. A redrive
that fails for any reason but an outage (Kafka or PostgreSQL away: raised) is `still_failing`.

Every redrive and discard is logged in `ops_actions` with who did it (`actor`), in the same
transaction that changes the dead letter, and a closed dead letter keeps `resolved_by`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, cast
from uuid import UUID

from sqlalchemy import Select, delete, func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.elements import ColumnElement

from contracts.errors import FieldError
from sync_service.failures import describe, is_transient
from sync_service.mappings import MAPS
from sync_service.mappings.audit import UNKNOWN_ACTOR, record_action
from sync_service.mappings.faults import FaultPolicy, Handled, SourceRecord
from sync_service.mappings.tables import dead_letters, parked_records
from sync_service.poison import storable_errors

__all__ = [
    "STATUSES",
    "Cursor",
    "DeadLetterFilter",
    "DeadLetterNotFound",
    "DeadLetterNotOpen",
    "DeadLetterNotRedrivable",
    "DeadLetterOps",
    "RedriveResult",
    "Status",
    "select_dead_letters",
]

Work = Callable[[SourceRecord], Awaitable[Handled]]
Status = Literal["open", "redriven", "discarded", "all"]
STATUSES: tuple[Status, ...] = ("open", "redriven", "discarded", "all")


class DeadLetterNotOpen(Exception):
    """The dead letter does not exist, or was already redriven or discarded."""


class DeadLetterNotFound(DeadLetterNotOpen):
    """No dead letter has this id (a DeadLetterNotOpen, so older callers catch it as before)."""


class DeadLetterNotRedrivable(Exception):
    """No worker of this process handles the dead letter's consumer (indexed from elsewhere)."""


@dataclass(frozen=True, slots=True)
class RedriveResult:
    """What a redrive or discard came to."""

    outcome: Literal["redriven", "still_failing", "discarded"]
    released: int
    """How many parked records were applied after it."""
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page of dead letters ended: the last one's first failure and id."""

    first_failed_at: datetime
    dead_letter_id: UUID

    def encode(self) -> str:
        """An opaque text for `?cursor=`."""
        text = f"{self.first_failed_at.isoformat()}|{self.dead_letter_id}"
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """The cursor `encode` made; ValueError for anything else."""
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            at, _, letter_id = raw.partition("|")
            moment = datetime.fromisoformat(at)
            if moment.tzinfo is None:
                raise ValueError("not an aware time")
            return cls(moment, UUID(letter_id))
        except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
            raise ValueError("not a cursor of this list") from exc


@dataclass(frozen=True, slots=True)
class DeadLetterFilter:
    """Which dead letters: status, map, error kind (class), company, first failure in a range.

    `since` is inclusive and `until` exclusive, both on the first failure's time.
    """

    status: Status = "open"
    map: str | None = None
    error_class: str | None = None
    company: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def problems(self) -> list[FieldError]:
        """What is wrong with the filter, field by field (empty: it can be used)."""
        problems = []
        if self.status not in STATUSES:
            problems.append(FieldError(field="status", message=f"one of {', '.join(STATUSES)}"))
        if self.map is not None and self.map not in MAPS:
            problems.append(FieldError(field="map", message=f"one of {', '.join(sorted(MAPS))}"))
        for name in ("since", "until"):
            moment = getattr(self, name)
            if moment is not None and moment.tzinfo is None:
                problems.append(FieldError(field=name, message="give a time zone, e.g. Z"))
        if (
            self.since is not None
            and self.until is not None
            and self.since.tzinfo is not None
            and self.until.tzinfo is not None
            and self.since >= self.until
        ):
            problems.append(FieldError(field="until", message="must be after since"))
        return problems

    def conditions(self) -> list[ColumnElement[bool]]:
        """The WHERE clauses of this filter."""
        where: list[ColumnElement[bool]] = []
        if self.status != "all":
            where.append(dead_letters.c.status == self.status)
        if self.map is not None:
            where.append(dead_letters.c.map_name == self.map)
        if self.error_class is not None:
            where.append(dead_letters.c.error_class == self.error_class)
        if self.company is not None:
            where.append(dead_letters.c.company == self.company.lower())
        if self.since is not None:
            where.append(dead_letters.c.first_failed_at >= self.since)
        if self.until is not None:
            where.append(dead_letters.c.first_failed_at < self.until)
        return where


def _parked_count() -> Any:
    return (
        select(func.count())
        .where(
            parked_records.c.consumer == dead_letters.c.consumer,
            parked_records.c.record_key == dead_letters.c.record_key,
        )
        .scalar_subquery()
    )


def select_dead_letters(
    filters: DeadLetterFilter,
    *,
    newest_first: bool = False,
    limit: int | None = None,
    after: Cursor | None = None,
) -> Select[Any]:
    """Dead letters matching `filters` with how many records each holds parked, in order of
    first failure (then id), after `after` in that order."""
    order = (dead_letters.c.first_failed_at, dead_letters.c.dead_letter_id)
    query = select(dead_letters, _parked_count().label("parked")).where(*filters.conditions())
    if after is not None:
        position = tuple_(*order)
        mark = tuple_(after.first_failed_at, after.dead_letter_id)
        query = query.where(position < mark if newest_first else position > mark)
    query = query.order_by(*(column.desc() for column in order) if newest_first else order)
    return query.limit(limit) if limit is not None else query


class DeadLetterOps:
    """Redrive and discard for the workers whose handlers and fault policies it is given."""

    def __init__(self, engine: AsyncEngine, workers: Mapping[str, tuple[FaultPolicy, Work]]):
        self._engine = engine
        self._workers = workers
        self._busy: set[UUID] = set()

    async def list(
        self, status: str | None = "open", *, filters: DeadLetterFilter | None = None
    ) -> list[dict[str, Any]]:
        """Dead letters (oldest first), with how many records each holds parked.

        `status` None means every status; `filters`, when given, replaces `status`.
        """
        if filters is None:
            filters = DeadLetterFilter(status=cast(Status, "all" if status is None else status))
        async with self._engine.connect() as connection:
            rows = await connection.execute(select_dead_letters(filters))
            return [dict(row) for row in rows.mappings()]

    async def redrive(self, dead_letter_id: UUID, *, actor: str = UNKNOWN_ACTOR) -> RedriveResult:
        """Apply the dead letter's record again; on success release its key's parked records."""
        with self._claim(dead_letter_id):
            row = await self._open(dead_letter_id)
            worker = self._workers.get(row["consumer"])
            if worker is None:
                raise DeadLetterNotRedrivable(
                    f"dead letter {dead_letter_id} came from {row['consumer']!r}, "
                    "which no worker here handles; discard it or redrive it there"
                )
            work = worker[1]
            record = SourceRecord(
                row["source_topic"], row["partition"], row["offset"], row["record_key"],
                row["original_value"].encode(),
            )  # fmt: skip
            try:
                await work(record)
            except Exception as error:
                if is_transient(error):
                    raise  # Kafka or PostgreSQL away: the caller says so; nothing changed
                async with self._engine.begin() as connection:
                    await connection.execute(
                        update(dead_letters)
                        .where(dead_letters.c.dead_letter_id == dead_letter_id)
                        .values(
                            attempts=dead_letters.c.attempts + 1,
                            last_failed_at=datetime.now(UTC),
                            error_message=describe(error),
                            errors=[
                                e.model_dump()
                                for e in storable_errors(getattr(error, "errors", None))
                            ],
                        )
                    )
                    await record_action(
                        connection, actor=actor, action="redrive", target_kind="dead_letter",
                        target=str(dead_letter_id), outcome=f"still_failing: {describe(error)}",
                    )  # fmt: skip
                return RedriveResult("still_failing", 0, describe(error))
            released = await self._close(row, "redriven", None, worker, actor)
            return RedriveResult("redriven", released)

    async def discard(
        self, dead_letter_id: UUID, reason: str, *, actor: str = UNKNOWN_ACTOR
    ) -> RedriveResult:
        """Give the record up (with the reason); its key's parked records are released."""
        with self._claim(dead_letter_id):
            row = await self._open(dead_letter_id)
            released = await self._close(
                row, "discarded", reason, self._workers.get(row["consumer"]), actor
            )
            return RedriveResult("discarded", released)

    def _claim(self, dead_letter_id: UUID) -> _Claim:
        return _Claim(self._busy, dead_letter_id)

    async def _open(self, dead_letter_id: UUID) -> Mapping[str, Any]:
        async with self._engine.connect() as connection:
            row = (
                (
                    await connection.execute(
                        select(dead_letters).where(dead_letters.c.dead_letter_id == dead_letter_id)
                    )
                )
                .mappings()
                .first()
            )
        if row is None:
            raise DeadLetterNotFound(f"no open dead letter {dead_letter_id}: there is none")
        if row["status"] != "open":
            raise DeadLetterNotOpen(f"no open dead letter {dead_letter_id}: it is {row['status']}")
        return dict(row)

    async def _close(
        self,
        row: Mapping[str, Any],
        status: str,
        reason: str | None,
        worker: tuple[FaultPolicy, Work] | None,
        actor: str,
    ) -> int:
        consumer, key = row["consumer"], row["record_key"]
        of_key = (parked_records.c.consumer == consumer, parked_records.c.record_key == key)
        released = 0
        while True:
            async with self._engine.begin() as connection:
                # FOR UPDATE waits for a worker that is parking a record behind this dead letter.
                await connection.execute(
                    select(dead_letters.c.dead_letter_id)
                    .where(dead_letters.c.dead_letter_id == row["dead_letter_id"])
                    .with_for_update()
                )
                parked = (
                    (
                        await connection.execute(
                            select(parked_records)
                            .where(*of_key)
                            .order_by(parked_records.c.parked_id)
                            .limit(1)
                        )
                    )
                    .mappings()
                    .first()
                )
                if parked is None or worker is None:
                    # No worker here means none of ours parked records behind it either.
                    await self._resolve(connection, row, status, reason, actor, released)
                    return released
            policy, work = worker
            record = SourceRecord(
                parked["source_topic"], parked["partition"], parked["offset"], key,
                parked["value"].encode(),
            )  # fmt: skip
            # Deleted only once handled: a transient fault leaves it parked for the next try.
            handled = await policy.attempt(record, work)
            async with self._engine.begin() as connection:
                await connection.execute(
                    delete(parked_records).where(parked_records.c.parked_id == parked["parked_id"])
                )
                if handled is Handled.DEAD_LETTERED:
                    # The rest stay parked behind the new dead letter; this one is done with.
                    await self._resolve(connection, row, status, reason, actor, released)
                    return released
            released += 1

    async def _resolve(
        self,
        connection: AsyncConnection,
        row: Mapping[str, Any],
        status: str,
        reason: str | None,
        actor: str,
        released: int,
    ) -> None:
        await connection.execute(
            update(dead_letters)
            .where(dead_letters.c.dead_letter_id == row["dead_letter_id"])
            .values(
                status=status, resolution=reason, resolved_at=datetime.now(UTC), resolved_by=actor
            )
        )
        await record_action(
            connection, actor=actor, action="redrive" if status == "redriven" else "discard",
            target_kind="dead_letter", target=str(row["dead_letter_id"]), reason=reason,
            outcome=f"{status}; {released} parked released",
        )  # fmt: skip


class _Claim:
    """One redrive or discard of a dead letter at a time in this process: a second is refused
    (as not open) rather than sending the record twice."""

    def __init__(self, busy: set[UUID], dead_letter_id: UUID) -> None:
        self._busy = busy
        self._id = dead_letter_id

    def __enter__(self) -> None:
        if self._id in self._busy:
            raise DeadLetterNotOpen(f"dead letter {self._id} is being redriven or discarded now")
        self._busy.add(self._id)

    def __exit__(self, *_: object) -> None:
        self._busy.discard(self._id)
