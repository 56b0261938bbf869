"""The dead letter: the payload on dualsync.deadletter.v1 (SPEC §4)."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import AwareDatetime, Field

from contracts.envelope import Message
from contracts.errors import FieldError

__all__ = ["DeadLetter"]


class DeadLetter(Message):
    """A record a worker could not handle, kept whole with where it came from and why.

    Not bounded like the records it carries (contracts.bounds): it exists to hold what failed,
    whatever that is, and a bound here would make the dead-lettering itself fail.
    """

    message_type: ClassVar[str] = "DeadLetter"
    schema_version: ClassVar[int] = 1

    source_topic: str
    partition: Annotated[int, Field(ge=0)]
    offset: Annotated[int, Field(ge=0)]
    original_key: str | None = None
    original_value: str
    """The record's value as received (UTF-8 text), so that a redrive can send it again."""
    handler: str
    """The map or handler that failed, e.g. `SalesOrderHeaderMap`."""
    error_class: str
    error_message: str
    errors: list[FieldError] = Field(default_factory=list)
    """The fields at fault, when the failure names fields."""
    attempts: Annotated[int, Field(ge=1)]
    first_failed_at: AwareDatetime
    last_failed_at: AwareDatetime
