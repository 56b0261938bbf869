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

__all__ = [
    "Fault",
    "RecordRefused",
    "classify",
    "describe",
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


# PostgreSQL SQLSTATEs (Appendix A of its manual). Class 08: connection exceptions. Classes 28
# (authorization), 3D (no such database) and 42 (an undefined table or column, a missing
# privilege) say the database is not usable as deployed, whatever the record: waiting for the
# fix (a migration, a grant) loses nothing, where settling would settle every record.
_TRANSIENT_CLASSES: Final = frozenset({"08", "28", "3D", "42"})
_TRANSIENT_SQLSTATES: Final = frozenset(
    {
        "40001",  # serialization_failure
        "40P01",  # deadlock_detected
        "55P03",  # lock_not_available
        "57014",  # query_canceled (a statement timeout)
        "57P01",  # admin_shutdown
        "57P02",  # crash_shutdown
        "57P03",  # cannot_connect_now (starting up, recovering)
        "53100",  # disk_full
        "53200",  # out_of_memory
        "53300",  # too_many_connections
    }
)
# Class 22: data exception (22P05 untranslatable character, 22021 NUL byte, 22003 numeric out
# of range, 22023 invalid parameter value, ...); 23: integrity constraint violation; 54: program
# limit exceeded (a value too large for an index row, a statement too complex).
_DETERMINISTIC_CLASSES: Final = frozenset({"22", "23", "54"})
# Unique and foreign-key violations also come from a race with a concurrent writer: not
# deterministic until they repeat on the record.
_RACES: Final = frozenset({"23505", "23503"})

_DETERMINISTIC_TYPES: Final = (
    ContractError,
    RecordRefused,
    RecursionError,  # a JSON document nested deeper than the parser's stack
    UnicodeError,  # a lone surrogate cannot be encoded as UTF-8 for the database
    ValidationError,  # a value that does not fit a model built from the record
    PydanticSerializationError,
    InvalidOperation,
    OverflowError,
)
_TRANSIENT_KAFKA: Final = (
    kafka_errors.KafkaConnectionError,
    kafka_errors.KafkaTimeoutError,
    kafka_errors.NodeNotReadyError,
    kafka_errors.RequestTimedOutError,
    # Not ours to use as deployed, whatever the record (ACLs, credentials): wait for the fix.
    kafka_errors.TopicAuthorizationFailedError,
    kafka_errors.GroupAuthorizationFailedError,
    kafka_errors.ClusterAuthorizationFailedError,
    kafka_errors.SaslAuthenticationFailed,
)
# Refusals of one record by the client or the broker: another try sends the same bytes.
_RECORD_KAFKA: Final = (
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
    for link in _chain(error):
        fault = _classify_link(link)
        if fault is not None:
            return fault
    return Fault.UNEXPECTED


def is_transient(error: BaseException) -> bool:
    """Whether waiting may cure `error` (broker or database away, a serialization race)."""
    return classify(error) is Fault.TRANSIENT


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


def _classify_link(error: BaseException) -> Fault | None:
    if isinstance(error, _DETERMINISTIC_TYPES):
        return Fault.DETERMINISTIC
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return Fault.TRANSIENT
    if isinstance(error, sa_exc.TimeoutError | sa_exc.DisconnectionError):
        return Fault.TRANSIENT  # the pool found no connection in time, or lost one
    code = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    if isinstance(code, str) and len(code) == 5:
        return _classify_sqlstate(code)
    if isinstance(error, asyncpg.InterfaceError) and "closed" in str(error):
        return Fault.TRANSIENT  # "connection is closed": the server went away
    if isinstance(error, kafka_errors.KafkaError):
        return _classify_kafka(error)
    if isinstance(error, OSError | TimeoutError):  # refused, reset, unreachable, timed out
        return Fault.TRANSIENT
    return None


def _classify_sqlstate(code: str) -> Fault:
    if code in _TRANSIENT_SQLSTATES or code[:2] in _TRANSIENT_CLASSES:
        return Fault.TRANSIENT
    if code in _RACES:
        return Fault.UNEXPECTED
    if code[:2] in _DETERMINISTIC_CLASSES:
        return Fault.DETERMINISTIC
    return Fault.UNEXPECTED


def _classify_kafka(error: kafka_errors.KafkaError) -> Fault:
    if isinstance(error, _RECORD_KAFKA):
        return Fault.DETERMINISTIC
    if isinstance(error, _TRANSIENT_KAFKA) or getattr(error, "retriable", False):
        return Fault.TRANSIENT
    return Fault.UNEXPECTED


def _is_driver_error(error: BaseException) -> bool:
    """An exception of the database driver itself (asyncpg), whose text is the server's."""
    return type(error).__module__.startswith("asyncpg")
