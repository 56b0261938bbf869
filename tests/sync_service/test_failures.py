"""One classification of failures, on errors the real PostgreSQL, Kafka and parsers raise."""

from __future__ import annotations

import json
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiokafka import AIOKafkaClient, AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError, MessageSizeTooLargeError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.errors import FieldError, InvalidMessage
from sync_service.db.engine import create_engine
from sync_service.failures import (
    Fault,
    classify,
    describe,
    is_outage,
    is_transient,
    sqlstate_of,
)
from sync_service.mappings.engine import MappingFailed
from sync_service.mappings.faults import UnknownReference
from sync_service.settings import Settings
from tests.kafka_roles import as_role


async def _raised(work: Callable[[], Awaitable[Any]]) -> BaseException:
    try:
        await work()
    except Exception as error:
        return error
    raise AssertionError("expected a failure")


async def _sql(engine: AsyncEngine, *statements: str, **params: Any) -> BaseException:
    async def run() -> None:
        async with engine.begin() as connection:
            for statement in statements:
                await connection.execute(text(statement), params)

    return await _raised(run)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.mark.integration
@pytest.mark.parametrize(
    ("statements", "params", "sqlstate"),
    [
        (["SELECT CAST(:v AS text)"], {"v": "A\x00B"}, "22021"),  # a NUL in text
        (["SELECT CAST(:v AS jsonb)"], {"v": '"A\\u0000B"'}, "22P05"),  # a NUL in JSONB
        (["SELECT CAST(:v AS numeric(5, 2))"], {"v": "1E+10"}, "22003"),  # out of range
        (["SELECT 1 / 0"], {}, "22012"),
        (
            [
                "CREATE TEMP TABLE t (a int NOT NULL CHECK (a > 0))",
                "INSERT INTO t VALUES (0)",
            ],
            {},
            "23514",
        ),
        (
            [
                "DO $$ BEGIN RAISE EXCEPTION 'refused' USING ERRCODE = '22023'; END $$",
            ],
            {},
            "22023",
        ),
    ],
)
async def test_data_and_constraint_errors_are_deterministic(
    engine: AsyncEngine, statements: list[str], params: dict[str, Any], sqlstate: str
) -> None:
    error = await _sql(engine, *statements, **params)
    assert (sqlstate_of(error), classify(error)) == (sqlstate, Fault.DETERMINISTIC)


@pytest.mark.integration
@pytest.mark.parametrize(
    ("statements", "sqlstate"),
    [
        (["DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '40001'; END $$"], "40001"),
        (["DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '40P01'; END $$"], "40P01"),
        (["SET LOCAL statement_timeout = 50", "SELECT pg_sleep(2)"], "57014"),
        (["SELECT pg_terminate_backend(pg_backend_pid())"], None),  # 57P01, or a lost link
        (["SELECT * FROM not_migrated_yet"], "42P01"),  # a schema not deployed: every record
    ],
)
async def test_races_timeouts_lost_sessions_and_missing_schema_are_transient(
    engine: AsyncEngine, statements: list[str], sqlstate: str | None
) -> None:
    error = await _sql(engine, *statements)
    assert is_transient(error), repr(error)
    if sqlstate is not None:
        assert sqlstate_of(error) == sqlstate


@pytest.mark.integration
async def test_a_unique_violation_may_be_a_race_so_it_is_unexpected(engine: AsyncEngine) -> None:
    error = await _sql(
        engine, "CREATE TEMP TABLE u (a int PRIMARY KEY)", "INSERT INTO u VALUES (1), (1)"
    )
    assert (sqlstate_of(error), classify(error)) == ("23505", Fault.UNEXPECTED)


@pytest.mark.integration
async def test_an_unclassified_database_error_is_unexpected(engine: AsyncEngine) -> None:
    error = await _sql(engine, "DO $$ BEGIN RAISE EXCEPTION 'from a trigger'; END $$")
    assert (sqlstate_of(error), classify(error)) == ("P0001", Fault.UNEXPECTED)


@pytest.mark.integration
async def test_a_database_that_does_not_answer_is_transient(settings: Settings) -> None:
    url = settings.database_url.replace("127.0.0.1:5432", f"127.0.0.1:{_free_port()}")
    engine = create_engine(url, connect_timeout_s=2)
    try:
        error = await _sql(engine, "SELECT 1")
    finally:
        await engine.dispose()
    assert classify(error) is Fault.TRANSIENT, repr(error)


