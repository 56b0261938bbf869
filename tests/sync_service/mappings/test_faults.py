"""The fault policy: transient faults retried with backoff, permanent ones dead-lettered."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.deadletter import DeadLetter
from contracts.envelope import from_json_bytes
from contracts.errors import FieldError
from sync_service.mappings.engine import MappingFailed
from sync_service.mappings.faults import FaultPolicy, Handled, SourceRecord
from sync_service.mappings.tables import dead_letters, parked_records
from sync_service.settings import Settings

RECORD = SourceRecord("t.cds.events.v1", 2, 41, "order-1", b'{"type": "OrderSubmitted"}')


class Published(list[tuple[str, bytes, bytes, dict[str, str]]]):
    """What the policy published, in order."""

    async def __call__(self, topic: str, key: bytes, value: bytes, headers: dict[str, str]) -> None:
        self.append((topic, key, value, headers))


def _policy(engine: Any, published: Published, settings: Settings) -> FaultPolicy:
    return FaultPolicy(
        engine, published, settings, consumer="test", origin="portal", max_backoff_s=0.01
    )


def _failing(*errors: Exception) -> Any:
    calls: list[int] = []

    async def work(_record: SourceRecord) -> Handled:
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return Handled.APPLIED

    work.calls = calls  # type: ignore[attr-defined]
    return work


async def test_a_transient_fault_is_retried_until_it_passes() -> None:
    published = Published()
    work = _failing(OSError("broker restarting"), ConnectionError("refused"))
    outcome = await _policy(None, published, Settings()).attempt(RECORD, work)
    assert (outcome, len(work.calls), published) == (Handled.APPLIED, 3, [])


async def test_a_lasting_transient_fault_is_raised_for_redelivery_not_dead_lettered() -> None:
    published = Published()
    work = _failing(*[OSError("database down")] * 10)
    with pytest.raises(OSError, match="database down"):
        await _policy(None, published, Settings()).attempt(RECORD, work)
    assert (len(work.calls), published) == (5, [])


@pytest.mark.integration
async def test_a_permanent_fault_is_dead_lettered_with_everything_spec_4_lists(
    settings: Settings, engine: AsyncEngine
) -> None:
    published = Published()
    failure = MappingFailed("SalesOrderHeaders", [FieldError(field="CurrencyCode", message="x")])
    work = _failing(OSError("blip"), failure)
    outcome = await _policy(engine, published, settings).attempt(RECORD, work)

    assert outcome is Handled.DEAD_LETTERED
    [(topic, key, value, headers)] = published
    assert (topic, key) == (settings.topic("dualsync.deadletter.v1"), b"order-1")
    letter = from_json_bytes(value, DeadLetter).payload
    assert (letter.source_topic, letter.partition, letter.offset) == ("t.cds.events.v1", 2, 41)
    assert letter.original_value == RECORD.value.decode()
    assert (letter.handler, letter.error_class, letter.attempts) == (
        "SalesOrderHeaders",
        "MappingFailed",
        2,
    )
    assert [e.field for e in letter.errors] == ["CurrencyCode"]
    assert letter.first_failed_at < letter.last_failed_at
    assert headers["dualsync.error.topic"] == "t.cds.events.v1"
    assert headers["dualsync.error.partition"] == "2"
    assert headers["dualsync.error.attempts"] == "2"
    async with engine.connect() as connection:
        stored = (await connection.execute(select(dead_letters))).mappings().one()
    assert (stored["record_key"], stored["status"]) == ("order-1", "open")


async def test_a_redelivered_dead_letter_is_not_parked_behind_itself(
    settings: Settings, engine: AsyncEngine
) -> None:
    published = Published()
    policy = _policy(engine, published, settings)
    failure = MappingFailed("SalesOrderHeaders", [FieldError(field="CurrencyCode", message="x")])
    later = SourceRecord(RECORD.topic, RECORD.partition, RECORD.offset + 1, RECORD.key, b"{}")

    assert await policy.run(RECORD, _failing(failure)) is Handled.DEAD_LETTERED
    # Kafka hands the same record again (its offset was not committed before a rebalance).
    assert await policy.run(RECORD, _failing(failure)) is Handled.SKIPPED
    # A later record of the key still waits behind the open dead letter.
    assert await policy.run(later, _failing()) is Handled.PARKED

    async with engine.connect() as connection:
        parked = (await connection.execute(select(parked_records.c.offset))).scalars().all()
        letters = (await connection.execute(select(dead_letters.c.offset))).scalars().all()
    assert (parked, letters) == ([RECORD.offset + 1], [RECORD.offset])
    assert len(published) == 1
