"""Attempts on one record under the failure classification, until it succeeds or is poison.

`retry_classified` runs a record's work: transient faults are retried with exponential backoff
and, when they outlast `transient_attempts`, raised so that the record is read again (it
blocks: nothing is lost by waiting); a deterministic fault, or an unexpected one that repeats
`poison_attempts` times, raises `Poisoned`, and the consumer settles the record (a `rejected`
outcome, a dead letter, a log line) so that its partition moves on. The text helpers make a
settlement storable even when the record's own values are not.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final, TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_exponential

from contracts.errors import FieldError
from sync_service.failures import Fault, classify, describe, printable
from sync_service.logs import get_logger
from sync_service.metrics import POISON_RECORDS
from sync_service.settings import Settings

__all__ = [
    "DEFAULT_POISON_ATTEMPTS",
    "Poisoned",
    "RetryPolicy",
    "count_settled",
    "retry_classified",
    "storable_errors",
    "storable_text",
    "unstorable_fields",
]

DEFAULT_POISON_ATTEMPTS: Final[int] = Settings.model_fields["poison_attempts"].default
"""How often an unexpected failure may repeat on one record before it is settled."""
# PostgreSQL's numeric: up to 131072 digits before the point and 16383 after it.
_NUMERIC_MAX_ADJUSTED: Final = 131071
_NUMERIC_MIN_EXPONENT: Final = -16383

log = get_logger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long one record is tried: transient faults, unexpected ones, the longest pause."""

    transient_attempts: int = 5
    """Attempts through a transient fault before it is raised (the record is read again)."""
    poison_attempts: int = DEFAULT_POISON_ATTEMPTS
    """Attempts that fail unexpectedly before the record is settled as poison."""
    max_backoff_s: float = 2.0


class Poisoned(Exception):
    """The record can never succeed: `error` is why, after `attempts` attempts in all."""

    def __init__(
        self, error: Exception, fault: Fault, attempts: int, first_failed_at: datetime
    ) -> None:
        super().__init__(describe(error))
        self.error = error
        self.fault = fault
        self.attempts = attempts
        self.first_failed_at = first_failed_at


@dataclass(slots=True)
class _Tally:
    """The faults met so far on one record: what tenacity's retry and stop ask about."""

    policy: RetryPolicy
    faults: list[Fault] = field(default_factory=list)
    first_failed_at: datetime | None = None

    def worth_retrying(self, error: BaseException) -> bool:
        if not isinstance(error, Exception):
            return False  # a cancellation is not a failure of the record
        self.first_failed_at = self.first_failed_at or datetime.now(UTC)
        fault = classify(error)
        self.faults.append(fault)
        return fault is not Fault.DETERMINISTIC

    def exhausted(self, _state: RetryCallState) -> bool:
        last = self.faults[-1]
        bound = (
            self.policy.transient_attempts
            if last is Fault.TRANSIENT
            else self.policy.poison_attempts
        )
        return self.streak() >= bound

    def streak(self) -> int:
        """How many attempts in a row, up to the last, failed with the last one's kind of fault.

        In a row: an outage that interleaves odd failures with transient ones is an outage, so
        a transient fault starts the count of unexpected ones again.
        """
        last = self.faults[-1]
        count = 0
        for fault in reversed(self.faults):
            if fault is not last:
                break
            count += 1
        return count


async def retry_classified(
    work: Callable[[], Awaitable[T]], policy: RetryPolicy, *, event: str, **context: Any
) -> T:
    """`work()`'s result; a lasting transient fault raised as it is; poison as `Poisoned`."""
    tally = _Tally(policy)

    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning(
            event,
            attempt=state.attempt_number,
            fault=tally.faults[-1].value,
            error=describe(error) if error else None,
            **context,
        )

    retrying = AsyncRetrying(
        retry=retry_if_exception(tally.worth_retrying),
        stop=tally.exhausted,
        wait=wait_exponential(multiplier=0.1, max=policy.max_backoff_s),
        before_sleep=before_sleep,
        reraise=True,
    )
    try:
        async for attempt in retrying:
            with attempt:
                return await work()
    except Exception as error:
        if not tally.faults or tally.faults[-1] is Fault.TRANSIENT:
            raise
        first = tally.first_failed_at or datetime.now(UTC)
        raise Poisoned(error, tally.faults[-1], len(tally.faults), first) from error
    raise AssertionError("unreachable: tenacity returns or reraises")  # pragma: no cover


def count_settled(consumer: str, settlement: str, fault: Fault) -> None:
    """Count one poison record settled by `consumer` (rejected, dead_lettered or logged)."""
    POISON_RECORDS.labels(consumer, settlement, fault.value).inc()


def storable_text(text: str) -> str:
    """`text` as PostgreSQL can store it: NUL becomes the JSON escape `\\u0000`, surrogates `?`.

    For a record's raw value or key: a raw NUL is not valid in JSON text anyway, so its escape
    keeps what a JSON reader sees, and everything else stays as received.
    """
    if "\x00" in text:
        text = text.replace("\x00", "\\u0000")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def storable_errors(errors: Sequence[FieldError] | None) -> list[FieldError]:
    """`errors` with fields and messages printable, so that JSONB can hold them."""
    return [
        FieldError(field=printable(error.field, limit=200), message=printable(error.message))
        for error in errors or []
    ]


def unstorable_fields(data: Any, *, path: str = "") -> list[str]:
    """The fields of parsed JSON whose values PostgreSQL cannot store: text with NUL or a lone
    surrogate, numbers beyond `numeric`'s range. Paths as the API names them: `lines[0].unit`."""
    return [name or "$" for name, value in _leaves(data, path) if not _storable(value)]


def _leaves(data: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _leaves(value, f"{path}.{printable(str(key))}" if path else str(key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _leaves(value, f"{path}[{index}]")
    else:
        yield path, data


def _storable(value: Any) -> bool:
    if isinstance(value, str):
        if "\x00" in value or any("\ud800" <= ch <= "\udfff" for ch in value):
            return False
        value = _as_number(value)
    if isinstance(value, Decimal) and value.is_finite():
        exponent = value.as_tuple().exponent
        return (
            value.adjusted() <= _NUMERIC_MAX_ADJUSTED
            and isinstance(exponent, int)
            and exponent >= _NUMERIC_MIN_EXPONENT
        )
    return True


def _as_number(text: str) -> Decimal | None:
    """A decimal that a JSON string spells (quantities travel as strings), else None."""
    if not text or len(text) > 64 or not (text[0].isdigit() or text[0] in "+-."):
        return None
    try:
        return Decimal(text)
    except (InvalidOperation, ValueError):
        return None