@pytest.mark.integration
async def test_a_record_too_large_for_kafka_is_deterministic(kafka_bootstrap: str) -> None:
    producer = AIOKafkaProducer(**as_role(Settings(kafka_bootstrap=kafka_bootstrap), "admin"))
    await producer.start()
    try:
        error = await _raised(lambda: producer.send("any-topic", b"x" * 2_000_000))
    finally:
        await producer.stop()
    assert isinstance(error, MessageSizeTooLargeError)
    assert classify(error) is Fault.DETERMINISTIC


@pytest.mark.integration
async def test_a_broker_that_does_not_answer_is_transient() -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=f"127.0.0.1:{_free_port()}", request_timeout_ms=1000
    )
    error = await _raised(producer.start)
    await producer.stop()
    assert isinstance(error, KafkaConnectionError)
    assert classify(error) is Fault.TRANSIENT


def _raised_by(work: Callable[[], Any]) -> BaseException:
    try:
        work()
    except Exception as error:
        return error
    raise AssertionError("expected a failure")


def test_our_own_refusals_and_parser_limits_are_deterministic() -> None:
    refusals = [
        _raised_by(lambda: json.loads("[" * 100_000 + "]" * 100_000)),  # RecursionError
        _raised_by(lambda: "\ud800".encode()),  # a lone surrogate: UnicodeEncodeError
        InvalidMessage([FieldError(field="type", message="unknown")]),
        MappingFailed("SalesOrderHeaders", [FieldError(field="CurrencyCode", message="x")]),
        UnknownReference("SalesOrderHeaders", [FieldError(field="x", message="unknown")]),
    ]
    assert isinstance(refusals[0], RecursionError)
    assert [classify(error) for error in refusals] == [Fault.DETERMINISTIC] * len(refusals)


def test_anything_else_is_unexpected_and_a_cause_decides_for_its_wrapper() -> None:
    assert classify(KeyError("lines")) is Fault.UNEXPECTED
    try:
        try:
            raise ConnectionResetError("reset by peer")
        except ConnectionResetError as reset:
            raise RuntimeError("publish failed") from reset
    except RuntimeError as wrapped:
        assert classify(wrapped) is Fault.TRANSIENT


@pytest.mark.integration
async def test_a_reason_shows_the_databases_words_never_the_statement_or_its_values(
    engine: AsyncEngine,
) -> None:
    error = await _sql(engine, "SELECT CAST(:v AS jsonb)", v='{"street": "MARKER-42\\u0000"}')
    reason = describe(error)
    assert "MARKER-42" not in reason and "SELECT" not in reason
    assert "[SQLSTATE 22P05]" in reason and reason.isprintable()
    assert describe(RuntimeError("a\x00b\u202ec")) == "a\\x00b\\u202ec"
    surrogate = await _sql(engine, "SELECT CAST(:v AS text)", v="MARKER-43\ud800")
    assert describe(surrogate).startswith("invalid input for query argument $1 ('utf-8' codec")
    assert "MARKER-43" not in describe(surrogate)


async def test_a_refused_connection_is_an_outage() -> None:
    port = _free_port()
    database = create_engine(f"postgresql+asyncpg://dualsync:x@127.0.0.1:{port}/dualsync")
    try:
        assert is_outage(await _raised(database.connect().start))
    finally:
        await database.dispose()
    kafka = AIOKafkaClient(bootstrap_servers=f"127.0.0.1:{port}")
    try:
        assert is_outage(await _raised(kafka.bootstrap))
    finally:
        await kafka.close()


@pytest.mark.integration
async def test_what_a_statement_gets_wrong_is_no_outage(engine: AsyncEngine) -> None:
    for statement in ("SELECT 1/0", "SELECT 'a\x00b'::text"):
        error = await _sql(engine, statement)
        assert not is_outage(error), statement
    assert not is_outage(FileNotFoundError("no such file"))
    assert not is_outage(ValueError("bad input"))


@pytest.mark.integration
async def test_a_protocol_violation_is_the_records_fault_though_its_class_is_08(
    engine: AsyncEngine,
) -> None:
    # PostgreSQL answers a NUL in a text literal with 08P01: class 08 like a lost connection,
    # but no wait will cure it.
    error = await _sql(engine, "SELECT 'a\x00b'::text")
    assert sqlstate_of(error) == "08P01"
    assert classify(error) is Fault.DETERMINISTIC
    assert not is_outage(error)
