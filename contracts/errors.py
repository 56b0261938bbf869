"""Contract errors and the `FieldError` that names one field at fault."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, ValidationError

from contracts.bounds import readable_message

__all__ = [
    "ROOT_FIELD",
    "ContractError",
    "FieldError",
    "InvalidMessage",
    "UnknownMessageType",
    "UnsupportedSchemaVersion",
    "field_errors",
]

ROOT_FIELD = "$"
"""The `field` of an error about the message as a whole (not JSON, not an object)."""


class FieldError(BaseModel):
    """One field at fault and why; reused by the API's problem details and dead letters."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    field: str
    message: str


class ContractError(Exception):
    """A message that does not satisfy the wire contract."""


class UnknownMessageType(ContractError):
    """The envelope's `type` names no known message."""

    def __init__(self, message_type: str) -> None:
        super().__init__(f"unknown message type {message_type!r}")
        self.message_type = message_type


class InvalidMessage(ContractError):
    """The message is not valid JSON or does not validate; `errors` names every field at fault."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors: list[FieldError] = list(errors)
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in self.errors))


class UnsupportedSchemaVersion(InvalidMessage):
    """The message type is known but not in this schema version."""

    def __init__(self, message_type: str, schema_version: int) -> None:
        super().__init__(
            [
                FieldError(
                    field="schema_version",
                    message=f"{message_type} v{schema_version} is not supported",
                )
            ]
        )
        self.message_type = message_type
        self.schema_version = schema_version


def field_errors(error: ValidationError) -> list[FieldError]:
    """Turn a pydantic error into FieldErrors with dotted paths (`payload.lines.2.unit`)."""
    return [
        FieldError(
            field=".".join(str(part) for part in item["loc"]) or ROOT_FIELD,
            message=readable_message(item),
        )
        for item in error.errors(include_url=False)
    ]
