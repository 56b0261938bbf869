"""Attempts on one record: outages are waited out, poison is recognised within a bound."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import pytest

from contracts.errors import FieldError, InvalidMessage
from sync_service.failures import Fault
from sync_service.poison import (
    DEFAULT_POISON_ATTEMPTS,
    Poisoned,
    RetryPolicy,
    retry_classified,
    storable_text,
    unstorable_fields,
)
from sync_service.settings import Settings

FAST = RetryPolicy(transient_attempts=4, poison_attempts=3, max_backoff_s=0.01)


class Failing:
    """Work that raises the given errors in turn, then succeeds; counts its calls."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


async def test_a_transient_fault_is_retried_until_it_passes() -> None:
    work = Failing(OSError("refused"), ConnectionResetError("reset"))
    assert await retry_classified(work, FAST, event="test") == "done"
    assert work.calls == 3


async def test_a_lasting_transient_fault_is_raised_as_it_is_for_redelivery() -> None:
    work = Failing(*[TimeoutError("database away")] * 10)
    with pytest.raises(TimeoutError):
        await retry_classified(work, FAST, event="test")
    assert work.calls == FAST.transient_attempts


async def test_a_deterministic_fault_is_poison_at_the_first_attempt() -> None:
    refusal = InvalidMessage([FieldError(field="payload.street", message="NUL")])
    work = Failing(refusal)
    with pytest.raises(Poisoned) as poisoned:
        await retry_classified(work, FAST, event="test")
    assert (poisoned.value.error, poisoned.value.fault, poisoned.value.attempts) == (
        refusal,
        Fault.DETERMINISTIC,
        1,
    )
    assert work.calls == 1


async def test_an_unexpected_fault_is_poison_once_it_repeats_the_bound() -> None:
    work = Failing(*[KeyError("lines")] * 10)
    with pytest.raises(Poisoned) as poisoned:
        await retry_classified(work, FAST, event="test")
    assert (poisoned.value.fault, poisoned.value.attempts) == (Fault.UNEXPECTED, 3)
    assert work.calls == FAST.poison_attempts


async def test_unexpected_faults_count_in_a_row_an_outage_between_starts_again() -> None:
    work = Failing(KeyError("a"), KeyError("a"), OSError("restart"), *[KeyError("a")] * 10)
    with pytest.raises(Poisoned) as poisoned:
        await retry_classified(work, FAST, event="test")
    assert (poisoned.value.attempts, work.calls) == (6, 6)  # 2, the outage, then 3 in a row


async def test_an_unexpected_fault_that_passes_is_no_poison() -> None:
    work = Failing(KeyError("lines"), OSError("refused"), KeyError("lines"))
    assert await retry_classified(work, FAST, event="test") == "done"


async def test_a_cancellation_is_not_retried_nor_taken_for_poison() -> None:
    work = Failing(asyncio.CancelledError())
    with pytest.raises(asyncio.CancelledError):
        await retry_classified(work, FAST, event="test")
    assert work.calls == 1


def test_the_default_bound_is_the_settings_default() -> None:
    assert DEFAULT_POISON_ATTEMPTS == Settings().poison_attempts == RetryPolicy().poison_attempts


def test_storable_text_keeps_what_a_json_reader_sees() -> None:
    assert storable_text("plain") == "plain"
    raw = '{"street": "A\x00B"}'  # a raw NUL: not valid JSON; its escape is
    assert json.loads(storable_text(raw)) == {"street": "A\x00B"}
    assert storable_text("a\ud800b") == "a?b"


def test_unstorable_fields_names_every_field_postgresql_cannot_hold() -> None:
    payload: dict[str, Any] = {
        "delivery_address": {"street": "A\x00B", "city": "Redmond"},
        "requisition_number": "R\ud800",
        "lines": [
            {"product_number": "P-1000", "quantity": "1E-20000", "unit": "ea"},
            {"product_number": "P-1000", "quantity": Decimal("1E+999999"), "unit": "ea"},
            {"product_number": "P-1000", "quantity": "3", "unit": "ea"},
        ],
    }
    assert unstorable_fields(payload) == [
        "delivery_address.street",
        "requisition_number",
        "lines[0].quantity",
        "lines[1].quantity",
    ]
