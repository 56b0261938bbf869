"""Sessions, passwords and the failure throttle on PostgreSQL: expiry, idle timeout, sharing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from sync_service.db.engine import create_engine
from sync_service.domain.credentials import hash_secret
from sync_service.settings import Settings
from sync_service.signin.postgres import (
    PostgresFailureThrottle,
    PostgresPasswords,
    PostgresSessions,
)
from sync_service.signin.tables import portal_sessions

pytestmark = pytest.mark.integration

IDLE, ABSOLUTE = timedelta(minutes=30), timedelta(hours=12)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> None:
        self.now += by


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings.database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sessions(engine: AsyncEngine, clock: Clock) -> PostgresSessions:
    return PostgresSessions(engine, idle=IDLE, absolute=ABSOLUTE, clock=clock)


async def _rows(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int(
            (
                await connection.execute(select(func.count()).select_from(portal_sessions))
            ).scalar_one()
        )


async def test_a_session_is_stored_by_the_hash_of_its_id_only(
    sessions: PostgresSessions, engine: AsyncEngine
) -> None:
    contact = uuid4()
    session_id, session = await sessions.open(contact)
    async with engine.connect() as connection:
        stored = (await connection.execute(select(portal_sessions))).mappings().one()
    assert stored["session_hash"] == hash_secret(session_id) != session_id
    assert session_id not in stored.values()
    resumed = await sessions.resume(session_id)
    assert resumed is not None and resumed.contact_id == contact
    assert resumed.csrf_token == session.csrf_token and len(session.csrf_token) >= 40
    assert await sessions.resume(session_id + "x") is None


async def test_every_sign_in_gets_a_new_id_and_token(sessions: PostgresSessions) -> None:
    contact = uuid4()
    first_id, first = await sessions.open(contact)
    second_id, second = await sessions.open(contact)
    assert first_id != second_id and first.csrf_token != second.csrf_token


async def test_an_idle_session_ends_and_is_deleted(
    sessions: PostgresSessions, clock: Clock, engine: AsyncEngine
) -> None:
    session_id, _ = await sessions.open(uuid4())
    clock.advance(IDLE - timedelta(seconds=1))
    assert await sessions.resume(session_id) is not None  # seen: the idle time starts again
    clock.advance(IDLE - timedelta(seconds=1))
    assert await sessions.resume(session_id) is not None
    clock.advance(IDLE)
    assert await sessions.resume(session_id) is None
    assert await _rows(engine) == 0


async def test_an_active_session_still_ends_at_its_absolute_expiry(
    sessions: PostgresSessions, clock: Clock
) -> None:
    session_id, session = await sessions.open(uuid4())
    while clock.now + IDLE / 2 < session.expires_at:
        clock.advance(IDLE / 2)
        assert await sessions.resume(session_id) is not None
    clock.now = session.expires_at
    assert await sessions.resume(session_id) is None


async def test_signing_in_sweeps_away_sessions_that_ended_unnoticed(
    sessions: PostgresSessions, clock: Clock, engine: AsyncEngine
) -> None:
    await sessions.open(uuid4())
    await sessions.open(uuid4())
    clock.advance(IDLE)
    await sessions.open(uuid4())
    assert await _rows(engine) == 1


async def test_closing_a_session_makes_its_id_worthless(
    sessions: PostgresSessions, engine: AsyncEngine
) -> None:
    session_id, _ = await sessions.open(uuid4())
    other_id, _ = await sessions.open(uuid4())
    await sessions.close(session_id)
    assert await sessions.resume(session_id) is None
    assert await sessions.resume(other_id) is not None
    assert await _rows(engine) == 1


async def test_a_password_hash_is_stored_and_replaced(engine: AsyncEngine) -> None:
    store, contact = PostgresPasswords(engine), uuid4()
    assert await store.password_hash(contact) is None
    await store.set_password_hash(contact, "$argon2id$first")
    await store.set_password_hash(contact, "$argon2id$second")
    assert await store.password_hash(contact) == "$argon2id$second"
    assert await store.password_hash(uuid4()) is None


async def test_the_throttle_is_shared_by_two_processes(settings: Settings) -> None:
    # Two engines, as two API processes have: one counts what the other recorded.
    first, second = create_engine(settings.database_url), create_engine(settings.database_url)
    try:
        window = timedelta(minutes=1)
        one = PostgresFailureThrottle(first, "sign-in", limit=3, window=window)
        two = PostgresFailureThrottle(second, "sign-in", limit=3, window=window)
        redeem = PostgresFailureThrottle(second, "redeem", limit=3, window=window)
        keys = ["address:10.0.0.1", "email:jane@x.example"]
        await one.record_failure(keys)
        await two.record_failure(keys[:1])
        assert await one.retry_after(keys) is None
        await two.record_failure(keys[:1])
        wait = await one.retry_after(keys)
        assert wait is not None and 55 <= wait <= 60
        assert await two.retry_after(["address:10.0.0.1"]) == wait
        assert await two.retry_after(["email:jane@x.example"]) is None  # 1 of 3
        assert await two.retry_after(["address:10.0.0.2"]) is None  # another client
        assert await redeem.retry_after(keys) is None  # another scope
    finally:
        await first.dispose()
        await second.dispose()


async def test_concurrent_reservations_never_pass_the_limit(settings: Settings) -> None:
    # Two processes' engines, 20 attempts at once: exactly the limit are let through.
    engines = [create_engine(settings.database_url) for _ in range(2)]
    try:
        window = timedelta(minutes=1)
        throttles = [PostgresFailureThrottle(e, "redeem", limit=3, window=window) for e in engines]
        keys = ["address:10.0.0.9"]
        reservations = await asyncio.gather(*(throttles[n % 2].reserve(keys) for n in range(20)))
        granted = [r for r in reservations if r.wait is None]
        assert len(granted) == 3
        assert all(r.wait is not None and 55 <= r.wait <= 60 for r in reservations if r.wait)
        # An attempt that succeeded gives its reservation back: one more may be tried.
        await throttles[0].release(granted[0])
        assert await throttles[1].retry_after(keys) is None
        assert (await throttles[1].reserve(keys)).wait is None
        assert (await throttles[0].reserve(keys)).wait is not None
    finally:
        for engine in engines:
            await engine.dispose()


async def test_failures_older_than_the_window_no_longer_count(engine: AsyncEngine) -> None:
    throttle = PostgresFailureThrottle(
        engine, "redeem", limit=2, window=timedelta(milliseconds=1500)
    )
    await throttle.record_failure(["address:10.0.0.1"])
    await throttle.record_failure(["address:10.0.0.1"])
    assert await throttle.retry_after(["address:10.0.0.1"]) in (1, 2)
    await asyncio.sleep(1.6)
    assert await throttle.retry_after(["address:10.0.0.1"]) is None


async def test_a_short_idle_time_is_kept_by_a_session_in_use(
    engine: AsyncEngine, clock: Clock
) -> None:
    short = PostgresSessions(engine, idle=timedelta(seconds=8), absolute=ABSOLUTE, clock=clock)
    session_id, _ = await short.open(uuid4())
    for _ in range(10):  # a request every 3 s: never 8 s idle
        clock.advance(timedelta(seconds=3))
        assert await short.resume(session_id) is not None
