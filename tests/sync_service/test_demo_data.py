"""`dualsync seed-demo`: SPEC §8's data set, loaded through the append path, idempotently."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest

from sync_service.demo_data import demo_records, seed_demo
from sync_service.eventstore.postgres import PostgresEventStore
from sync_service.settings import Settings

pytestmark = pytest.mark.integration


async def test_seeding_twice_changes_nothing_the_second_time(pg_store: PostgresEventStore) -> None:
    assert await seed_demo(pg_store) == len(demo_records())
    head = await pg_store.head_position()

    assert await seed_demo(pg_store) == 0
    assert await pg_store.head_position() == head == len(demo_records())


async def test_concurrent_seeders_load_each_record_once(pg_store: PostgresEventStore) -> None:
    loaded = await asyncio.gather(*(seed_demo(pg_store) for _ in range(3)))
    assert sum(loaded) == len(demo_records())
    assert await pg_store.head_position() == len(demo_records())


async def test_the_cli_verb_loads_the_demo_data(
    settings: Settings, pg_store: PostgresEventStore
) -> None:
    env = {**os.environ, "DUALSYNC_DATABASE_URL": settings.database_url}
    for expected in (f"{len(demo_records())} of", "0 of"):
        result = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "sync_service.cli", "seed-demo"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert expected in result.stdout
    assert await pg_store.head_position() == len(demo_records())
