"""The unit of work: the caller's writes and the append commit together or not at all."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sync_service.db.engine import create_engine
from sync_service.eventstore import AlreadyProcessed, ConcurrencyConflict, ProcessedMessage
from sync_service.eventstore.postgres import PostgresEventStore
from tests.sync_service.eventstore.contract import new_event

pytestmark = pytest.mark.integration

_MARK = text("INSERT INTO checkpoints (name, position) VALUES (:name, 1)")
_MARKS = text("SELECT name FROM checkpoints ORDER BY name")


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


async def _marks(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        return list((await connection.execute(_MARKS)).scalars())


async def test_writes_and_append_commit_together(engine: AsyncEngine) -> None:
    store = PostgresEventStore(engine)
    async with store.transaction() as unit:
        await unit.connection.execute(_MARK, {"name": "with-the-append"})
        assert await unit.stream_version("s-1") == 0
        await unit.append("s-1", "s", 0, [new_event()], processed=ProcessedMessage("c", "m1"))

    assert await _marks(engine) == ["with-the-append"]
    assert await store.stream_version("s-1") == 1
    assert await store.is_processed("c", "m1")


@pytest.mark.parametrize("refusal", ["conflict", "processed"])
async def test_a_refused_append_rolls_the_writes_back(engine: AsyncEngine, refusal: str) -> None:
    store = PostgresEventStore(engine)
    await store.append("s-1", "s", 0, [new_event()], processed=ProcessedMessage("c", "m1"))
    expected, message = (0, "m2") if refusal == "conflict" else (1, "m1")
    error = ConcurrencyConflict if refusal == "conflict" else AlreadyProcessed

    with pytest.raises(error):
        async with store.transaction() as unit:
            await unit.connection.execute(_MARK, {"name": "lost"})
            await unit.append(
                "s-1", "s", expected, [new_event()], processed=ProcessedMessage("c", message)
            )

    assert await _marks(engine) == []
    assert await store.stream_version("s-1") == 1


async def test_no_writes_after_the_append(engine: AsyncEngine) -> None:
    # The append holds the store-wide lock until commit; waiting for a row lock then could
    # deadlock with a unit that holds the row and waits for the lock.
    store = PostgresEventStore(engine)
    with pytest.raises(RuntimeError, match="last statement"):
        async with store.transaction() as unit:
            await unit.append("s-1", "s", 0, [new_event()])
            _ = unit.connection
    assert await store.stream_version("s-1") == 0
