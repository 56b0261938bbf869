"""Ops on dead letters: list, redrive (re-validate against current data), discard.

A redrive runs the dead letter's original record through its worker again. When it succeeds,
or when the dead letter is discarded, the records parked behind it (same consumer and key) are
released in arrival order; if one of them fails for good it becomes a new dead letter and the
rest stay parked behind that one, so a key's records are never applied out of order.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from sync_service.mappings.faults import PERMANENT, FaultPolicy, Handled, SourceRecord
from sync_service.mappings.tables import dead_letters, parked_records

__all__ = ["DeadLetterNotOpen", "DeadLetterOps", "RedriveResult"]

Work = Callable[[SourceRecord], Awaitable[Handled]]


class DeadLetterNotOpen(Exception):
    """The dead letter does not exist, or was already redriven or discarded."""


@dataclass(frozen=True, slots=True)
class RedriveResult:
    """What a redrive or discard came to."""

    outcome: Literal["redriven", "still_failing", "discarded"]
    released: int
    """How many parked records were applied after it."""
    error: str | None = None


class DeadLetterOps:
    """Redrive and discard for the workers whose handlers and fault policies it is given."""

    def __init__(self, engine: AsyncEngine, workers: Mapping[str, tuple[FaultPolicy, Work]]):
        self._engine = engine
        self._workers = workers

    async def list(self, status: str | None = "open") -> list[dict[str, Any]]:
        """Dead letters (oldest first), with how many records each holds parked."""
        parked = (
            select(func.count())
            .where(
                parked_records.c.consumer == dead_letters.c.consumer,
                parked_records.c.record_key == dead_letters.c.record_key,
            )
            .scalar_subquery()
        )
        query = select(dead_letters, parked.label("parked")).order_by(
            dead_letters.c.first_failed_at
        )
        if status is not None:
            query = query.where(dead_letters.c.status == status)
        async with self._engine.connect() as connection:
            return [dict(row) for row in (await connection.execute(query)).mappings()]

    async def redrive(self, dead_letter_id: UUID) -> RedriveResult:
        """Apply the dead letter's record again; on success release its key's parked records."""
        row = await self._open(dead_letter_id)
        policy, work = self._workers[row["consumer"]]
        record = SourceRecord(
            row["source_topic"], row["partition"], row["offset"], row["record_key"],
            row["original_value"].encode(),
        )  # fmt: skip
        try:
            await work(record)
        except PERMANENT as error:
            async with self._engine.begin() as connection:
                await connection.execute(
                    update(dead_letters)
                    .where(dead_letters.c.dead_letter_id == dead_letter_id)
                    .values(
                        attempts=dead_letters.c.attempts + 1,
                        last_failed_at=datetime.now(UTC),
                        error_message=str(error),
                        errors=[e.model_dump() for e in getattr(error, "errors", [])],
                    )
                )
            return RedriveResult("still_failing", 0, str(error))
        released = await self._close(row, "redriven", None, policy, work)
        return RedriveResult("redriven", released)

    async def discard(self, dead_letter_id: UUID, reason: str) -> RedriveResult:
        """Give the record up (with the reason); its key's parked records are released."""
        row = await self._open(dead_letter_id)
        policy, work = self._workers[row["consumer"]]
        released = await self._close(row, "discarded", reason, policy, work)
        return RedriveResult("discarded", released)

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
        if row is None or row["status"] != "open":
            raise DeadLetterNotOpen(f"no open dead letter {dead_letter_id}")
        return dict(row)

    async def _close(
        self,
        row: Mapping[str, Any],
        status: str,
        reason: str | None,
        policy: FaultPolicy,
        work: Work,
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
                if parked is None:
                    await connection.execute(
                        update(dead_letters)
                        .where(dead_letters.c.dead_letter_id == row["dead_letter_id"])
                        .values(status=status, resolution=reason, resolved_at=datetime.now(UTC))
                    )
                    return released
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
                await self._resolve(row["dead_letter_id"], status, reason)
                return released
            released += 1

    async def _resolve(self, dead_letter_id: UUID, status: str, reason: str | None) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                update(dead_letters)
                .where(dead_letters.c.dead_letter_id == dead_letter_id)
                .values(status=status, resolution=reason, resolved_at=datetime.now(UTC))
            )
