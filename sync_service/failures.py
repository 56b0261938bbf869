"""One classification of failures for every consumer (SPEC §10): wait out an outage, settle poison.

TRANSIENT: the broker or the database is unavailable (or not usable as deployed: a missing
table, a refused credential), or a transaction lost a serialization race. Waiting cures it and
loses nothing, so it is retried with backoff and the record blocks its partition.
DETERMINISTIC: the record itself can never succeed (a contract or data error, a constraint it
breaks, a nesting too deep): it is settled at once and the partition moves on.
UNEXPECTED: anything else; retried like a transient fault, but settled once it has repeated on
the same record a bounded number of times (`sync_service.poison`).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator
from decimal import InvalidOperation
from typing import Final

import asyncpg
from aiokafka import errors as kafka_errors
from pydantic import ValidationError
from pydantic_core import PydanticSerializationError
from sqlalchemy import exc as sa_exc

from contracts.errors import ContractError
from sync_service.producer import BROKEN_SESSION

__all__ = [
    "Fault",
    "RecordRefused",
    "classify",
    "describe",
    "is_outage",
    "is_transient",
    "printable",
    "sqlstate_of",
]


class Fault(enum.Enum):
    """How a failure is treated: waited out, settled at once, or settled once it repeats."""

    TRANSIENT = "transient"
    DETERMINISTIC = "deterministic"
    UNEXPECTED = "unexpected"


class RecordRefused(Exception):
    """Base of our own refusals of one record that no retry can cure (a map, a reference)."""


class _Cause(enum.Enum):
    """Why a failure happened, finer than `Fault`: the API answers only an outage with 503."""

    OUTAGE = "outage"  # Kafka or PostgreSQL cannot be reached or cannot serve now
    CONTENTION = "contention"  # a serialization race, a lock or statement timeout
    DEPLOYMENT = "deployment"  # not usable as deployed (a missing table, a refused credential)
    RECORD = "record"  # the record itself can never succeed
    AMBIGUOUS = "ambiguous"  # may be the record, may be a race: settled once it repeats


_FAULT_OF: Final = {
    _Cause.OUTAGE: Fault.TRANSIENT,
    _Cause.CONTENTION: Fault.TRANSIENT,
    # Waiting for the fix (a migration, a grant) loses nothing, where settling would settle
    # every record.
    _Cause.DEPLOYMENT: Fault.TRANSIENT,
    _Cause.RECORD: Fault.DETERMINISTIC,
    _Cause.AMBIGUOUS: Fault.UNEXPECTED,
}

# PostgreSQL SQLSTATEs (Appendix A of its manual), most specific first. Class 08 is connection
# exceptions, except 08P01 (protocol violation), which the server raises for a value it refuses
# (a NUL in a text literal): the record's fault, not an outage.
_SQLSTATES: Final = {
    "08P01": _Cause.RECORD,
    "57P01": _Cause.OUTAGE,  # admin_shutdown
    "57P02": _Cause.OUTAGE,  # crash_shutdown
    "57P03": _Cause.OUTAGE,  # cannot_connect_now (starting up, recovering)
    "53100": _Cause.OUTAGE,  # disk_full
    "53200": _Cause.OUTAGE,  # out_of_memory
    "53300": _Cause.OUTAGE,  # too_many_connections
    "40001": _Cause.CONTENTION,  # serialization_failure
    "40P01": _Cause.CONTENTION,  # deadlock_detected
    "55P03": _Cause.CONTENTION,  # lock_not_available
    "57014": _Cause.CONTENTION,  # query_canceled (a statement timeout)
    # Unique and foreign-key violations also come from a race with a concurrent writer.
    "23505": _Cause.AMBIGUOUS,
    "23503": _Cause.AMBIGUOUS,
}
_SQLSTATE_CLASSES: Final = {
    "08": _Cause.OUTAGE,
    # Authorization, no such database, an undefined table or column, a missing privilege.
    "28": _Cause.DEPLOYMENT,
    "3D": _Cause.DEPLOYMENT,
    "42": _Cause.DEPLOYMENT,
    # Data exception (22P05 untranslatable character, 22021 NUL byte, 22003 numeric out of
    # range, ...), integrity constraint violation, program limit exceeded (a value too large
    # for an index row, a statement too complex).
    "22": _Cause.RECORD,
    "23": _Cause.RECORD,
    "54": _Cause.RECORD,
}

_RECORD_TYPES: Final = (
    ContractError,
    RecordRefused,
    RecursionError,  # a JSON document nested deeper than the parser's stack
    UnicodeError,  # a lone surrogate cannot be encoded as UTF-8 for the database
    ValidationError,  # a value that does not fit a model built from the record
    PydanticSerializationError,
    InvalidOperation,
    OverflowError,
)
# OSErrors about files say nothing about Kafka or PostgreSQL being away.
_FILE_ERRORS: Final = (
    FileNotFoundError,
    FileExistsError,
    IsADirectoryError,
    NotADirectoryError,
    PermissionError,
)
_KAFKA_OUTAGES: Final = (
    kafka_errors.KafkaConnectionError,
    kafka_errors.KafkaTimeoutError,
    kafka_errors.NodeNotReadyError,
    kafka_errors.RequestTimedOutError,
    # A producer session that a broker restart broke: the next send starts a new one.
    *BROKEN_SESSION,
)
# Not ours to use as deployed, whatever the record (ACLs, credentials): wait for the fix.
_KAFKA_DEPLOYMENT: Final = (
    kafka_errors.TopicAuthorizationFailedError,
    kafka_errors.GroupAuthorizationFailedError,
    kafka_errors.ClusterAuthorizationFailedError,
    kafka_errors.SaslAuthenticationFailed,
)
# Refusals of one record by the client or the broker: another try sends the same bytes.
_KAFKA_RECORD: Final = (
    kafka_errors.MessageSizeTooLargeError,
    kafka_errors.RecordTooLargeError,
    kafka_errors.RecordListTooLargeError,
    kafka_errors.CorruptRecordException,
    kafka_errors.InvalidMessageError,
)
_MAX_REASON: Final = 500
# asyncpg quotes the start of a value it could not encode; the reason needs only the argument.
_ARGUMENT_VALUE: Final = re.compile(r"(invalid input for query argument \$\d+): .*? \('")


def classify(error: BaseException) -> Fault:
    """How `error` is treated; the first link of its chain that tells decides."""
    return _FAULT_OF[_cause(error)]


def is_transient(error: BaseException) -> bool:
    """Whether waiting may cure `error` (broker or database away, a serialization race)."""
    return classify(error) is Fault.TRANSIENT


def is_outage(error: BaseException) -> bool:
    """Whether `error` says Kafka or PostgreSQL cannot be reached now (not that a request is bad).

    Connections refused or reset, timeouts, a database shutting down or starting up, a broker
    or its partition leaders away, a connection pool with none to give: what the API answers
    with 503 and `Retry-After`.
    """
    return _cause(error) is _Cause.OUTAGE


def sqlstate_of(error: BaseException) -> str | None:
    """The PostgreSQL SQLSTATE somewhere in `error`'s chain, if there is one."""
    for link in _chain(error):
        code = getattr(link, "sqlstate", None) or getattr(link, "pgcode", None)
        if isinstance(code, str) and len(code) == 5:
            return code
    return None


