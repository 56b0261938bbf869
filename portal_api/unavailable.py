"""Kafka or PostgreSQL away during a request: 503 with Retry-After, never a 500.

One translation for every route: the errors that say a dependency cannot be reached now
(sync_service.connectivity.is_outage) become a problem with status 503 naming it; any other
unexpected error becomes a problem with status 500 (and is logged), never a text/plain answer.
"""

from __future__ import annotations

from types import TracebackType
from typing import Final

import asyncpg
from aiokafka.errors import KafkaError
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from portal_api.kafka_producer import KafkaUnavailable
from portal_api.problems import Problem, problem_response
from sync_service.connectivity import DependencyUnavailable
from sync_service.failures import is_outage
from sync_service.logs import get_logger

__all__ = ["RETRY_AFTER_S", "install_unavailable_handlers", "unavailable_problem"]

RETRY_AFTER_S: Final = 5
"""What Retry-After says: a restart of either takes seconds."""

log = get_logger(__name__)

# The exception classes that may carry an outage; anything else reaches the catch-all.
_CANDIDATES: Final = (
    OSError,
    KafkaError,
    SQLAlchemyError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    DependencyUnavailable,
)


def _dependency(error: BaseException) -> str:
    """Which one is away, from the error's class or, for a bare OSError, where it was raised."""
    if isinstance(error, KafkaError | KafkaUnavailable):
        return "Kafka"
    if isinstance(error, SQLAlchemyError | asyncpg.PostgresError | asyncpg.InterfaceError):
        return "PostgreSQL"
    traceback: TracebackType | None = error.__traceback__
    where = ""
    while traceback is not None:  # the innermost frame that belongs to a client library
        module = str(traceback.tb_frame.f_globals.get("__name__", ""))
        if module.startswith(("asyncpg", "sqlalchemy", "aiokafka")):
            where = module
        traceback = traceback.tb_next
    if where.startswith("aiokafka"):
        return "Kafka"
    return "PostgreSQL" if where else "Kafka or PostgreSQL"


def unavailable_problem(error: BaseException) -> Problem | None:
    """503 with Retry-After if `error` says Kafka or PostgreSQL is away; None otherwise."""
    if not is_outage(error):
        return None
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    return Problem(
        503,
        f"{_dependency(error)} is unavailable ({reason}); retry later",
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def _server_error(request: Request, error: Exception) -> JSONResponse:
    log.error(
        "api.unexpected_error",
        path=request.url.path,
        error=f"{type(error).__name__}: {error}".splitlines()[0],
        exc_info=error,
    )
    return problem_response(
        Problem(500, "the server failed to answer this request"), request.url.path
    )


def install_unavailable_handlers(app: FastAPI) -> None:
    """Answer outages with 503 and every other unexpected error with a 500, as problems."""

    async def _outage_or_error(request: Request, exc: Exception) -> JSONResponse:
        problem = unavailable_problem(exc)
        if problem is None:
            return _server_error(request, exc)
        return problem_response(problem, request.url.path)

    for candidate in _CANDIDATES:
        app.add_exception_handler(candidate, _outage_or_error)

    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Starlette calls this from its outermost middleware and re-raises the error after the
        # answer, so the server logs it too.
        return problem_response(
            Problem(500, "the server failed to answer this request"), request.url.path
        )

    app.add_exception_handler(Exception, _unexpected)
