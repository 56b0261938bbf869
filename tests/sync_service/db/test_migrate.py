"""Migrations build the schema that schema.py describes, once, however often they run."""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, text

from sync_service.db.engine import create_engine
from sync_service.db.migrate import (
    alembic_config,
    current_revision,
    head_revision,
    upgrade_to_head,
)
from sync_service.db.tables import metadata
from sync_service.domain.credentials import credential_id

pytestmark = pytest.mark.integration

TABLES = {
    "alembic_version",
    "checkpoints",
    "events",
    "processed_messages",
    # 0002: the write model
    "command_outcomes",
    "contacts",
    "credentials",
    "customer_accounts",
    "idempotency_keys",
    "invitations",
    "price_list_prices",
    "products",
    # 0003: the read models of the projections
    "account_views",
    "contact_views",
    "order_view_lines",
    "order_views",
    "projection_checkpoints",
    "projection_stream_versions",
    # 0004: the mapping workers' dead letters, parked records and map states
    "dead_letters",
    "map_states",
    "parked_records",
    # 0005: who did what (redrive, discard, pause, resume)
    "ops_actions",
    # 0006: the lag sampler's committed offsets seen and maps' last applied record
    "committed_offsets_seen",
    "maps_applied",
    # 0007: the portal's sign-in: browser sessions, passwords, failed attempts
    "portal_passwords",
    "portal_sessions",
    "signin_failures",
    # 0008: who sent each command through the API (GET /commands/{id} answers only them)
    "command_issuers",
}


async def _inspect(database_url: str, look: Any) -> Any:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(look)
    finally:
        await engine.dispose()


def _table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def _differences(connection: Connection) -> list[Any]:
    return list(compare_metadata(MigrationContext.configure(connection), metadata))


def test_the_head_revision_is_the_write_model() -> None:
    assert head_revision() == "0009"


async def test_a_fresh_database_has_no_revision(empty_database_url: str) -> None:
    assert await asyncio.to_thread(current_revision, empty_database_url) is None


async def test_upgrade_to_head_twice_migrates_once(empty_database_url: str) -> None:
    await asyncio.to_thread(upgrade_to_head, empty_database_url)
    await asyncio.to_thread(upgrade_to_head, empty_database_url)

    assert await asyncio.to_thread(current_revision, empty_database_url) == head_revision()
    assert await _inspect(empty_database_url, _table_names) == TABLES


async def test_the_migrated_schema_matches_schema_py(empty_database_url: str) -> None:
    await asyncio.to_thread(upgrade_to_head, empty_database_url)

    assert await _inspect(empty_database_url, _differences) == []


async def test_concurrent_upgrades_from_several_processes_take_turns(
    empty_database_url: str,
) -> None:
    # As when several services start at once: without the migration lock, all but one would
    # fail on tables or an alembic_version row that another created meanwhile.
    # Each process waits for a common start time, so that the imports do not stagger them.
    code = (
        "import sys, time; from sync_service.db.migrate import upgrade_to_head as up;"
        "time.sleep(max(0.0, float(sys.argv[2]) - time.time())); up(sys.argv[1])"
    )
    start = str(time.time() + 3)
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", code, empty_database_url, start, stderr=asyncio.subprocess.PIPE
        )
        for _ in range(3)
    ]
    outcomes = await asyncio.wait_for(
        asyncio.gather(*(process.communicate() for process in processes)), timeout=60
    )

    failures = [
        err.decode()
        for process, (_, err) in zip(processes, outcomes, strict=True)
        if process.returncode != 0
    ]
    assert failures == []
    assert await asyncio.to_thread(current_revision, empty_database_url) == head_revision()


async def test_downgrade_to_base_then_upgrade_again(empty_database_url: str) -> None:
    await asyncio.to_thread(upgrade_to_head, empty_database_url)
    config = alembic_config(empty_database_url)

    await asyncio.to_thread(command.downgrade, config, "base")
    assert await asyncio.to_thread(current_revision, empty_database_url) is None
    assert await _inspect(empty_database_url, _table_names) == {"alembic_version"}

    await asyncio.to_thread(upgrade_to_head, empty_database_url)
    assert await _inspect(empty_database_url, _table_names) == TABLES


async def test_the_test_template_is_at_head(database_url: str) -> None:
    # tests/conftest.py clones every test database from a template migrated by upgrade_to_head.
    assert await asyncio.to_thread(current_revision, database_url) == head_revision()


async def test_0009_names_and_dates_the_credentials_minted_before(empty_database_url: str) -> None:
    config = alembic_config(empty_database_url)
    await asyncio.to_thread(command.upgrade, config, "0008")
    credential_hash = "ab" * 32
    redeemed_at = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
    engine = create_engine(empty_database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO events (position, stream_id, stream_type, version, event_id, "
                    "event_type, schema_version, occurred_at, origin, company, correlation_id, "
                    "payload) VALUES (1, 'invitation-x', 'invitation', 2, :id, "
                    "'InvitationRedeemed', 1, :at, 'portal', 'usmf', :id, "
                    "CAST(:payload AS jsonb))"
                ),
                {
                    "id": uuid.uuid4(),
                    "at": redeemed_at,
                    "payload": json.dumps({"credential_hash": credential_hash}),
                },
            )
            await connection.execute(
                text(
                    "INSERT INTO credentials (credential_hash, contact_id, invitation_id) "
                    "VALUES (:hash, :contact, :invitation)"
                ),
                {"hash": credential_hash, "contact": uuid.uuid4(), "invitation": uuid.uuid4()},
            )

        await asyncio.to_thread(upgrade_to_head, empty_database_url)

        async with engine.connect() as connection:
            row = (await connection.execute(text("SELECT * FROM credentials"))).mappings().one()
    finally:
        await engine.dispose()
    assert row["credential_id"] == credential_id(credential_hash)
    assert row["created_at"] == redeemed_at
    assert (row["expires_at"], row["revoked_at"]) == (None, None)  # works until revoked