def describe(error: BaseException) -> str:
    """A short reason for `error` that is safe to store and show: printable, bounded.

    A database error gives the database's own words and SQLSTATE, never SQLAlchemy's text,
    which repeats the statement and its parameters (the very values that were refused).
    """
    text = str(error)
    if isinstance(error, sa_exc.StatementError):
        inner = next((link for link in _chain(error) if _is_driver_error(link)), None)
        text = str(inner) if inner is not None else type(error.orig or error).__name__
    code = sqlstate_of(error)
    text = _ARGUMENT_VALUE.sub(r"\1 ('", " ".join(text.split()), count=1) or type(error).__name__
    if code and code not in text:
        text = f"{text} [SQLSTATE {code}]"
    return printable(text, limit=_MAX_REASON)


def printable(text: str, *, limit: int | None = None) -> str:
    """`text` with control characters and lone surrogates escaped (`\\x00`, `\\ud800`)."""
    if text.isprintable() and (limit is None or len(text) <= limit):
        return text
    escaped = "".join(
        ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii")
        for ch in (text if limit is None else text[: limit * 2])
    )
    if limit is not None and len(escaped) > limit:
        escaped = escaped[: limit - 1] + "…"
    return escaped


def _chain(error: BaseException) -> Iterator[BaseException]:
    """`error`, then what it wraps: SQLAlchemy's `orig`, then each explicit `__cause__`."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen and len(seen) < 16:
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else current.__cause__


def _cause(error: BaseException) -> _Cause:
    for link in _chain(error):
        cause = _cause_of_link(link)
        if cause is not None:
            return cause
    return _Cause.AMBIGUOUS


def _cause_of_link(error: BaseException) -> _Cause | None:
    if isinstance(error, _RECORD_TYPES):
        return _Cause.RECORD
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return _Cause.OUTAGE
    if isinstance(error, sa_exc.TimeoutError | sa_exc.DisconnectionError):
        return _Cause.OUTAGE  # the pool found no connection in time, or lost one
    code = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    if isinstance(code, str) and len(code) == 5:
        return _SQLSTATES.get(code) or _SQLSTATE_CLASSES.get(code[:2], _Cause.AMBIGUOUS)
    if isinstance(error, asyncpg.InterfaceError) and "closed" in str(error):
        return _Cause.OUTAGE  # "connection is closed": the server went away
    if isinstance(error, kafka_errors.KafkaError):
        return _kafka_cause(error)
    if isinstance(error, _FILE_ERRORS):
        return None
    if isinstance(error, OSError | TimeoutError):  # refused, reset, unreachable, timed out
        return _Cause.OUTAGE
    return None


def _kafka_cause(error: kafka_errors.KafkaError) -> _Cause:
    if isinstance(error, _KAFKA_RECORD):
        return _Cause.RECORD
    if isinstance(error, _KAFKA_DEPLOYMENT):
        return _Cause.DEPLOYMENT
    if isinstance(error, _KAFKA_OUTAGES) or getattr(error, "retriable", False):
        return _Cause.OUTAGE
    return _Cause.AMBIGUOUS


def _is_driver_error(error: BaseException) -> bool:
    """An exception of the database driver itself (asyncpg), whose text is the server's."""
    return type(error).__module__.startswith("asyncpg")
