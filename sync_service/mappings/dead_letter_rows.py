"""A dead letter as a row of `dead_letters`: what any consumer stores when it settles a record.

The mapping workers store theirs through `FaultPolicy`; the projections worker and the outbox
relay store theirs here too, naming an event of the store's log (`EVENT_LOG`, position) instead
of a Kafka record, so that ops list every settled record in one place.
"""

from __future__ import annotations

from typing import Any, Final
from uuid import UUID

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.deadletter import DeadLetter
from sync_service.mappings.tables import dead_letters
from sync_service.poison import storable_errors, storable_text

__all__ = ["EVENT_LOG", "dead_letter_row", "store_dead_letter"]

EVENT_LOG: Final = "eventstore"
"""The `source_topic` of a dead letter about a stored event (partition 0, offset = position)."""


def dead_letter_row(
    letter: DeadLetter,
    letter_id: UUID,
    *,
    consumer: str,
    company: str,
    map_name: str | None = None,
) -> dict[str, Any]:
    """The `dead_letters` row of `letter`, every text as PostgreSQL can store it."""
    values: dict[str, Any] = letter.model_dump(mode="json", exclude={"original_key"})
    for name in ("source_topic", "original_value", "handler", "error_class", "error_message"):
        values[name] = storable_text(values[name])
    values["errors"] = [error.model_dump() for error in storable_errors(letter.errors)]
    values.update(
        dead_letter_id=letter_id,
        consumer=consumer,
        record_key=storable_text(letter.original_key or ""),
        map_name=map_name,
        company=storable_text(company),
        first_failed_at=letter.first_failed_at,
        last_failed_at=letter.last_failed_at,
    )
    return values


async def store_dead_letter(
    connection: AsyncConnection,
    letter: DeadLetter,
    letter_id: UUID,
    *,
    consumer: str,
    company: str,
    map_name: str | None = None,
) -> UUID:
    """Store `letter`; one row per consumer and record (a second time only moves last_failed_at).

    Returns the id of the stored row: `letter_id`, or the id the record got the first time.
    """
    row = dead_letter_row(letter, letter_id, consumer=consumer, company=company, map_name=map_name)
    stored = await connection.scalar(
        insert(dead_letters)
        .values(**row)
        .on_conflict_do_update(
            constraint="uq_dead_letters_consumer_source_topic_partition_offset",
            set_={"last_failed_at": letter.last_failed_at},
        )
        .returning(dead_letters.c.dead_letter_id)
    )
    return UUID(str(stored))
